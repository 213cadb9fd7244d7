"""Preview: one session's stimulus and binned responses, linked; PSTH; the alignment check."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
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
from app.preview_data import AlignmentResult, ResponseView, TrialsView, alignment_check
from app.state import PreviewData
from app.widgets.preview import LinkedPreview
from app.widgets.psth import PsthPlot
from app.wording import gui_words
from app.workers import BackgroundTask
from openretina_data.errors import format_error
from openretina_data.preview import StimulusView, open_responses, stimulus_frames
from openretina_data.recipe import expand_sessions

if TYPE_CHECKING:
    from app.wizard import ImportWizard

GRID_COLUMNS = 6
MAX_RF = 18


ALIGNMENT_INTRO = (
    "Each neuron's receptive field should be a compact blob, and the lag scan should "
    "peak at a small positive lag (the cells' latency, 30–150 ms)."
)


class AlignmentView(QWidget):
    """A grid of per-neuron receptive fields, the lag scan, and 'apply lag to recipe'."""

    def __init__(self, page: PreviewPage) -> None:
        super().__init__()
        self.page = page
        self.run_button = QPushButton("&Is the alignment right?")
        self.run_button.setToolTip(
            "Spike-triggered average of each neuron and a lag scan (on up to 20 000 frames)"
        )
        self.run_button.clicked.connect(page.run_alignment)
        self.lag = QSpinBox()
        self.lag.setRange(0, 1000)
        self.lag.setSuffix(" frames")
        self.lag.setToolTip("Responses lag the stimulus by this many frames")
        self.apply_button = QPushButton("Apply &lag to recipe")
        self.apply_button.setToolTip("Store this lag in the recipe; the preview updates")
        self.apply_button.clicked.connect(lambda: page.apply_lag(self.lag.value()))
        self.text = QLabel(ALIGNMENT_INTRO)
        self.text.setWordWrap(True)
        row = QHBoxLayout()
        for widget in (self.run_button, QLabel("lag to apply"), self.lag, self.apply_button):
            row.addWidget(widget)
        row.addStretch(1)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.text)
        layout.addWidget(self.graphics, 1)
        self.result: AlignmentResult | None = None

    def reset(self) -> None:
        """No result shown (a new selection or a new conversion)."""
        self.result = None
        self.graphics.clear()
        self.text.setText(ALIGNMENT_INTRO)
        self.text.setProperty("role", "")
        self.apply_button.setEnabled(True)

    def show_result(self, result: AlignmentResult) -> None:
        self.result = result
        self.graphics.clear()
        fields = result.receptive_fields[:MAX_RF]
        grid = self.graphics.addLayout(row=0, col=0)
        for i, rf in enumerate(fields):
            view = grid.addViewBox(row=i // GRID_COLUMNS, col=i % GRID_COLUMNS, lockAspect=True)
            view.invertY(True)
            view.setMouseEnabled(False, False)
            limit = float(np.max(np.abs(rf))) or 1.0
            image = pg.ImageItem(rf, axisOrder="row-major", levels=(-limit, limit))
            image.setColorMap(pg.colormap.get("CET-D1"))
            view.addItem(image)
        scan = self.graphics.addPlot(row=0, col=1, title="lag scan")
        scan.addLegend(offset=(-5, -5))  # bottom right: clear of the curve's peak
        scan.plot(
            result.lags,
            result.score,
            pen=pg.mkPen("#1f3a5f", width=2),
            symbol="o",
            symbolSize=5,
            name="RF sharpness",
        )
        if result.repeat_score is not None:
            peak = float(np.nanmax(result.score)) or 1.0
            scaled = result.repeat_score / (np.nanmax(np.abs(result.repeat_score)) or 1.0) * peak
            scan.plot(
                result.lags,
                scaled,
                pen=pg.mkPen("#f2a23a", width=2),
                name="repeat agreement (scaled)",
            )
        scan.addItem(pg.InfiniteLine(0, angle=90, pen=pg.mkPen("#999", style=Qt.PenStyle.DashLine)))
        scan.setLabel("bottom", "lag (frames): response frame t vs stimulus frame t − lag")
        scan.setLabel("left", "sharpness (robust z)")
        self.graphics.ci.layout.setColumnStretchFactor(0, 3)
        self.graphics.ci.layout.setColumnStretchFactor(1, 2)
        if result.null_threshold is not None:
            scan.addItem(
                pg.InfiniteLine(
                    result.null_threshold,
                    angle=0,
                    pen=pg.mkPen("#999", style=Qt.PenStyle.DotLine),
                    label="responses shifted in time (needed to count)",
                    labelOpts={"position": 0.3, "color": "#555"},
                )
            )
        judged = result.verdict in ("aligned", "misaligned")
        if judged:
            scan.addItem(
                pg.InfiniteLine(result.best_lag, angle=90, pen=pg.mkPen("#d62728", width=2))
            )
        self.lag.setValue(self.page.state.recipe.lag_frames + result.suggested_lag)
        # Only a clear receptive field at an impossible lag suggests a lag to apply.
        self.apply_button.setEnabled(result.verdict == "misaligned" and result.suggested_lag > 0)
        self.apply_button.setToolTip(
            "Store this lag in the recipe; the preview updates"
            if self.apply_button.isEnabled()
            else "Nothing to apply: the check found no timing offset it can vouch for"
        )
        rate = self.page.state.recipe.frame_rate_hz
        where = (
            f" Sharpest at lag {result.best_lag} ({1000 * result.best_lag / rate:.0f} ms)."
            if judged
            else ""
        )
        suggestion = (
            f" Suggested: apply a lag of {result.suggested_lag} frames."
            if self.apply_button.isEnabled()
            else ""
        )
        self.text.setText(
            f"{len(result.receptive_fields)} neurons, {result.frames_used} frames "
            f"(first {len(fields)} shown).{where} {result.message}{suggestion}"
        )
        self.text.setProperty("role", "ok" if result.verdict == "aligned" else "warning")
        self.text.style().polish(self.text)


class PreviewPage(WizardPage):
    """A session's stimulus and responses with a shared cursor; PSTH and alignment in tabs."""

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
        for combo in (self.session, self.epoch):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.session.currentIndexChanged.connect(self._fill_epochs)
        self.epoch.currentIndexChanged.connect(self.show_selection)
        for widget in (QLabel("Session"), self.session, QLabel("Stimulus"), self.epoch):
            row.addWidget(widget)
        self.message = QLabel()
        self.message.setWordWrap(True)
        row.addWidget(self.message, 1)
        self.preview = LinkedPreview()
        self.psth = PsthPlot()
        self.alignment = AlignmentView(self)
        self.preview.frameChanged.connect(
            lambda f: self.psth.set_time(f / self.state.recipe.frame_rate_hz)
        )
        self.preview.neuron_box.valueChanged.connect(lambda _: self._update_psth())
        self.tabs = QTabWidget()
        self.tabs.addTab(self.preview, "Stimulus and responses")
        self.tabs.addTab(self.psth, "Repeats (PSTH)")
        self.tabs.addTab(self.alignment, "Alignment check")
        self.body.addLayout(row)
        self.body.addWidget(self.tabs, 1)
        self.finish_layout()
        self.sessions: list[Any] = []
        self.epoch_refs: list[tuple[int, int]] = []  # (source index, epoch index) per choice
        self.frames: dict[str, int] = {}
        self.trials: Any = None
        self._reader: Any = None
        self._task: BackgroundTask | None = None
        self._loader: BackgroundTask | None = None
        self._opener: BackgroundTask | None = None
        self._selection = 0
        self.busy = False

    def load(self) -> None:
        """Expand sessions and read stimulus lengths (headers only) in the background."""
        recipe = self.state.recipe
        self.message.setText("Reading the stimulus and session headers…")
        self.busy = True

        def work() -> tuple[list[Any], dict[str, int]]:
            return expand_sessions(recipe), stimulus_frames(recipe)

        task = BackgroundTask(work, self)
        task.finished.connect(self._loaded)
        task.failed.connect(self._load_failed)
        self._loader = task
        task.start()

    def _loaded(self, result: tuple[list[Any], dict[str, int]]) -> None:
        self.busy = False
        self.sessions, self.frames = result
        self.session.blockSignals(True)
        self.session.clear()
        self.session.addItems([s.name for s in self.sessions])
        self.session.blockSignals(False)
        self._fill_epochs()

    def _load_failed(self, error: BaseException) -> None:
        self.busy = False
        self._problem(f"Cannot preview yet: {format_error(error)}")

    def _problem(self, text: str) -> None:
        self.message.setText(gui_words(text))
        self.message.setProperty("role", "problem")
        self.message.style().polish(self.message)

    def _fill_epochs(self) -> None:
        """One choice per epoch of every response source of the session."""
        index = self.session.currentIndex()
        self.epoch.blockSignals(True)
        self.epoch.clear()
        self.epoch_refs = []
        if 0 <= index < len(self.sessions):
            sources = self.sessions[index].responses
            for i, source in enumerate(sources):
                for j, epoch in enumerate(source.epochs):
                    self.epoch_refs.append((i, j))
                    where = f" (file {i + 1} of {len(sources)})" if len(sources) > 1 else ""
                    self.epoch.addItem(
                        epoch.stimulus + (f" ×{epoch.repeats}" if epoch.repeats > 1 else "") + where
                    )
        self.epoch.blockSignals(False)
        self.show_selection()

    def show_selection(self) -> None:
        """Open the selected epoch's responses off the UI thread, then show them linked.

        Opening bins spikes on frame times found in the trigger channel (a scan of the
        whole channel), so it runs in a worker; windows are read later, lazily.
        """
        recipe = self.state.recipe
        s_index, choice = self.session.currentIndex(), self.epoch.currentIndex()
        self.close_reader()
        self._selection += 1
        if s_index < 0 or not 0 <= choice < len(self.epoch_refs):
            self.preview.set_data(None)
            return
        source_index, e_index = self.epoch_refs[choice]
        session, frames, ticket = self.sessions[s_index], dict(self.frames), self._selection
        self.busy = True
        self.message.setText("Binning the responses on the frame times…")
        task = BackgroundTask(
            lambda: open_responses(recipe, session, source_index, frames=frames), self
        )
        task.finished.connect(
            lambda reader: self._opened(ticket, reader, s_index, (source_index, e_index))
        )
        task.failed.connect(lambda error: self._open_failed(ticket, error))
        self._opener = task
        task.start()

    def _open_failed(self, ticket: int, error: BaseException) -> None:
        if ticket == self._selection:
            self.busy = False
            self._problem(f"Cannot preview this yet: {format_error(error)}")
            self.preview.set_data(None)

    def _opened(self, ticket: int, reader: Any, s_index: int, choice: tuple[int, int]) -> None:
        if ticket != self._selection:  # the user chose another epoch meanwhile
            reader.close()
            return
        self.busy = False
        self._reader = reader
        recipe = self.state.recipe
        session = self.sessions[s_index]
        source_index, e_index = choice
        source = session.responses[source_index]
        epoch = source.epochs[e_index]
        try:
            spec = recipe.stimulus(epoch.stimulus)
            path = recipe.resolve(spec.path.replace("{session}", session.name))
            lag = recipe.lag_frames
            movie = StimulusView(self.wizard_.readers.array(path, spec.key), spec.axes)
            movie = StimulusView(movie.array, spec.axes, stop=movie.shape[1] - lag)
            offset = sum(
                e.skip_frames + e.repeats * self.frames[e.stimulus] for e in source.epochs[:e_index]
            )
            offset += epoch.skip_frames + lag
            n_neurons, length = reader.n_neurons, self.frames[epoch.stimulus]
            responses = ResponseView(reader.read, n_neurons, length - lag, offset)
            self.trials = (
                TrialsView(reader.read, epoch.repeats, n_neurons, length - lag, offset)
                if epoch.repeats > 1
                else None
            )
        except Exception as error:  # any failure is shown next to the plots
            self._problem(f"Cannot preview this yet: {format_error(error)}")
            self.preview.set_data(None)
            return
        self.message.setText(
            f"{n_neurons} neurons · {movie.shape[1]} frames at {recipe.frame_rate_hz:g} Hz"
            + (f" · lag of {lag} frames applied" if lag else "")
        )
        self.message.setProperty("role", "hint")
        self.message.style().polish(self.message)
        unit = recipe.binning.spike_unit if source.kind == "spike_times" else source.unit
        self.preview.set_data(
            PreviewData(
                movie=movie,
                responses=responses,
                frame_rate_hz=recipe.frame_rate_hz,
                trials=self.trials,
                title=f"session {session.name} · stimulus {spec.name} ({spec.split})"
                + (", first of the repeats" if epoch.repeats > 1 else ""),
                unit=unit,
            )
        )
        self._update_psth()

    def _update_psth(self) -> None:
        self.psth.show_neuron(
            self.trials,
            self.preview.neuron_box.value(),
            self.state.recipe.frame_rate_hz,
            self.state.recipe.response_unit(),
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
        movie, responses, rate, trials = data.movie, data.responses, data.frame_rate_hz, self.trials
        if not isinstance(movie, StimulusView):
            return
        self.alignment.text.setText("Computing receptive fields and the lag scan…")
        self._task = BackgroundTask(
            lambda: alignment_check(movie, responses, rate, trials=trials), self
        )
        self._task.finished.connect(self.alignment.show_result)
        self._task.failed.connect(
            lambda e: self.alignment.text.setText(f"Alignment check failed: {format_error(e)}")
        )
        self._task.start()

    def apply_lag(self, lag: int) -> None:
        """Store ``lag`` as the recipe's ``lag_frames`` and re-read the preview."""
        self.state.recipe.lag_frames = int(lag)
        self.load()

    def reset(self) -> None:
        super().reset()
        self.close_reader()
        self.sessions, self.epoch_refs, self.frames, self.trials = [], [], {}, None
        self.preview.set_data(None)
        self.message.setText("")
        self.alignment.reset()

    def close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def stop_work(self) -> None:
        for task in (self._task, self._loader, self._opener):
            if task is not None and task.running:
                task.wait()
        self.close_reader()
