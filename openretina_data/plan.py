"""Check a recipe against its sources before one byte is written.

:func:`plan` opens every source lazily (headers only; a trigger channel is scanned
when it is small enough), and collects *all* problems at once, each with a hint and a
severity, plus a summary: the sessions × stimuli table, neurons, frames, bytes to
write and a time estimate. :func:`~openretina_data.convert.convert` runs a plan first
and refuses to start while it has errors.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np

from openretina_data.convert_io import MovieAxes, open_array
from openretina_data.errors import OpenRetinaDataError
from openretina_data.layout.card import read_card
from openretina_data.layout.names import RESERVED_TEST_NAMES, validate_name
from openretina_data.recipe import (
    RESPONSE_UNITS,
    SESSION_TOKEN,
    Recipe,
    SessionSpec,
    StimulusSpec,
    expand_sessions,
    fill_session,
)
from openretina_data.responses_io import (
    SpikeReader,
    TraceReader,
    frames_needed,
    open_response_reader,
    read_info_column,
)

Severity = Literal["error", "warning"]
ASSUMED_BYTES_PER_S = 100e6  # conservative: convert measured 120-170 MB/s on a busy 2-core box
T = TypeVar("T")


@dataclass
class Problem:
    """One thing wrong (``error``: convert refuses) or worth a look (``warning``)."""

    severity: Severity
    message: str
    hint: str = ""
    session: str | None = None
    path: str | None = None
    key: str | None = None

    def __str__(self) -> str:
        where = ", ".join(
            f"{label} {value!r}"
            for label, value in (("session", self.session), ("file", self.path), ("key", self.key))
            if value
        )
        text = f"{self.severity}: {self.message}" + (f" [{where}]" if where else "")
        return text + (f"\n  hint: {self.hint}" if self.hint else "")


@dataclass
class StimulusPlan:
    """A stimulus as it will be written: ``shape`` is ``(channels, time, height, width)``."""

    name: str
    split: str
    shared: bool
    shape: tuple[int, int, int, int] | None
    source: str | None


@dataclass
class SessionPlan:
    """A session as it will be written."""

    name: str
    neurons: int | None
    stimuli: dict[str, int]  # stimulus -> repeats
    frames: dict[str, int]  # stimulus -> frames written (after the lag)
    timing: list[str] = field(default_factory=list)  # frame-time reports


@dataclass
class ConversionPlan:
    """Everything :func:`plan` found; ``ok`` when there is no error."""

    recipe: Recipe
    output: Path
    stimuli: list[StimulusPlan]
    sessions: list[SessionPlan]
    problems: list[Problem]
    bytes_to_write: int = 0
    bytes_to_read: int = 0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def seconds_estimate(self) -> float:
        return (self.bytes_to_write + self.bytes_to_read) / ASSUMED_BYTES_PER_S

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "output": os.fspath(self.output),
            "problems": [asdict(p) for p in self.problems],
            "stimuli": [asdict(s) for s in self.stimuli],
            "sessions": [asdict(s) for s in self.sessions],
            "bytes_to_write": self.bytes_to_write,
            "bytes_to_read": self.bytes_to_read,
            "seconds_estimate": round(self.seconds_estimate, 1),
        }

    def summary(self) -> str:
        """The sessions × stimuli table and totals, as plain text."""
        names = [s.name for s in self.stimuli]
        width = max([len("session"), *(len(s.name) for s in self.sessions)]) + 2
        lines = [f"output: {self.output}"]
        header = "session".ljust(width) + "neurons  " + "  ".join(names)
        lines.append(header)
        for session in self.sessions:
            cells = []
            for name in names:
                if name not in session.frames:
                    cell = "-"
                else:
                    repeats = session.stimuli[name]
                    cell = f"{session.frames[name]}" + (f"x{repeats}" if repeats > 1 else "")
                cells.append(cell.rjust(len(name)))
            neurons = "?" if session.neurons is None else str(session.neurons)
            lines.append(session.name.ljust(width) + neurons.rjust(7) + "  " + "  ".join(cells))
        for session in self.sessions:
            lines.extend(f"{session.name}: {line}" for line in session.timing)
        lines.append(
            f"{len(self.sessions)} sessions, {len(self.stimuli)} stimuli, "
            f"{self.bytes_to_write / 1e6:.1f} MB to write, about {self.seconds_estimate:.0f} s"
        )
        lines.extend(str(p) for p in self.problems)
        return "\n".join(lines)


class _Collector:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, severity: Severity, message: str, hint: str = "", **where: Any) -> None:
        self.problems.append(
            Problem(severity, message, hint, **{k: _text(v) for k, v in where.items()})
        )

    def attempt(self, action: Callable[[], T], *, session: str | None = None) -> T | None:
        """Run ``action``; record our errors as problems and return ``None``."""
        try:
            return action()
        except OpenRetinaDataError as error:
            self.problems.append(
                Problem(
                    "error",
                    error.message,
                    error.hint,
                    error.session or session,
                    error.path,
                    error.key,
                )
            )
            return None


def _text(value: Any) -> str | None:
    return None if value is None else os.fspath(value) if isinstance(value, Path) else str(value)


def plan(
    recipe: Recipe, *, overwrite: bool = False, append: bool = False, session: str | None = None
) -> ConversionPlan:
    """Check ``recipe`` against its sources; nothing is written.

    Parameters
    ----------
    overwrite, append
        What the conversion will be allowed to do with an existing output folder.
    session
        Check only this session (the others' sources are not opened).
    """
    found = _Collector()
    output = recipe.resolve(recipe.output).absolute()
    _check_output(recipe, output, found, overwrite=overwrite, append=append)
    _check_names(recipe, found)
    sessions = found.attempt(lambda: expand_sessions(recipe)) or []
    if session is not None:
        sessions = [s for s in sessions if s.name == session]
        if not sessions:
            found.add("error", f"no session named {session!r}", "See the session names in `plan`.")
    elif not sessions:
        found.add("error", "the recipe has no sessions", "Add a session, or check session_pattern.")
    stimuli = [_plan_stimulus(recipe, spec, sessions, found) for spec in recipe.stimuli]
    movie_frames = {s.name: s.shape[1] for s in stimuli if s.shape is not None}
    _check_frame_sizes(stimuli, found)
    session_plans = [_plan_session(recipe, session, movie_frames, found) for session in sessions]
    _check_unique_sessions([s.name for s in sessions], found)
    result = ConversionPlan(recipe, output, stimuli, session_plans, found.problems)
    _estimate_bytes(recipe, result)
    _check_free_space(output, result.bytes_to_write, found)
    return result


def _check_free_space(output: Path, needed: int, found: _Collector) -> None:
    """Refuse a dataset larger than the output disk's free space (absurd headers included)."""
    folder = output.parent
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    if needed > free:
        found.add(
            "error",
            f"the dataset needs about {needed / 1e9:.3g} GB, the output disk has {free / 1e9:.3g} GB free",
            "Free space or write elsewhere; if the size looks absurd, check the stimulus shapes.",
            path=output,
        )


def _check_output(
    recipe: Recipe, output: Path, found: _Collector, *, overwrite: bool, append: bool
) -> None:
    blocking = next((p for p in [output, *output.parents] if p.exists() and not p.is_dir()), None)
    if blocking is not None and blocking != output:
        found.add(
            "error",
            "a file stands where a folder of the output path should be",
            "Choose another output path.",
            path=blocking,
        )
    elif not output.parent.is_dir():
        found.add("warning", "the output's parent folders will be created", "", path=output.parent)
    for spec in recipe.stimuli:
        source = recipe.resolve(spec.path).absolute()
        if source == output or output in source.parents:
            found.add(
                "error",
                "the output folder holds a source file",
                "Write the dataset elsewhere.",
                path=source,
            )
    if output.exists() and any(output.iterdir()) if output.is_dir() else output.exists():
        if append:
            if read_card(output) is None:
                found.add(
                    "warning", "appending to a folder without a dataset card", "", path=output
                )
        elif not overwrite:
            found.add(
                "error",
                "the output folder already exists",
                "Pass --overwrite to replace it, or --append to add sessions to it.",
                path=output,
            )
    elif append:
        found.add(
            "error",
            "there is no dataset to append to",
            "Convert without --append first.",
            path=output,
        )


def _check_names(recipe: Recipe, found: _Collector) -> None:
    seen: dict[str, str] = {}
    for spec in recipe.stimuli:
        found.attempt(partial(validate_name, spec.name, kind="stimulus"))
        if spec.name.casefold() in seen:
            found.add(
                "error",
                f"stimulus name {spec.name!r} is used twice",
                "Give every stimulus its own name.",
            )
        seen[spec.name.casefold()] = spec.name
        if spec.split == "test" and spec.name.casefold() in RESERVED_TEST_NAMES:
            found.add(
                "error",
                f"test stimulus {spec.name!r} has a split's name",
                "Rename it, e.g. 'test_movie'.",
            )
        if not spec.shared and SESSION_TOKEN not in spec.path:
            found.add(
                "error",
                f"session-specific stimulus {spec.name!r} has no {SESSION_TOKEN} in its path",
                "Put {session} where the session name goes, or set shared: true.",
            )
    if not any(s.split == "train" for s in recipe.stimuli):
        found.add("error", "no training stimulus", "Mark at least one stimulus as split: train.")
    if recipe.frame_rate_hz <= 0:
        found.add(
            "error",
            f"frame_rate_hz must be positive, got {recipe.frame_rate_hz}",
            "State the rate in Hz.",
        )
    if recipe.lag_frames < 0:
        found.add("error", "lag_frames cannot be negative", "Use 0 or a positive number of frames.")
    norm = recipe.normalisation
    if norm.mode == "given" and (norm.mean is None or norm.std is None or norm.std <= 0):
        found.add(
            "error",
            "normalisation mode given needs mean and a positive std",
            "Fill in mean and std.",
        )
    for session in recipe.sessions:
        for source in session.responses:
            allowed = RESPONSE_UNITS.get(source.kind, ())
            if source.unit not in allowed:
                found.add(
                    "error",
                    f"unit {source.unit!r} does not fit {source.kind} responses",
                    f"Use one of: {', '.join(allowed)}.",
                    session=session.name,
                    path=source.path,
                )
    units = {recipe.response_unit(r) for s in recipe.sessions for r in s.responses}
    if len(units) > 1:
        found.add(
            "error",
            f"sessions give different response units {sorted(units)}",
            "Use one unit for the dataset.",
        )


def _plan_stimulus(
    recipe: Recipe, spec: StimulusSpec, sessions: list[SessionSpec], found: _Collector
) -> StimulusPlan:
    paths = (
        [recipe.resolve(spec.path)]
        if spec.shared
        else [recipe.resolve(fill_session(spec, s.name).path) for s in sessions]
    )
    shapes = set()
    for path in paths:
        shape = found.attempt(partial(_movie_shape, path, spec))
        if shape is not None:
            shapes.add(shape)
    if len(shapes) > 1:
        found.add(
            "error",
            f"session movies of {spec.name!r} differ in shape: {sorted(shapes)}",
            "Convert them separately.",
        )
    shape = shapes.pop() if len(shapes) == 1 else None
    if shape is not None and shape[1] <= recipe.lag_frames:
        found.add(
            "error",
            f"stimulus {spec.name!r} has {shape[1]} frames, not more than lag_frames",
            "Lower lag_frames.",
        )
    if shape is not None:
        shape = (shape[0], shape[1] - max(recipe.lag_frames, 0), shape[2], shape[3])
    return StimulusPlan(spec.name, spec.split, spec.shared, shape, spec.path)


def _movie_shape(path: Path, spec: StimulusSpec) -> tuple[int, int, int, int]:
    reader, array = open_array(path, spec.key, spec.format)
    try:
        return MovieAxes.check(spec.axes, array.shape, where=f"stimuli.{spec.name}.axes").out_shape
    finally:
        reader.close()


def _check_frame_sizes(stimuli: list[StimulusPlan], found: _Collector) -> None:
    sizes = {(s.shape[0], s.shape[2], s.shape[3]) for s in stimuli if s.shape is not None}
    if len(sizes) > 1:
        found.add(
            "error",
            f"stimuli differ in (channels, height, width): {sorted(sizes)}",
            "Resize or crop every stimulus to one frame size, or check the axes letters.",
        )


def _plan_session(
    recipe: Recipe, session: SessionSpec, movie_frames: dict[str, int], found: _Collector
) -> SessionPlan:
    name = session.name
    found.attempt(lambda: validate_name(name, kind="session"), session=name)
    result = SessionPlan(name, None, {}, {})
    neurons: set[int] = set()
    unit_ids = None
    for index, source in enumerate(session.responses):
        unknown = [
            e.stimulus for e in source.epochs if e.stimulus not in {s.name for s in recipe.stimuli}
        ]
        if unknown:
            found.add(
                "error",
                f"epochs name unknown stimuli {unknown}",
                "Add them to `stimuli`.",
                session=name,
            )
            continue
        for epoch in source.epochs:
            if epoch.stimulus in result.stimuli:
                found.add(
                    "error",
                    f"stimulus {epoch.stimulus!r} is shown twice",
                    "List it once, with repeats.",
                    session=name,
                )
            if epoch.repeats < 1 or epoch.skip_frames < 0:
                found.add(
                    "error",
                    "repeats must be ≥ 1 and skip_frames ≥ 0",
                    "",
                    session=name,
                    key=epoch.stimulus,
                )
            if epoch.repeats > 1 and recipe.stimulus(epoch.stimulus).split != "test":
                found.add(
                    "warning",
                    f"training stimulus {epoch.stimulus!r} has repeats; they are averaged",
                    "",
                    session=name,
                )
            result.stimuli[epoch.stimulus] = epoch.repeats
            if epoch.stimulus in movie_frames:
                result.frames[epoch.stimulus] = movie_frames[epoch.stimulus] - recipe.lag_frames
        if any(e.stimulus not in movie_frames for e in source.epochs):
            continue  # the stimulus problem is already listed
        opened = found.attempt(
            partial(open_response_reader, source, recipe, movie_frames, session=name),
            session=name,
        )
        if opened is None:
            continue
        reader, frames = opened
        try:
            neurons.add(reader.n_neurons)
            if isinstance(reader, SpikeReader):
                unit_ids = reader.unit_ids
                _check_spike_coverage(reader, found, name, source.path, result.timing)
            if isinstance(reader, TraceReader):
                span = reader.n_samples / reader.rate
                before = int(reader.edges[0] * reader.rate)
                after = max(reader.n_samples - int(np.ceil(reader.edges[-1] * reader.rate)), 0)
                result.timing.append(
                    f"traces cover 0..{span:.3f} s ({reader.n_samples} samples at {reader.rate:g} Hz); "
                    f"frames {reader.edges[0]:.3f}..{reader.edges[-1]:.3f} s; {before} samples before "
                    f"and {after} after the frames are not used"
                )
            needed = frames_needed(source, movie_frames)
            if reader.frames_available is not None:
                _compare_frames(reader.frames_available, needed, found, name, source.path)
            if frames is not None:
                result.timing.extend(
                    f"responses[{index}]: {line}" for line in frames.summary().splitlines()
                )
                if frames.dropped_frames.size and frames.filled:
                    found.add(
                        "warning",
                        f"{frames.dropped_frames.size} dropped frame(s) (first at frame "
                        f"{int(frames.dropped_frames[0])}) had no trigger; their times were interpolated",
                        "Look at the alignment check in the wizard if this was not expected.",
                        session=name,
                        path=source.frame_times.path,
                    )
                for warning in frames.warnings:
                    found.add(
                        "warning",
                        warning,
                        "Check the trigger channel; repairs are listed in the timing report.",
                        session=name,
                        path=source.path,
                    )
        finally:
            reader.close()
    if len(neurons) > 1:
        found.add(
            "error",
            f"response sources give different neuron counts {sorted(neurons)}",
            "",
            session=name,
        )
    result.neurons = neurons.pop() if len(neurons) == 1 else None
    for info in session.session_info:
        column = found.attempt(
            partial(
                read_info_column,
                recipe.resolve(info.path),
                info.key,
                info.format,
                session=name,
                unit_ids=unit_ids,
            ),
            session=name,
        )
        if column is not None and result.neurons is not None and len(column) != result.neurons:
            found.add(
                "error",
                f"session_info {info.name!r} has {len(column)} rows for {result.neurons} neurons",
                "",
                session=name,
                path=info.path,
            )
    if not any(source.epochs for source in session.responses):
        found.add(
            "error", "the session shows no stimuli", "Add epochs to its responses.", session=name
        )
    elif result.stimuli and all(recipe.stimulus(s).split == "test" for s in result.stimuli):
        found.add(
            "error",
            "every stimulus of the session is a test stimulus",
            "Add a training stimulus.",
            session=name,
        )
    return result


def _check_unique_sessions(names: list[str], found: _Collector) -> None:
    seen: dict[str, str] = {}
    for name in names:
        if name.casefold() in seen:
            found.add(
                "error",
                f"session names {seen[name.casefold()]!r} and {name!r} clash",
                "Give every session its own name (letter case does not count).",
                session=name,
            )
        seen[name.casefold()] = name


def _check_spike_coverage(
    reader: SpikeReader, found: _Collector, session: str, path: str, timing: list[str]
) -> None:
    """Do the spike times fall on the frames? A wrong unit or rate shows up here."""
    trains = reader.trains
    span = trains.span_s()
    if span is None:
        found.add("warning", "the spike sorting holds no spikes", "", session=session, path=path)
        return
    first, last = span
    start, stop = float(reader.edges[0]), float(reader.edges[-1])
    inside = trains.count_in(start, stop)
    share = inside / trains.n_spikes
    timing.append(
        f"spikes from {first:.3f} s to {last:.3f} s; frames from {start:.3f} s to {stop:.3f} s; "
        f"{inside} of {trains.n_spikes} spikes ({share:.0%}) fall on frames"
    )
    if inside == 0:
        found.add(
            "error",
            f"no spike falls on a stimulus frame: spikes span {first:.3f}..{last:.3f} s, "
            f"frames {start:.3f}..{stop:.3f} s",
            "Check the spike time unit and sampling_rate_hz, and the frame times (trigger, start_s).",
            session=session,
            path=path,
        )
    elif share < 0.1:
        found.add(
            "warning",
            f"only {share:.1%} of the spikes fall on stimulus frames "
            f"(spikes {first:.3f}..{last:.3f} s, frames {start:.3f}..{stop:.3f} s)",
            "Check the spike time unit and sampling_rate_hz if this is not expected.",
            session=session,
            path=path,
        )


def _compare_frames(
    available: int, needed: int, found: _Collector, session: str, path: str
) -> None:
    if available < needed:
        found.add(
            "error",
            f"the responses have {available} frames but the epochs need {needed}",
            "Check the epochs (repeats, skip_frames) and the stimulus lengths.",
            session=session,
            path=path,
        )
    elif available > needed:
        found.add(
            "warning",
            f"the responses have {available - needed} frames more than the epochs use; they are ignored",
            "",
            session=session,
            path=path,
        )


def _estimate_bytes(recipe: Recipe, result: ConversionPlan) -> None:
    itemsize = 1 if recipe.dtype == "uint8" else 4
    total = 0
    for stimulus in result.stimuli:
        if stimulus.shape is not None:
            c, t, h, w = stimulus.shape
            copies = 1 if stimulus.shared else len(result.sessions)
            total += copies * c * t * h * w * itemsize
    for session in result.sessions:
        for name, frames in session.frames.items():
            repeats = session.stimuli[name]
            trials = repeats if repeats > 1 and recipe.repeats.store_trials else 0
            total += (session.neurons or 0) * frames * 4 * (1 + trials)
    result.bytes_to_write = total
    result.bytes_to_read = total


def iter_problems(plan_result: ConversionPlan) -> Iterator[Problem]:
    """Errors first, then warnings."""
    yield from plan_result.errors
    yield from plan_result.warnings
