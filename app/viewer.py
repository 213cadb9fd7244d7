"""The viewer: any native dataset (ours or openretina's), read-only, with linked plots and ``check``."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPlainTextEdit,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.preview_data import dataset_session_file
from app.sources_cache import ReaderCache
from app.state import PreviewData
from app.widgets.preview import LinkedPreview
from app.widgets.psth import PsthPlot
from app.workers import BackgroundTask
from openretina_data.errors import OpenRetinaDataError, format_error
from openretina_data.layout import (
    STIMULI_DIR,
    DatasetCard,
    Report,
    check,
    read_card,
    responses_key,
    stimulus_key,
    test_by_trial_key,
)
from openretina_data.preview import StimulusView
from openretina_data.timing.report import card_timing, timing_lines


class DatasetViewer(QMainWindow):
    """A dataset folder, read-only: card, ``check`` report and linked stimulus/response plots."""

    def __init__(self, folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder = Path(folder)
        self.setWindowTitle(f"openretina-data viewer — {self.folder.name}")
        self.readers = ReaderCache()
        self.report: Report | None = None
        self.card: DatasetCard | None = None
        self.card_problem: str | None = None  # the card exists but cannot be read
        try:
            self.card = read_card(self.folder)
        except (OpenRetinaDataError, OSError) as error:
            self.card_problem = format_error(error)
        self.frame_rate_hz = (self.card.frame_rate_hz if self.card else None) or 30.0

        self.session = QComboBox()
        self.session.setToolTip("Session file")
        self.stimulus = QComboBox()
        self.stimulus.setToolTip("Stimulus shown in that session")
        for combo in (self.session, self.stimulus):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.session.currentIndexChanged.connect(self._session_changed)
        self.stimulus.currentIndexChanged.connect(self.show_selection)
        top = QHBoxLayout()
        top.addWidget(QLabel("Session"))
        top.addWidget(self.session)
        top.addWidget(QLabel("Stimulus"))
        top.addWidget(self.stimulus)
        top.addStretch(1)
        self.status = QLabel("Checking the dataset…")
        top.addWidget(self.status)

        self.preview = LinkedPreview()
        self.psth = PsthPlot()
        self.preview.frameChanged.connect(lambda f: self.psth.set_time(f / self.frame_rate_hz))
        self.preview.neuron_box.valueChanged.connect(lambda _: self._update_psth())
        self.card_text = QPlainTextEdit()
        self.card_text.setReadOnly(True)
        self.check_text = QPlainTextEdit()
        self.check_text.setReadOnly(True)
        self.timing_text = QPlainTextEdit()
        self.timing_text.setReadOnly(True)
        self.timing_text.setPlainText(self._timing_description())
        tabs = QTabWidget()
        tabs.addTab(self.psth, "Repeats (PSTH)")
        tabs.addTab(self.check_text, "Check")
        tabs.addTab(self.timing_text, "Timing")
        tabs.addTab(self.card_text, "Dataset card")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.preview)
        split.addWidget(tabs)
        split.setSizes([430, 230])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        self.setCentralWidget(central)
        self.resize(1180, 720)
        self.card_text.setPlainText(self._card_description())
        if self.card_problem is not None:
            self.card_notice = QLabel(
                "The dataset card (openretina_data.json) is unreadable; the data is shown "
                "without it. See the Dataset card tab."
            )
            self.card_notice.setProperty("role", "problem")
            self.card_notice.setWordWrap(True)
            layout.insertWidget(0, self.card_notice)
        self.task = BackgroundTask(lambda: check(self.folder), self)
        self.task.finished.connect(self._checked)
        self.task.failed.connect(lambda e: self.status.setText(format_error(e)))
        self.task.start()

    def _timing_description(self) -> str:
        """The timing report of every session, as the card keeps it (what convert printed)."""
        reports = card_timing(self.folder)
        if not reports:
            return (
                "No timing report: this dataset was written without one (by openretina, "
                "another tool, or from responses already binned per frame)."
            )
        return "\n".join(timing_lines(reports))

    def _card_description(self) -> str:
        if self.card_problem is not None:
            return f"The dataset card is unreadable.\n\n{self.card_problem}"
        if self.card is None:
            return "No dataset card: made by openretina or another tool."
        return self.card.to_json()

    def _checked(self, report: Report) -> None:
        self.report = report
        self.check_text.setPlainText(report.to_text())
        self.status.setText(
            "check: ok"
            if report.ok
            else f"check: {len(report.errors)} problem(s) — see the Check tab"
        )
        self.status.setProperty("role", "ok" if report.ok else "problem")
        self.session.clear()
        self.session.addItems(sorted(report.summary.session_stimuli or report.summary.neurons))

    def _session_changed(self) -> None:
        if self.report is None:
            return
        stimuli = self.report.summary.session_stimuli.get(self.session.currentText(), [])
        self.stimulus.blockSignals(True)
        self.stimulus.clear()
        self.stimulus.addItems(stimuli)
        self.stimulus.blockSignals(False)
        self.show_selection()

    def show_selection(self) -> None:
        """Load the selected session × stimulus lazily into the linked plots."""
        session, stim = self.session.currentText(), self.stimulus.currentText()
        if not session or not stim:
            return
        session_file = dataset_session_file(self.folder, session)
        try:
            shared = self.folder / STIMULI_DIR / f"{stim}.npy"
            movie = (
                self.readers.array(shared, None)
                if shared.exists()
                else self.readers.array(session_file, stimulus_key(stim))
            )
            responses = self.readers.array(session_file, responses_key(stim))
            try:
                trials = self.readers.array(session_file, test_by_trial_key(stim))
            except (KeyError, OSError, ValueError):
                trials = None
        except Exception as error:  # any failure is shown to the user
            self.status.setText(f"Cannot show {session}/{stim}: {format_error(error)}")
            return
        test = self.card is not None and stim in self.card.test_stimuli
        unit = self.card.response_unit if self.card else "a.u."
        self.trials = trials
        self.trials_unit = trials_unit(self.card)
        self.preview.set_data(
            PreviewData(
                movie=StimulusView(movie, "cthw"),
                responses=responses,
                frame_rate_hz=self.frame_rate_hz,
                trials=trials,
                title=f"session {session} · stimulus {stim} ({'test' if test else 'train'})",
                unit=unit,
            )
        )
        self._update_psth()

    def _update_psth(self) -> None:
        self.psth.show_neuron(
            getattr(self, "trials", None),
            self.preview.neuron_box.value(),
            self.frame_rate_hz,
            getattr(self, "trials_unit", ""),
        )

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        self.task.wait()
        self.readers.close_all()
        super().closeEvent(event)


def trials_unit(card: DatasetCard | None) -> str:
    """Unit of the ``test_by_trial_<stim>`` arrays: the card's ``units`` entry where one
    differs from the responses' (published archives store repeats as raw counts), else the
    response unit."""
    if card is None:
        return "a.u."
    units = card.extra.get("units")
    if isinstance(units, dict) and isinstance(units.get("test_by_trial"), str):
        return str(units["test_by_trial"])
    return card.response_unit
