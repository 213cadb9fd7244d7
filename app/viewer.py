"""The viewer: any native dataset (ours or openretina's), read-only, with linked plots and ``check``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
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

from app.preview_data import MovieView, dataset_session_file
from app.sources_cache import ReaderCache
from app.state import PreviewData
from app.widgets.preview import LinkedPreview
from app.workers import BackgroundTask
from openretina_data.errors import format_error
from openretina_data.layout import (
    STIMULI_DIR,
    Report,
    check,
    read_card,
    responses_key,
    stimulus_key,
    test_by_trial_key,
)


def split_half_reliability(trials: np.ndarray) -> float:
    """Correlation between the means of odd and even trials; ``trials`` is (trials, time)."""
    if trials.shape[0] < 2:
        return float("nan")
    odd, even = trials[1::2].mean(axis=0), trials[0::2].mean(axis=0)
    if odd.std() == 0 or even.std() == 0:
        return float("nan")
    return float(np.corrcoef(odd, even)[0, 1])


class PsthPlot(QWidget):
    """Every test repeat of one neuron (grey), their mean (black), and its split-half reliability."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget(background="w", title="repeats of the test stimulus")
        self.plot.setLabel("bottom", "time", units="s")
        self.label = QLabel("No test repeats in this session for this stimulus.")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.plot, 1)
        self.cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen("#d62728", width=2))

    def show_neuron(self, trials: object | None, neuron: int, frame_rate_hz: float) -> None:
        """Plot neuron ``neuron`` of ``trials`` (lazy (trials, neurons, time) array), or clear."""
        self.plot.clear()
        if trials is None:
            self.label.setText("No test repeats in this session for this stimulus.")
            return
        data = np.asarray(trials[:, neuron, :], dtype=np.float32)  # type: ignore[index]
        seconds = np.arange(data.shape[1]) / frame_rate_hz
        for trial in data:
            self.plot.plot(seconds, trial, pen=pg.mkPen((150, 150, 150, 120)))
        self.plot.plot(seconds, data.mean(axis=0), pen=pg.mkPen("k", width=2))
        self.plot.addItem(self.cursor)
        reliability = split_half_reliability(data)
        self.label.setText(
            f"neuron {neuron}: {data.shape[0]} repeats, split-half reliability r = {reliability:.2f}"
        )

    def set_time(self, seconds: float) -> None:
        self.cursor.setValue(seconds)


class DatasetViewer(QMainWindow):
    """A dataset folder, read-only: card, ``check`` report and linked stimulus/response plots."""

    def __init__(self, folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder = Path(folder)
        self.setWindowTitle(f"openretina-data viewer — {self.folder.name}")
        self.readers = ReaderCache()
        self.report: Report | None = None
        self.card = (
            read_card(self.folder) if (self.folder / "openretina_data.json").exists() else None
        )
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
        tabs = QTabWidget()
        tabs.addTab(self.psth, "Repeats (PSTH)")
        tabs.addTab(self.check_text, "Check")
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
        self.card_text.setPlainText(
            self.card.to_json()
            if self.card
            else "No dataset card: made by openretina or another tool."
        )
        self.task = BackgroundTask(lambda: check(self.folder), self)
        self.task.finished.connect(self._checked)
        self.task.failed.connect(lambda e: self.status.setText(format_error(e)))
        self.task.start()

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
        except Exception as error:  # noqa: BLE001 - shown to the user
            self.status.setText(f"Cannot show {session}/{stim}: {format_error(error)}")
            return
        test = self.card is not None and stim in self.card.test_stimuli
        unit = self.card.response_unit if self.card else "a.u."
        self.trials = trials
        self.preview.set_data(
            PreviewData(
                movie=MovieView(movie, "cthw"),
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
            getattr(self, "trials", None), self.preview.neuron_box.value(), self.frame_rate_hz
        )

    def closeEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt API
        self.task.wait()
        self.readers.close_all()
        super().closeEvent(event)
