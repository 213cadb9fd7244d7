"""Responses: add spike-sorter folders, trace files or binned arrays; confirm kind and unit."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from app.matching import session_views
from app.pages.file_page import FilePage
from app.state import Probed, needs_rate
from app.widgets.files import DropTable
from app.widgets.numbers import NumberBox
from openretina_data.recipe import RESPONSE_UNITS, Recipe, ResponseSource, save_recipe
from openretina_data.sources.base import Variable

if TYPE_CHECKING:
    from app.wizard import ImportWizard

COLUMNS = (
    "Session",
    "File or folder",
    "Array",
    "Contents",
    "Kind",
    "Unit",
    "Rate (Hz)",
    "Keep",
    "Confirmed",
)
KINDS = ("binned", "spike_times", "traces")
NEW_SESSION = "(a new session)"
KEEP = {"all units": [], "good only": ["good"], "good + mua": ["good", "mua"]}


def session_label(recipe: Recipe, name: str) -> str:
    """A session's name, or for a template the sessions it stands for."""
    if "{session}" not in name:
        return name
    found = [v.name for v in session_views(recipe) if v.templated and v.name != name]
    return f"{', '.join(found) or 'no folder matches'} ({recipe.session_pattern})"


def short_path(path: str) -> str:
    """The last two parts of a path (``session_01/phy``), enough to recognise it."""
    parts = Path(path).parts
    return "/".join(parts[-2:]) if len(parts) > 1 else path


FOLDER_FORMATS = ("kilosort", "suite2p")
ROLE_OF_KIND = {"binned": "binned_responses", "spike_times": "spike_times", "traces": "traces"}


def describe(probed: Probed | None, source: ResponseSource) -> tuple[Variable | None, str]:
    """The variable holding the responses and a short description (or the probe's problem)."""
    if probed is None:
        return None, "looking…"
    if probed.error or probed.info is None:
        return None, probed.error
    variable = probed.variable(source.key)
    if variable is None:
        matches = probed.info.by_role(ROLE_OF_KIND[source.kind])  # type: ignore[arg-type]
        variable = matches[0] if matches else None
    if variable is None:
        return None, f"{probed.info.format}: nothing that looks like {source.kind}"
    if source.kind == "spike_times":
        units = [v for v in probed.info.variables if v.key in ("cluster_id", "units")]
        count = f"{units[0].shape[0]} units, " if units else ""
        spikes = f"{variable.shape[0]:,}".replace(",", " ")
        return variable, f"{count}{spikes} spikes"
    return variable, "×".join(str(n) for n in variable.shape)


class ResponsesPage(FilePage):
    """One row per response source; each starts as its own session and may join another."""

    page_id = "responses"
    probing = "source(s)"

    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__(
            wizard,
            "Responses",
            "Add what was recorded: Kilosort/Phy folders, suite2p output, trace files or binned "
            "arrays, and trigger channels. Kind and unit are suggested; tick Confirmed once right. "
            "One recording saved in several files: pick the same Session for each.",
        )
        self.table = DropTable(COLUMNS)
        self.table.setToolTip("Drop spike-sorter folders or response files here")
        self.table.pathsDropped.connect(self.add_paths)
        buttons = self.button_row(
            ("&Add files…", "Choose response files", self.choose_files),
            (
                "Add &folder…",
                "A spike-sorter folder (Kilosort/Phy, suite2p)",
                self.choose_folder,
            ),
            ("&Remove", "Remove the selected row", self.remove_selected),
        )
        self.triggers = QLabel()
        self.triggers.setWordWrap(True)
        self.triggers.setToolTip(
            "Files holding only a trigger channel become the frame times of a session"
        )
        self.split_unit = QComboBox()
        self.split_unit.setToolTip("The unit whose sessions go into the second dataset")
        self.split_button = QPushButton("Convert these as a &second dataset…")
        self.split_button.setToolTip(
            "Save the sessions in the chosen unit as a recipe of their own (same stimuli and "
            "timing) and take them out of this one; open it from Welcome afterwards"
        )
        self.split_button.clicked.connect(self.choose_split)
        self.split_row = QWidget()
        split_layout = QHBoxLayout(self.split_row)
        split_layout.setContentsMargins(0, 0, 0, 0)
        split_layout.addWidget(QLabel("Mixed units:"))
        split_layout.addWidget(self.split_unit)
        split_layout.addWidget(self.split_button)
        split_layout.addStretch(1)
        self.split_row.setVisible(False)
        self.body.addLayout(buttons)
        self.body.addWidget(self.table, 1)
        self.body.addWidget(self.triggers)
        self.body.addWidget(self.split_row)
        self.finish_layout()

    def rows(self) -> list[tuple[str, ResponseSource]]:
        """(session name, response source) in table order."""
        return [(s.name, r) for s in self.state.recipe.sessions for r in s.responses]

    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Add response files")
        self.add_paths(paths)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a spike-sorter folder")
        if folder:
            self.add_paths([folder])

    def add_probed(self, path: str, probed: Probed) -> None:
        """Add ``path`` as a session's response source."""
        self.state.add_responses(path, probed)

    def remove_selected(self) -> None:
        rows = self.rows()
        row = self.table.currentRow()
        if 0 <= row < len(rows):
            source = rows[row][1]
            for session in list(self.state.recipe.sessions):
                if source in session.responses:
                    session.responses.remove(source)
                    if not session.responses:
                        self.state.recipe.sessions.remove(session)
            self.load()
            self.refresh()

    def choose_split(self) -> None:
        unit = self.split_unit.currentText()
        start = self.state.recipe.base_dir / f"recipe_{unit.replace('/', '_per_')}.yaml"
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the second dataset's recipe", str(start), "YAML (*.yaml)"
        )
        if path:
            self.split(unit, path)

    def split(self, unit: str, path: str | Path) -> Path:
        """Move the ``unit`` sessions into a recipe saved at ``path`` (remembered on Welcome)."""
        other = self.state.split_off(unit)
        written = save_recipe(other, path)
        self.wizard_.remember("recipes", written)
        self.load()
        self.refresh()
        self.triggers.setText(
            f"Saved the {unit} sessions as {written.name}: open it from Welcome (Recent "
            "recipes) to convert them as a second dataset."
        )
        return written

    def load(self) -> None:
        units = self.state.units()
        self.split_row.setVisible(len(units) > 1)
        current = self.split_unit.currentText()
        self.split_unit.clear()
        self.split_unit.addItems(list(units)[1:])  # the first source's unit stays here
        if current in units:
            self.split_unit.setCurrentText(current)
        triggers = self.state.triggers
        self.triggers.setText(
            "Trigger channels (frame times): " + ", ".join(short_path(t) for t in triggers)
            if triggers
            else "Tip: add the trigger (TTL) channel files here too; each goes to the session it names."
        )
        rows = self.rows()
        self.table.setRowCount(len(rows))
        for row, (session, source) in enumerate(rows):
            self._fill_row(row, session, source)

    def _fill_row(self, row: int, session: str, source: ResponseSource) -> None:
        """One source's row: every cell edits ``source`` directly."""
        probed = self.state.probes.get(source.path)
        variable, what = describe(probed, source)
        folder = bool(probed and probed.info and probed.info.format in FOLDER_FORMATS)
        keys = (
            [v.key for v in probed.info.variables] if probed and probed.info and not folder else []
        )
        if "{session}" in session:
            self.table.set_text(
                row,
                0,
                session_label(self.state.recipe, session),
                tip="Every folder the pattern finds is one session",
            )
        else:
            names = [s.name for s in self.state.recipe.sessions if "{session}" not in s.name]
            self.table.set_combo(
                row,
                0,
                [*names, NEW_SESSION],
                session,
                lambda t: self._move(source, t),
                tip="The session this source belongs to. Pick another session's name when "
                "one recording was saved in several files (e.g. one per stimulus); "
                "rename sessions on the Sessions page.",
            )
        self.table.set_text(row, 1, short_path(source.path), tip=source.path)
        if len(keys) > 1:
            self.table.set_combo(
                row,
                2,
                keys,
                source.key or "",
                lambda t: self._set(source, "key", t or None),
                tip="Which array holds the responses",
            )
        else:
            self.table.set_text(row, 2, "folder" if folder else source.key or "")
        self.table.set_text(row, 3, what, tip=variable.reason if variable else what)
        self.table.set_combo(
            row,
            4,
            KINDS,
            source.kind,
            lambda t: self._set_kind(source, t),
            tip="binned: one value per frame · spike_times: event times · traces: calcium/voltage",
        )
        self.table.set_combo(
            row,
            5,
            RESPONSE_UNITS[source.kind],
            source.unit,
            lambda t: self._set(source, "unit", t),
            tip="The unit the numbers are in (never guessed silently)",
        )
        rate = NumberBox(
            0.0, 1_000_000.0, special="not needed" if not needs_rate(source) else "required"
        )
        rate.setValue(source.sampling_rate_hz or 0.0)
        rate.setToolTip("Samples per second of traces, or of spike times given in samples")
        rate.valueChanged.connect(lambda v: self._set(source, "sampling_rate_hz", v or None))
        self.table.setCellWidget(row, 6, rate)
        keep = next((k for k, v in KEEP.items() if v == source.unit_filter), "all units")
        self.table.set_combo(
            row,
            7,
            list(KEEP),
            keep,
            lambda t: self._set(source, "unit_filter", list(KEEP[t])),
            tip="Keep only units the spike sorter labelled good",
        )
        confirmed = QCheckBox()
        confirmed.setChecked(source.path in self.state.confirmed)
        confirmed.setToolTip("Tick when kind, unit and sampling rate are right")
        confirmed.toggled.connect(lambda on: self._confirm(source, on))
        self.table.setCellWidget(row, 8, confirmed)

    def _move(self, source: ResponseSource, session: str) -> None:
        self.state.move_source(source, None if session == NEW_SESSION else session)
        # Rebuild after this signal returns: the combo that sent it is one of the cells.
        QTimer.singleShot(0, self.load)
        self.refresh()

    def _set(self, source: ResponseSource, name: str, value: object) -> None:
        setattr(source, name, value)
        self.refresh()

    def _set_kind(self, source: ResponseSource, kind: str) -> None:
        source.kind = kind  # type: ignore[assignment]
        if source.unit not in RESPONSE_UNITS[kind]:
            source.unit = RESPONSE_UNITS[kind][0]
        self.state.confirmed.discard(source.path)
        self.load()
        self.refresh()

    def _confirm(self, source: ResponseSource, on: bool) -> None:
        if on:
            self.state.confirmed.add(source.path)
        else:
            self.state.confirmed.discard(source.path)
        self.refresh()

    def reset(self) -> None:
        super().reset()
        self.table.setRowCount(0)
        self.busy.setText("")

    def problems(self) -> list[str]:
        return self.state.page_problems("responses")
