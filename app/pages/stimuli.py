"""Stimuli: add movie files, pick the array and its axis order, mark train or test."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QLabel,
    QSplitter,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.matching import axes_problem
from app.pages.file_page import FilePage
from app.sources_cache import axis_length, movie_frame
from app.state import Probed
from app.widgets.files import DropTable
from openretina_data.errors import format_error
from openretina_data.recipe import StimulusSpec

if TYPE_CHECKING:
    from app.wizard import ImportWizard

AXIS_CHOICES = ("thw", "cthw", "hwt", "twh", "thwc", "tchw", "whtc")
COLUMNS = ("Name", "File", "Array", "Shape", "Type", "Looks like", "Axis order", "Test")


class StimuliPage(FilePage):
    """A table of stimulus movies with a live thumbnail of the selected one."""

    page_id = "stimuli"

    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__(
            wizard,
            "Stimuli",
            "Add the movies that were shown. Check the thumbnail: with the right axis order "
            "it looks like a picture, with a wrong one like stripes or noise.",
        )
        self.table = DropTable(COLUMNS)
        self.table.setToolTip("Drop movie files here (npy, HDF5, MAT, TIFF, video)")
        self.table.pathsDropped.connect(self.add_paths)
        self.table.itemChanged.connect(self._item_changed)
        self.table.itemSelectionChanged.connect(self.update_thumbnail)
        buttons = self.button_row(
            ("&Add files…", "Choose movie files", self.choose_files),
            ("Add &folder…", "Add every file in a folder", self.choose_folder),
            ("&Remove", "Remove the selected stimulus", self.remove_selected),
        )

        self.thumbs = pg.GraphicsLayoutWidget()
        self.thumbs.setBackground("w")
        self.thumb_items = []
        for column, label in enumerate(("first frame", "middle frame")):
            view = self.thumbs.addViewBox(row=0, col=column, lockAspect=True)
            view.invertY(True)
            view.setMouseEnabled(False, False)
            item = pg.ImageItem(axisOrder="row-major")
            view.addItem(item)
            self.thumb_items.append(item)
            self.thumbs.addLabel(label, row=1, col=column)
        self.thumb_caption = QLabel("Select a stimulus to see its frames.")
        self.thumb_caption.setWordWrap(True)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.thumbs, 1)
        side_layout.addWidget(self.thumb_caption)
        split = QSplitter()
        split.addWidget(self.table)
        split.addWidget(side)
        split.setSizes([700, 350])
        self.body.addLayout(buttons)
        self.body.addWidget(split, 1)
        self.finish_layout()
        self._filling = False

    # --- adding files -------------------------------------------------------------

    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Add stimulus movies")
        self.add_paths(paths)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add every movie in a folder")
        if folder:
            self.add_paths(sorted(str(p) for p in Path(folder).iterdir() if p.is_file()))

    def add_probed(self, path: str, probed: Probed) -> None:
        """Add ``path`` as a stimulus."""
        self.state.add_stimulus(path, probed)

    def remove_selected(self) -> None:
        row = self.table.currentRow()
        if 0 <= row < len(self.state.recipe.stimuli):
            del self.state.recipe.stimuli[row]
            self.load()
            self.refresh()

    # --- table <-> recipe ---------------------------------------------------------

    def load(self) -> None:
        self._filling = True
        stimuli = self.state.recipe.stimuli
        self.table.setRowCount(len(stimuli))
        for row, spec in enumerate(stimuli):
            self._fill_row(row, spec)
        self._filling = False
        if stimuli and self.table.currentRow() < 0:
            self.table.selectRow(0)
        self.update_thumbnail()

    def _fill_row(self, row: int, spec: StimulusSpec) -> None:
        """One stimulus's row: every cell edits ``spec`` directly."""
        probed = self.state.probes.get(spec.path)
        variable = probed.variable(spec.key) if probed else None
        keys = [v.key for v in probed.info.variables] if probed and probed.info else []
        self.table.set_text(
            row,
            0,
            spec.name,
            editable=True,
            tip="Name used in the dataset (stimuli/<name>.npy)",
        )
        self.table.set_text(row, 1, Path(spec.path).name, tip=spec.path)
        if len(keys) > 1:
            self.table.set_combo(
                row,
                2,
                keys,
                spec.key or "",
                lambda text: self._set(spec, "key", text),
                tip="Which array in the file is the movie",
            )
        else:
            self.table.set_text(row, 2, spec.key or (keys[0] if keys else ""))
        shape = (
            "×".join(str(n) for n in variable.shape)
            if variable
            else ("?" if not probed or probed.error else "pick an array")
        )
        self.table.set_text(row, 3, shape)
        self.table.set_text(row, 4, np.dtype(variable.dtype).name if variable else "")
        role = (
            f"{variable.role} ({variable.confidence:.0%})"
            if variable
            else (probed.error if probed else "")
        )
        self.table.set_text(row, 5, role, tip=variable.reason if variable else role)
        self.table.set_combo(
            row,
            6,
            AXIS_CHOICES,
            spec.axes,
            lambda text: self._set(spec, "axes", text),
            editable=True,
            tip="Axis order as letters: c colour, t time, h height, w width",
        )
        test = QCheckBox()
        test.setChecked(spec.split == "test")
        test.setToolTip("Test stimulus (held out, usually shown repeatedly)")
        test.toggled.connect(lambda on: self._set(spec, "split", "test" if on else "train"))
        self.table.setCellWidget(row, 7, test)

    def _set(self, spec: StimulusSpec, field_name: str, value: str) -> None:
        setattr(spec, field_name, (value or None) if field_name == "key" else value)
        if field_name == "key":
            # Shape and type columns follow the array; rebuild after this signal returns
            # (the combo that sent it is one of the cells being rebuilt).
            QTimer.singleShot(0, self.load)
        self.update_thumbnail()
        self.refresh()

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() != 0:
            return
        self.state.recipe.stimuli[item.row()].name = item.text().strip()
        self.refresh()

    def update_thumbnail(self) -> None:
        """Show the first and middle frame of the selected stimulus with its axis order."""
        row = self.table.currentRow()
        stimuli = self.state.recipe.stimuli
        for item in self.thumb_items:
            item.clear()
        if not 0 <= row < len(stimuli):
            return
        spec = stimuli[row]
        probed = self.state.probes.get(spec.path)
        variable = probed.variable(spec.key) if probed else None
        if variable is None:
            self.thumb_caption.setText("Pick the array that holds the movie to see it.")
            return
        why = axes_problem(spec.axes, variable.shape)
        if why:
            self.thumb_caption.setText(f"Cannot show frames: {why}.")
            return
        try:
            array = self.wizard_.readers.array(self.state.recipe.resolve(spec.path), variable.key)
            n_frames = axis_length(variable.shape, spec.axes, "t")
            for item, t in zip(self.thumb_items, (0, n_frames // 2), strict=True):
                frame = movie_frame(array, spec.axes, t)
                item.setImage(frame, levels=(float(np.min(frame)), float(np.max(frame)) + 1e-9))
        except Exception as error:  # any failure is shown to the user
            self.thumb_caption.setText(f"Cannot read frames: {format_error(error)}")
            return
        height, width = (
            axis_length(variable.shape, spec.axes, "h"),
            axis_length(variable.shape, spec.axes, "w"),
        )
        self.thumb_caption.setText(
            f"'{spec.name}': {n_frames} frames of {height}×{width} pixels, "
            f"{axis_length(variable.shape, spec.axes, 'c')} channel(s)."
        )

    def reset(self) -> None:
        super().reset()
        self.table.setRowCount(0)
        for item in self.thumb_items:
            item.clear()
        self.thumb_caption.setText("Select a stimulus to see its frames.")
        self.busy.setText("")

    def problems(self) -> list[str]:
        return self.state.page_problems("stimuli")
