"""Use: check the written dataset, load it as dataloaders, export a config, copy the code."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
)

from app.loader_check import LoaderCheck, LoaderSettings, check_loaders, loader_settings, snippet
from app.pages.base import WizardPage
from app.workers import BackgroundTask
from openretina_data.errors import OutputError, format_error
from openretina_data.layout import check

if TYPE_CHECKING:
    from app.wizard import ImportWizard


def export_config(dataset: str, target: str) -> tuple[str, str]:
    """Write the openretina ``data_io`` config for ``dataset`` to ``target``, and its
    ``dataloader`` config (the card's loader settings) beside it: into the sibling
    ``dataloader/`` folder when ``target`` lies in a hydra ``data_io/`` folder, else as
    ``<name>.dataloader.yaml``. Returns both paths.

    The core's ``openretina-data export-config`` does the work; a problem is raised as
    the error it printed.
    """
    import contextlib
    import io

    from openretina_data.cli import main as cli_main

    chosen = Path(target)
    loader_target = (
        chosen.parent.parent / "dataloader" / chosen.name
        if chosen.parent.name == "data_io"
        else chosen.with_name(f"{chosen.stem}.dataloader{chosen.suffix or '.yaml'}")
    )
    for arguments, path in (([], chosen), (["--dataloader"], loader_target)):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli_main(["export-config", dataset, "-o", str(path), *arguments])
        if code != 0:
            raise OutputError(err.getvalue().strip() or out.getvalue().strip(), path=str(path))
    return str(chosen), str(loader_target)


LOADER_INTRO = (
    "Press ‘Check the dataloaders’ to build the training, validation and test loaders, "
    "run one epoch and plot a sample batch."
)


class UsePage(WizardPage):
    """The dataset as openretina will see it: ``check``, a sample batch, a snippet to copy."""

    page_id = "use"

    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__(
            wizard,
            "Use the dataset",
            "The dataset is checked and loaded exactly as training will load it. Copy the "
            "snippet into a notebook, or export a config for `openretina train`.",
        )
        self.report = QLabel()
        self.report.setWordWrap(True)
        row = QHBoxLayout()
        self.check_button = QPushButton("Check the &dataloaders")
        self.check_button.setToolTip("Build train/validation/test loaders and draw one batch")
        self.check_button.clicked.connect(self.run_loader_check)
        self.export_button = QPushButton("&Export config…")
        self.export_button.setToolTip("An openretina data config (YAML) for this dataset")
        self.export_button.clicked.connect(self.choose_export)
        self.copy_button = QPushButton("&Copy snippet")
        self.copy_button.setToolTip("Copy the Python code below to the clipboard")
        self.copy_button.clicked.connect(self.copy_snippet)
        self.view_button = QPushButton("Open in &viewer")
        self.view_button.clicked.connect(lambda: self.wizard_.open_viewer(self.state.written_dir))
        for button in (self.check_button, self.export_button, self.copy_button, self.view_button):
            row.addWidget(button)
        row.addStretch(1)
        self.loader_text = QLabel(LOADER_INTRO)
        self.loader_text.setWordWrap(True)
        self.loader_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.code = QPlainTextEdit()
        self.code.setObjectName("log")
        self.code.setReadOnly(True)
        self.code.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.code.setToolTip(
            "Runs as is; replace openretina_data by openretina.data_io for openretina's own loaders"
        )
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground("w")
        self.plots.addLabel("first frame of one training sample (normalised)", row=0, col=0)
        view = self.plots.addViewBox(row=1, col=0, lockAspect=True)
        view.invertY(True)
        view.setMouseEnabled(False, False)
        self.sample_image = pg.ImageItem(axisOrder="row-major")
        view.addItem(self.sample_image)
        self.sample_plot = self.plots.addPlot(
            row=2, col=0, title="its targets (8 neurons, stacked)"
        )
        self.sample_plot.setLabel("bottom", "frame in chunk")
        self.sample_plot.setLabel("left", "response (stacked)")
        self.plots.ci.layout.setRowStretchFactor(1, 2)
        self.plots.ci.layout.setRowStretchFactor(2, 3)
        split = QSplitter()
        split.addWidget(self.code)
        split.addWidget(self.plots)
        split.setSizes([600, 450])
        self.body.addWidget(self.report)
        self.body.addLayout(row)
        self.body.addWidget(self.loader_text)
        self.body.addWidget(split, 1)
        self.finish_layout()
        self.task: BackgroundTask | None = None
        self.result: LoaderCheck | None = None
        self.check_ok = False

    def load(self) -> None:
        folder = self.state.written_dir
        if not folder:
            self.report.setText("No dataset was written: go back to Write.")
            return
        result = check(folder)
        self.check_ok = result.ok
        self.report.setText(result.to_text())
        settings = self.settings_for(folder)
        self.code.setPlainText(snippet(folder, settings))

    def settings_for(self, folder: str) -> LoaderSettings:
        state = self.state
        if state.mode in ("dataset", "preset"):  # settings the card keeps, or fitted to it
            return loader_settings(folder)
        return loader_settings(
            folder, state.clip_length, state.num_val_clips, state.train_chunk_size, state.batch_size
        )

    def run_loader_check(self) -> None:
        """Start the check; while it runs, the same button cancels it."""
        if self.task is not None and self.task.running:
            self.task.cancel()  # honoured after the batch being read
            return
        if not self.state.written_dir:
            return
        folder = self.state.written_dir
        settings = self.settings_for(folder)
        self.loader_text.setText(
            "Loading (the first time takes a few seconds while PyTorch starts)…"
        )
        self.task = BackgroundTask(lambda: check_loaders(folder, settings), self)
        self.task.progress.connect(lambda line: self.loader_text.setText(f"Loading… {line}"))
        self.task.finished.connect(self._show)
        self.task.failed.connect(self._failed)
        self.task.cancelled.connect(self._cancelled)
        for signal in (self.task.finished, self.task.failed, self.task.cancelled):
            signal.connect(self._check_ended)
        self.check_button.setText("&Cancel the check")
        self.task.start()

    def _check_ended(self, *_: object) -> None:
        self.check_button.setText("Check the &dataloaders")

    def _cancelled(self) -> None:
        self.loader_text.setText("Dataloader check cancelled: nothing was changed.")

    def _failed(self, error: BaseException) -> None:
        state = self.state
        where = (
            "Change them in the snippet below (the arguments of multiple_movies_dataloaders)."
            if state.mode in ("preset", "dataset")
            else "Change them on the Normalisation and splits page (Back)."
        )
        used = self.settings_for(state.written_dir)
        self.loader_text.setObjectName("")
        self.loader_text.setText(
            f"Loading failed: {format_error(error)}\n"
            f"The loader settings were: clip {used.clip_length} frames, "
            f"{used.num_val_clips} validation clips, chunk {used.train_chunk_size} frames, "
            f"batch {used.batch_size}. {where}"
        )
        self.loader_text.setProperty("role", "problem")
        self.loader_text.style().polish(self.loader_text)

    def _show(self, result: LoaderCheck) -> None:
        self.loader_text.setObjectName("log")  # a table: monospace
        self.loader_text.setProperty("role", "ok")
        self.loader_text.style().polish(self.loader_text)
        self.result = result
        self.loader_text.setText(result.to_text())
        if result.sample_frame is not None:
            self.sample_image.setImage(result.sample_frame)
        self.sample_plot.clear()
        if result.sample_targets is not None:
            targets = result.sample_targets
            offset = float(np.max(np.abs(targets))) or 1.0
            for i in range(min(targets.shape[1], 8)):
                self.sample_plot.plot(targets[:, i] + i * offset, pen=pg.intColor(i, hues=8))

    def copy_snippet(self) -> None:
        QGuiApplication.clipboard().setText(self.code.toPlainText())

    def choose_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export an openretina config", "data_config.yaml", "YAML (*.yaml)"
        )
        if path:
            try:
                written = export_config(self.state.written_dir, path)
            except Exception as error:  # any failure is shown to the user
                self.loader_text.setText(f"Export failed: {format_error(error)}")
            else:
                self.loader_text.setText(
                    f"Configs written: {written[0]} (data_io) and {written[1]} (dataloader)"
                )

    def reset(self) -> None:
        super().reset()
        self.result, self.check_ok = None, False
        self.report.setText("")
        self.loader_text.setObjectName("")
        self.loader_text.setProperty("role", "")
        self.loader_text.setText(LOADER_INTRO)
        self.code.clear()
        self.sample_image.clear()
        self.sample_plot.clear()

    def problems(self) -> list[str]:
        if not self.state.written_dir:
            return ["No dataset was written yet."]
        return [] if self.check_ok else ["The written dataset did not pass the check (see above)."]

    def nextId(self) -> int:  # noqa: N802 - Qt API
        return -1  # the last page, whichever way it was reached

    def stop_work(self) -> None:
        if self.task is not None and self.task.running:
            self.task.wait()
