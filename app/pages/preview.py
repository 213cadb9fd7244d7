"""Preview: the stimulus and the binned responses of one session, linked, plus the alignment check."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.pages.base import WizardPage
from app.preview_data import MovieView, ResponseView
from app.state import PreviewData
from app.widgets.preview import LinkedPreview
from app.workers import BackgroundTask
from openretina_data.errors import format_error

if TYPE_CHECKING:
    from app.wizard import ImportWizard

GRID_COLUMNS = 6
MAX_RF = 24


def open_session_responses(recipe: Any, session_index: int, stimulus_frames: dict[str, int]) -> Any:
    """The core's response reader for the first response source of a session."""
    from openretina_data.responses_io import open_response_reader

    session = recipe.sessions[session_index]
    reader, _times = open_response_reader(
        session.responses[0], recipe, stimulus_frames, session=session.name
    )
    return reader


def run_alignment(movie: Any, responses: np.ndarray, frame_rate_hz: float, max_lag: int) -> Any:
    """STA receptive fields and a lag scan, computed by the core (``openretina_data.alignment``)."""
    from openretina_data.alignment import alignment_check

    return alignment_check(movie, responses, frame_rate_hz=frame_rate_hz, max_lag=max_lag)


class AlignmentView(QWidget):
    """A grid of per-neuron STA receptive fields and the lag-scan curve, with 'apply lag'."""

    def __init__(self, page: PreviewPage) -> None:
        super().__init__()
        self.page = page
        self.run_button = QPushButton("&Is the alignment right?")
        self.run_button.setToolTip(
            "Compute each neuron's spike-triggered average and scan lags (subsampled)"
        )
        self.run_button.clicked.connect(page.run_alignment)
        self.lag = QSpinBox()
        self.lag.setRange(-1000, 1000)
        self.lag.setSuffix(" frames")
        self.lag.setToolTip("Responses lag the stimulus by this many frames")
        self.apply_button = QPushButton("Apply &lag to recipe")
        self.apply_button.setToolTip("Store this lag in the recipe (lag_frames)")
        self.apply_button.clicked.connect(lambda: page.apply_lag(self.lag.value()))
        self.text = QLabel(
            "A sharp receptive field and a lag-scan peak at the lag you apply mean the timing is right."
        )
        self.text.setWordWrap(True)
        row = QHBoxLayout()
        for widget in (self.run_button, QLabel("lag"), self.lag, self.apply_button):
            row.addWidget(widget)
        row.addStretch(1)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.text)
        layout.addWidget(self.graphics, 1)

    def show_result(self, result: Any) -> None:
        self.graphics.clear()
        fields = np.asarray(result.receptive_fields)[:MAX_RF]  # (neurons, h, w)
        for i, rf in enumerate(fields):
            view = self.graphics.addViewBox(
                row=i // GRID_COLUMNS, col=i % GRID_COLUMNS, lockAspect=True
            )
            view.invertY(True)
            view.setMouseEnabled(False, False)
            limit = float(np.max(np.abs(rf))) or 1.0
            image = pg.ImageItem(
                np.asarray(rf, dtype=np.float32), axisOrder="row-major", levels=(-limit, limit)
            )
            image.setColorMap(pg.colormap.get("CET-D1"))
            view.addItem(image)
        rows = (len(fields) + GRID_COLUMNS - 1) // GRID_COLUMNS
        scan = self.graphics.addPlot(
            row=0, col=GRID_COLUMNS, rowspan=max(rows, 1), title="lag scan"
        )
        scan.plot(
            np.asarray(result.lags),
            np.asarray(result.scores),
            pen=pg.mkPen("#1f3a5f", width=2),
            symbol="o",
        )
        scan.addItem(
            pg.InfiniteLine(0, angle=90, pen=pg.mkPen("#999", style=pg.QtCore.Qt.PenStyle.DashLine))
        )
        scan.setLabel("bottom", "lag (frames)")
        scan.setLabel("left", "RF sharpness")
        best = int(result.best_lag)
        self.lag.setValue(best)
        self.text.setText(
            f"Best lag: {best} frames. "
            + (
                "Timing looks right."
                if best == 0
                else "A peak away from 0 suggests a trigger offset or dropped frame: apply it, or fix the timing."
            )
        )


class PreviewPage(WizardPage):
    """One session's stimulus and responses with a shared cursor; alignment check in a tab."""

    page_id = "preview"

    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__(
            wizard,
            "Preview",
            "Scrub through the movie and the responses as they will be written (←/→, PgUp/PgDn). "
            "Then ask: is the alignment right?",
        )
        row = QHBoxLayout()
        self.session = QComboBox()
        self.session.setToolTip("Session to preview")
        self.epoch = QComboBox()
        self.epoch.setToolTip("Stimulus (epoch) to preview")
        self.session.currentIndexChanged.connect(self._fill_epochs)
        self.epoch.currentIndexChanged.connect(self.show_selection)
        for widget in (QLabel("Session"), self.session, QLabel("Stimulus"), self.epoch):
            row.addWidget(widget)
        row.addStretch(1)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.preview = LinkedPreview()
        self.alignment = AlignmentView(self)
        tabs = QTabWidget()
        tabs.addTab(self.preview, "Stimulus and responses")
        tabs.addTab(self.alignment, "Alignment check")
        self.body.addLayout(row)
        self.body.addWidget(self.message)
        self.body.addWidget(tabs, 1)
        self.finish_layout()
        self._reader: Any = None
        self._task: BackgroundTask | None = None

    def load(self) -> None:
        self.session.blockSignals(True)
        self.session.clear()
        self.session.addItems([s.name for s in self.state.recipe.sessions])
        self.session.blockSignals(False)
        self._fill_epochs()

    def _fill_epochs(self) -> None:
        index = self.session.currentIndex()
        sessions = self.state.recipe.sessions
        self.epoch.blockSignals(True)
        self.epoch.clear()
        if 0 <= index < len(sessions) and sessions[index].responses:
            for epoch in sessions[index].responses[0].epochs:
                self.epoch.addItem(
                    epoch.stimulus + (f" ×{epoch.repeats}" if epoch.repeats > 1 else "")
                )
        self.epoch.blockSignals(False)
        self.show_selection()

    def stimulus_frames(self) -> dict[str, int]:
        """Frames of every stimulus, from the probed shapes and axis orders."""
        frames = {}
        for spec in self.state.recipe.stimuli:
            probed = self.state.probes.get(spec.path)
            variable = probed.variable(spec.key) if probed else None
            if variable is not None and "t" in spec.axes and len(spec.axes) == len(variable.shape):
                frames[spec.name] = int(variable.shape[spec.axes.index("t")])
        return frames

    def show_selection(self) -> None:
        """Open the selected epoch's movie and responses lazily and show them linked."""
        recipe = self.state.recipe
        s_index, e_index = self.session.currentIndex(), self.epoch.currentIndex()
        if s_index < 0 or e_index < 0:
            self.preview.set_data(None)
            return
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        source = recipe.sessions[s_index].responses[0]
        epoch = source.epochs[e_index]
        frames = self.stimulus_frames()
        try:
            spec = recipe.stimulus(epoch.stimulus)
            movie = MovieView(
                self.wizard_.readers.array(recipe.resolve(spec.path), spec.key), spec.axes
            )
            self._reader = open_session_responses(recipe, s_index, frames)
            offset = sum(
                e.skip_frames + e.repeats * frames[e.stimulus] for e in source.epochs[:e_index]
            )
            offset += epoch.skip_frames + recipe.lag_frames
            responses = ResponseView(
                self._reader.read, self._reader.n_neurons, movie.shape[1], offset
            )
        except Exception as error:  # noqa: BLE001 - shown next to the plots
            self.message.setText(f"Cannot preview this yet: {format_error(error)}")
            self.message.setProperty("role", "problem")
            self.preview.set_data(None)
            return
        self.message.setText(
            f"{self._reader.n_neurons} neurons · {movie.shape[1]} frames at {recipe.frame_rate_hz:g} Hz"
            + (f" · lag {recipe.lag_frames} frames applied" if recipe.lag_frames else "")
        )
        self.message.setProperty("role", "hint")
        self.preview.set_data(
            PreviewData(
                movie=movie,
                responses=responses,
                frame_rate_hz=recipe.frame_rate_hz,
                title=f"session {recipe.sessions[s_index].name} · stimulus {spec.name} ({spec.split}), first presentation",
                unit=source.unit if source.kind != "spike_times" else recipe.binning.spike_unit,
            )
        )

    def run_alignment(self) -> None:
        """Compute STAs and the lag scan off the UI thread on the epoch shown."""
        data = self.preview.data
        if (
            data is None
            or data.responses is None
            or (self._task is not None and self._task.running)
        ):
            return
        n = min(data.n_frames, 20_000)  # a subsample keeps this to seconds
        movie = data.movie[0, 0:n]  # (time, h, w) of channel 0
        responses = data.responses[:, 0:n]
        rate = data.frame_rate_hz
        self.alignment.text.setText(f"Computing on {n} frames…")
        self._task = BackgroundTask(lambda: run_alignment(movie, responses, rate, 10), self)
        self._task.finished.connect(self.alignment.show_result)
        self._task.failed.connect(
            lambda e: self.alignment.text.setText(f"Alignment check failed: {format_error(e)}")
        )
        self._task.start()

    def apply_lag(self, lag: int) -> None:
        self.state.recipe.lag_frames = int(lag)
        self.show_selection()

    def stop_work(self) -> None:
        if self._task is not None and self._task.running:
            self._task.wait()
        if self._reader is not None:
            self._reader.close()
            self._reader = None
