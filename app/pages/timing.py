"""Timing and binning: when each frame was shown, and how responses become one value per frame."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
)

from app.matching import SessionView, session_views
from app.pages.base import WizardPage
from app.sources_cache import TriggerCheck, check_trigger, probe_path
from app.state import Probed
from app.widgets.numbers import NumberBox
from app.wording import gui_words
from app.workers import BackgroundTask
from openretina_data.errors import OpenRetinaDataError, format_error
from openretina_data.recipe import Epoch, Recipe, ResponseSource, SessionSpec
from openretina_data.sources.base import Variable

if TYPE_CHECKING:
    from app.wizard import ImportWizard

SOURCES = {
    "rate": "a fixed frame rate",
    "trigger": "a trigger (TTL) channel",
    "timestamps": "a timestamp per frame",
}


REPAIRS: tuple[tuple[str, bool | str], ...] = (
    ("Auto: the counts decide (held frame or missed trigger)", "auto"),
    ("On: interpolate every missed trigger", True),
    ("Off: never interpolate (long intervals are held frames)", False),
)


def for_people(report: str) -> str:
    """The core's timing report with its recipe keys replaced by this page's controls."""
    return gui_words(report)


def timing_report(
    recipe: Recipe, session: SessionSpec, index: int, lengths: dict[str, int]
) -> tuple[list[str], str]:
    """(the timing report lines of the session's source ``index``, "") or ([], the problem
    in the wizard's words).

    Runs the core's :func:`~openretina_data.preview.source_timing` (the same decision plan
    and convert make), in a worker thread.
    """
    from openretina_data.preview import source_timing

    try:
        timing = source_timing(recipe, session, index, frames=lengths)
    except (OpenRetinaDataError, OSError, ValueError) as error:
        return [], gui_words(format_error(error).replace("\n  hint:", " —"))
    if timing is None:
        return [], ""
    return [gui_words(line) for line in timing.report.lines()], ""


def repeats_hint(epochs: list[Epoch], lengths: dict[str, int], n_triggers: int) -> str:
    """When the trigger count fits another number of repeats of one epoch's stimulus
    (the others as they are), say so; "" otherwise. Repeats are never changed silently."""
    if not epochs or not all(e.stimulus in lengths for e in epochs):
        return ""
    total = sum(e.skip_frames + e.repeats * lengths[e.stimulus] for e in epochs)
    fits = []
    for epoch in epochs:
        rest = total - epoch.repeats * lengths[epoch.stimulus]
        shown, left = divmod(n_triggers - rest, lengths[epoch.stimulus])
        if left == 0 and shown >= 1 and shown != epoch.repeats:
            fits.append(f"{epoch.stimulus} shown {shown} times (not {epoch.repeats})")
    if n_triggers == total or not fits:
        return ""
    return (
        f"The channel has {n_triggers} frame triggers; that fits {' or '.join(fits)}. "
        "If so, change the stimuli shown on the Sessions page."
    )


def _shape(variable: Variable) -> str:
    unit = f", {variable.unit}" if variable.unit else ""
    return f"({'×'.join(str(n) for n in variable.shape)}{unit})"


class TimingPage(WizardPage):
    """Frame rate, frame-time source per session with a trigger plot, and binning choices."""

    page_id = "timing"

    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__(
            wizard,
            "Timing and binning",
            "Say how the stimulus frames line up with the recording. A trigger channel is "
            "checked for dropped or doubled frames; the plot shows where.",
        )
        top = QHBoxLayout()
        general = QGroupBox("Stimulus and binning")
        form = QFormLayout(general)
        self.rate = NumberBox(0.0, 10_000.0, special="required", suffix=" Hz")
        self.rate.setToolTip("Frames per second of the stimulus movie")
        self.rate.valueChanged.connect(self._set_rate)
        form.addRow("Frame rate", self.rate)
        self.trace_method = QComboBox()
        self.trace_method.addItems(["area", "linear"])
        self.trace_method.setToolTip(
            "Traces onto frames: area = mean over each frame, linear = value at frame centre"
        )
        self.trace_method.currentTextChanged.connect(lambda t: self._set_binning("trace_method", t))
        form.addRow("Traces", self.trace_method)
        self.spike_unit = QComboBox()
        self.spike_unit.addItems(["spikes/bin", "Hz"])
        self.spike_unit.setToolTip("Spike times become counts per frame, or a rate in Hz")
        self.spike_unit.currentTextChanged.connect(lambda t: self._set_binning("spike_unit", t))
        form.addRow("Spikes as", self.spike_unit)

        per_session = QGroupBox("Frame times of a session")
        sform = QFormLayout(per_session)
        self.session = QComboBox()
        self.session.setToolTip("Which session's timing to edit")
        self.session.currentIndexChanged.connect(self._show_session)
        sform.addRow("Session", self.session)
        self.kind = QComboBox()
        for value, text in SOURCES.items():
            self.kind.addItem(text, value)
        self.kind.setToolTip("Where the frame times come from")
        self.kind.currentIndexChanged.connect(self._edit)
        sform.addRow("From", self.kind)
        self.path = QLineEdit()
        self.path.setToolTip(
            "File with the trigger channel or the timestamps (relative to the recipe)"
        )
        self.path.editingFinished.connect(self._edit)
        browse = QPushButton("Browse…")
        browse.setToolTip("Choose the trigger or timestamp file")
        browse.clicked.connect(self.choose_file)
        file_row = QHBoxLayout()
        file_row.addWidget(self.path, 1)
        file_row.addWidget(browse)
        sform.addRow("File", file_row)
        self.key = QComboBox()
        self.key.setToolTip("The array inside that file that holds the trigger or the timestamps")
        self.key.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.key.currentIndexChanged.connect(self._edit)
        sform.addRow("Array", self.key)
        self.sampling = NumberBox(0.0, 1_000_000.0, special="not set", suffix=" Hz")
        self.sampling.setToolTip("Sampling rate of the trigger channel")
        self.sampling.valueChanged.connect(self._edit)
        sform.addRow("Sampled at", self.sampling)
        self.unit = QComboBox()
        self.unit.addItems(["s", "ms", "samples"])
        self.unit.setToolTip("Unit of the timestamps (samples need the sampling rate above)")
        self.unit.currentTextChanged.connect(self._edit)
        sform.addRow("Timestamps in", self.unit)
        self.threshold = QLineEdit()
        self.threshold.setPlaceholderText("automatic (halfway)")
        self.threshold.setToolTip("Trigger threshold; empty = halfway between low and high")
        self.threshold.editingFinished.connect(self._edit)
        sform.addRow("Threshold", self.threshold)
        self.fill = QComboBox()
        for label, repair in REPAIRS:
            self.fill.addItem(label, repair)
        self.fill.setToolTip(
            "Auto: as many frame times as frames means a long interval is a held frame; fewer "
            "means missed triggers, interpolated where that makes the count match exactly"
        )
        self.fill.currentIndexChanged.connect(self._edit)
        sform.addRow("Repair", self.fill)
        top.addWidget(general)
        top.addWidget(per_session, 1)

        self.plot = pg.PlotWidget(background="w")
        self.plot.setLabel("bottom", "time", units="s")
        self.plot.setLabel("left", "trigger channel")
        self.plot.setMinimumHeight(160)
        self.copy_button = QPushButton("Use for &every session")
        self.copy_button.setToolTip(
            "Copy source, array, sampling rate, threshold and repair to every session (each keeps its own file)"
        )
        self.copy_button.clicked.connect(self.copy_to_all)
        sform.addRow("", self.copy_button)
        check_row = QHBoxLayout()
        self.check_button = QPushButton("&Check the trigger")
        self.check_button.setToolTip("Detect frame triggers and look for dropped frames")
        self.check_button.clicked.connect(self.check)
        check_row.addWidget(self.check_button)
        self.report = QLabel("Frame times from a fixed rate need no check.")
        self.report.setWordWrap(True)
        check_row.addWidget(self.report, 1)
        self.body.addLayout(top)
        self.body.addLayout(check_row)
        self.body.addWidget(self.plot, 1)
        self.finish_layout()
        self._filling = False
        self._task: BackgroundTask | None = None
        self.last_check: TriggerCheck | None = None
        self.errors: dict[tuple[str, int], str] = {}  # (session, source index) → problem
        self.file_probes: dict[str, Probed] = {}  # trigger / timestamp files looked inside
        self._probing: set[str] = set()
        self._probe_tasks: list[BackgroundTask] = []
        self._generation = 0
        self._recheck = False

    def views(self) -> list[SessionView]:
        return [v for v in session_views(self.state.recipe) if v.spec.responses]

    def entries(self) -> list[tuple[SessionView, int]]:
        """(session, index of its response source): one choice per source."""
        return [(v, i) for v in self.views() for i in range(len(v.spec.responses))]

    def _entry(self) -> tuple[SessionView, int] | None:
        entries = self.entries()
        index = self.session.currentIndex()
        return entries[index] if 0 <= index < len(entries) else None

    def current_view(self) -> SessionView | None:
        entry = self._entry()
        return entry[0] if entry else None

    def current(self) -> ResponseSource | None:
        """The recipe's response source being edited (a template's is shared)."""
        entry = self._entry()
        return entry[0].spec.responses[entry[1]] if entry else None

    def load(self) -> None:
        self._filling = True
        recipe = self.state.recipe
        self.rate.setValue(recipe.frame_rate_hz)
        self.trace_method.setCurrentText(recipe.binning.trace_method)
        self.spike_unit.setCurrentText(recipe.binning.spike_unit)
        index = max(self.session.currentIndex(), 0)
        self.session.clear()
        for view, i in self.entries():
            shared = " — settings shared by all sessions of the pattern" if view.templated else ""
            source = view.spec.responses[i]
            count = len(view.spec.responses)
            part = f", file {i + 1} of {count}: {Path(source.path).name}" if count > 1 else ""
            self.session.addItem(f"{view.name} ({source.kind}{part}){shared}")
        self._filling = False
        self.session.setCurrentIndex(min(index, self.session.count() - 1))
        self._show_session()

    def _show_session(self) -> None:
        source = self.current()
        if source is None or self._filling:
            return
        self._filling = True
        times = source.frame_times
        self.kind.setCurrentIndex(list(SOURCES).index(times.kind))
        self.path.setText(times.path or "")
        self._fill_keys(times.key)
        self.sampling.setValue(times.sampling_rate_hz or 0.0)
        self.unit.setCurrentText(times.unit)
        self.unit.setEnabled(times.kind == "timestamps")
        self.threshold.setText("" if times.threshold is None else f"{times.threshold:g}")
        self.fill.setCurrentIndex(
            next(i for i, (_, v) in enumerate(REPAIRS) if v == times.fill_dropped)
        )
        binned = source.kind == "binned"
        for widget in (self.kind, self.path, self.key, self.sampling, self.threshold, self.fill):
            widget.setEnabled(not binned)
        self._filling = False
        self.plot.clear()
        if binned:
            self.report.setText(
                "Binned responses are already one value per frame: no frame times needed."
            )
        else:
            self.check()

    def _set_rate(self, value: float) -> None:
        if not self._filling:
            self.state.recipe.frame_rate_hz = value
            self.refresh()

    def _set_binning(self, name: str, value: str) -> None:
        if not self._filling:
            setattr(self.state.recipe.binning, name, value)

    def _edit(self) -> None:
        source = self.current()
        if source is None or self._filling:
            return
        times = source.frame_times
        times.kind = self.kind.currentData()
        path = self.path.text().strip() or None
        if path != times.path:  # another file: its arrays, and no stale lines
            times.path, times.key = path, None
            self.errors.clear()
            self.plot.clear()
            self._fill_keys(None)
        else:
            times.key = self.key.currentData()
        times.sampling_rate_hz = self.sampling.value() or None
        times.unit = self.unit.currentText()  # type: ignore[assignment]
        self.unit.setEnabled(times.kind == "timestamps")
        times.fill_dropped = self.fill.currentData()
        try:
            times.threshold = (
                float(self.threshold.text()) if self.threshold.text().strip() else None
            )
        except ValueError:
            self.report.setText("The threshold must be a number (or empty for automatic).")
        self.refresh()
        self.check()  # show what the new settings decide (re-runs are coalesced)

    def _epochs_of(self, key: tuple[str, int]) -> list[Epoch]:
        for view, index in self.entries():
            if (view.name, index) == key:
                return view.concrete.responses[index].epochs
        return []

    # --- the array inside the trigger / timestamp file ------------------------------

    def _times_file(self) -> Path | None:
        """The current source's trigger or timestamp file (the first session's, for a pattern)."""
        entry = self._entry()
        if entry is None:
            return None
        path = entry[0].concrete.responses[entry[1]].frame_times.path
        return self.state.recipe.resolve(path) if path and "{session}" not in path else None

    def _fill_keys(self, key: str | None) -> None:
        """The file's arrays with their shapes (probed once per file, in the background)."""
        filling, self._filling = self._filling, True
        self.key.clear()
        path = self._times_file()
        probed = self.file_probes.get(str(path)) if path else None
        if path is None:
            self.key.addItem("choose the file first", None)
        elif probed is None:
            self.key.addItem("looking inside the file…", key)
            self._probe(path)
        elif probed.info is None:
            self.key.addItem(f"cannot read the file: {probed.error}", key)
        else:
            variables = probed.info.variables
            if len(variables) == 1:
                self.key.addItem(f"{variables[0].key} {_shape(variables[0])} (the only one)", None)
            else:
                self.key.addItem("choose an array…", None)
                for variable in variables:
                    self.key.addItem(f"{variable.key} {_shape(variable)}", variable.key)
            if key is not None and self.key.findData(key) < 0:
                self.key.addItem(f"{key} (not in the file)", key)
        self.key.setCurrentIndex(max(self.key.findData(key), 0))
        self._filling = filling

    def _probe(self, path: Path) -> None:
        if str(path) in self._probing:
            return
        self._probing.add(str(path))
        task = BackgroundTask(lambda: probe_path(path), self)
        task.finished.connect(lambda probed: self._probed(str(path), probed))
        task.start()
        self._probe_tasks.append(task)

    def _probed(self, path: str, probed: Probed) -> None:
        self.file_probes[path] = probed
        self._probing.discard(path)
        source = self.current()
        if source is not None and str(self._times_file()) == path:
            self._fill_keys(source.frame_times.key)
        self.refresh()

    def key_problem(self) -> str:
        """Why the current source's Array choice cannot work ("" when it can or is unknown)."""
        source, path = self.current(), self._times_file()
        probed = self.file_probes.get(str(path)) if path else None
        if source is None or source.kind == "binned" or source.frame_times.kind == "rate":
            return ""
        if probed is None or probed.info is None:
            return ""
        variables = probed.info.variables
        key = source.frame_times.key
        chosen = variables[0] if key is None and len(variables) == 1 else probed.variable(key)
        what = "trigger channel" if source.frame_times.kind == "trigger" else "timestamps"
        if chosen is None:
            keys = ", ".join(v.key for v in variables)
            return (
                f"choose the Array that holds the {what} ({path.name if path else ''} has {keys})"
            )
        if sum(n > 1 for n in chosen.shape) > 1:
            return (
                f"the Array {chosen.key} {_shape(chosen)} is not one {what} series: "
                "choose a one-dimensional array"
            )
        return ""

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Trigger channel or timestamps")
        if path:
            self.path.setText(path)
            self._edit()

    def copy_to_all(self) -> None:
        """Give every session this session's timing settings (file paths stay their own)."""
        source = self.current()
        if source is None:
            return
        mine = source.frame_times
        for view in self.views():
            for other in view.spec.responses:
                if other is source or other.kind == "binned":
                    continue
                times = other.frame_times
                times.kind, times.key, times.sampling_rate_hz = (
                    mine.kind,
                    mine.key,
                    mine.sampling_rate_hz,
                )
                times.threshold, times.edge, times.fill_dropped = (
                    mine.threshold,
                    mine.edge,
                    mine.fill_dropped,
                )
                if mine.kind != "rate" and not times.path:
                    times.path = mine.path
        self.refresh()

    def check(self) -> None:
        """Decide the current source's frame times as convert will (its timing report), and
        for a trigger channel plot what was detected; both in the background."""
        entry = self._entry()
        source = self.current()
        if entry is None or source is None or source.kind == "binned":
            return
        times = source.frame_times
        if times.kind != "rate" and not times.path:
            self._show_report([], "", "Choose the trigger or timestamp file first.")
            return
        if times.kind == "trigger" and not times.sampling_rate_hz:
            self._show_report([], "", "Give the trigger channel's sampling rate first.")
            return
        if self._task is not None and self._task.running:
            self._recheck = True  # the settings changed while checking: check again after
            return
        self._recheck = False
        view, index = entry
        concrete = view.concrete.responses[index]
        recipe = self.state.recipe
        lengths = self.state.stimulus_lengths()
        if not all(e.stimulus in lengths for e in concrete.epochs):
            self._show_report(
                [], "", "The timing report needs the stimuli's lengths (Stimuli page)."
            )
            return
        key = (view.name, index)
        expected = sum(e.skip_frames + e.repeats * lengths[e.stimulus] for e in concrete.epochs)
        channel = concrete.frame_times.path if times.kind == "trigger" else None
        rate = float(times.sampling_rate_hz or 0.0)

        generation = self._generation

        def work() -> tuple[tuple[str, int], list[str], str, TriggerCheck | None, int]:
            lines, error = timing_report(recipe, view.concrete, index, lengths)
            plot = None
            if channel:
                try:
                    plot = check_trigger(
                        recipe.resolve(channel),
                        times.key,
                        rate,
                        times.threshold,
                        times.edge,
                        expected,
                    )
                except (OpenRetinaDataError, OSError, ValueError):
                    plot = None  # the report says what is wrong with the file
            return key, lines, error, plot, generation

        self.report.setText("Deciding the frame times…")
        self._task = BackgroundTask(work, self)
        self._task.finished.connect(self._show_check)
        self._task.failed.connect(self._check_failed)
        self._task.start()

    def _check_failed(self, error: BaseException) -> None:
        if self._recheck:
            self.check()
            return
        self._show_report([], gui_words(format_error(error)), "")

    def _show_report(self, lines: list[str], error: str, note: str) -> None:
        """The timing report (green), the problem that stops it (red) or a note (grey)."""
        if error:
            self.report.setText(
                "These frame times cannot be matched to the stimulus frames (the problem is "
                "listed below, with what to change). Convert on the Write page stays off "
                "until it is fixed."
            )
            role = "problem"
        elif lines:
            self.report.setText("\n".join(lines))
            role = "warning" if any(line.startswith("warning") for line in lines) else "ok"
        else:
            self.report.setText(note)
            role = "hint"
        self.report.setProperty("role", role)
        self.report.style().unpolish(self.report)
        self.report.style().polish(self.report)

    def _show_check(
        self, result: tuple[tuple[str, int], list[str], str, TriggerCheck | None, int]
    ) -> None:
        key, lines, error, plot, generation = result
        if generation != self._generation:
            return  # New conversion since it started
        if self._recheck:
            self.check()
            return
        if error:
            self.errors[key] = error
        else:
            self.errors.pop(key, None)
            for view, index in self.entries():  # seen and fine: no longer a guess
                if (view.name, index) == key:
                    self.state.guessed_timing.discard(view.spec.responses[index].path)
        self._show_report(lines, error, "")
        self.refresh()
        self.plot.clear()
        self.last_check = plot
        if plot is None:
            return
        self.plot.plot(plot.window_s, plot.window_signal, pen=pg.mkPen("#1f3a5f"))
        high = float(np.max(plot.window_signal)) if plot.window_signal.size else 1.0
        self.plot.plot(
            plot.edges_s,
            np.full(plot.edges_s.shape, high),
            pen=None,
            symbol="t",
            symbolBrush="#1e6b2e",
            symbolSize=8,
            name="detected frames",
        )
        for t in plot.dropped_s:
            self.plot.addItem(pg.InfiniteLine(t, angle=90, pen=pg.mkPen("#d62728", width=2)))
        if plot.window_s.size:
            self.plot.setXRange(float(plot.window_s[0]), float(plot.window_s[-1]), padding=0)
        hint = repeats_hint(self._epochs_of(key), self.state.stimulus_lengths(), plot.n_triggers)
        if hint:
            self.report.setText(f"{self.report.text()}\n{hint}")
        if plot.dropped_s.size:
            self.report.setText(
                self.report.text()
                + "\nRed lines in the plot mark a frame without its own trigger (a held frame "
                "or a missed trigger); the plot starts just before the first one."
            )

    def reset(self) -> None:
        super().reset()
        self.plot.clear()
        self.plot.enableAutoRange()
        self.last_check = None
        self._generation += 1  # a check still running belongs to the old conversion
        self._recheck = False
        self.errors.clear()
        self._show_report([], "", "Frame times from a fixed rate need no check.")
        self.session.clear()

    def problems(self) -> list[str]:
        problems = self.state.page_problems("timing")
        view, why = self.current_view(), self.key_problem()
        if view is not None and why:
            problems.append(f"Session '{view.name}': {why}.")
        problems += [f"Session '{name}': {error}" for (name, _), error in self.errors.items()]
        return problems
