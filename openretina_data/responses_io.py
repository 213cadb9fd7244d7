"""Response sources read frame-slab by frame-slab: binned arrays, spike times, traces.

Each reader turns one :class:`~openretina_data.recipe.ResponseSource` into values per
stimulus frame, ``(neurons, frames)`` float32, for any frame range ``f0:f1`` of the
recording's frame clock, so memory stays bounded whatever the recording length.
The values come from the core: :class:`~openretina_data.spike_trains.SpikeTrains`
(the sources' Kilosort/NWB readers) with :func:`~openretina_data.timing.bin_spikes`
per slab, :func:`~openretina_data.timing.resample_traces` per slab of trace samples,
and frame times from the timing functions (rate, timestamps, trigger channel).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

import numpy as np

from openretina_data.convert_io import open_array
from openretina_data.errors import (
    MissingKeyError,
    OpenRetinaDataError,
    RecipeError,
    ShapeError,
    SourceNotFoundError,
    TimingError,
)
from openretina_data.recipe import FrameTimes as FrameTimesSpec
from openretina_data.recipe import Recipe, ResponseSource
from openretina_data.sources.base import SourceReader
from openretina_data.sources.suite2p import Suite2pReader
from openretina_data.sources.table import parse_id, read_table
from openretina_data.spike_trains import SpikeTrains, seconds_per_tick
from openretina_data.timing import detect_edges, resample_traces
from openretina_data.timing._report import count
from openretina_data.timing.report import TimingReport
from openretina_data.timing.schedule import Run, ScheduledFrames, schedule_frames, segments_for

#: Frame edges this close (in samples) to a trace sample are put on it.
EDGE_TOLERANCE_SAMPLES = 1e-6


def frames_needed(source: ResponseSource, stimulus_frames: dict[str, int]) -> int:
    """Frames the source's epochs span: sum of skips plus repeats × movie length."""
    return sum(e.skip_frames + e.repeats * stimulus_frames[e.stimulus] for e in source.epochs)


class ResponseReader:
    """Base: ``n_neurons``, ``frames_available`` and ``read(f0, f1)``."""

    n_neurons: int
    frames_available: int | None = None  # binned sources only
    bytes_in: int = 0
    unit_ids: np.ndarray | None = None  # sorted spikes: the kept units' ids, in row order
    rows: np.ndarray | None = None  # traces with unit_filter: the source rows kept

    def read(self, start: int, stop: int) -> np.ndarray:
        """Values for frames ``start:stop``: ``(neurons, stop - start)`` float32."""
        raise NotImplementedError

    def close(self) -> None:
        """Release file handles."""


class _NeuronsByTime:
    """A 2-D array stored with axes ``nt`` or ``tn``, read a range of time steps at a time."""

    def __init__(
        self, source: ResponseSource, path: Path, what: str, *, session: str | None
    ) -> None:
        self.reader, self.array = open_array(path, source.key, source.format, session=session)
        if source.axes not in ("nt", "tn") or self.array.ndim != 2:
            self.reader.close()
            raise ShapeError(
                f"{what} need a 2-D array with axes nt or tn; got shape {self.array.shape} "
                f"with axes {source.axes!r}",
                path=path,
                session=session,
                hint="Set axes: nt for (neurons, time) or tn for (time, neurons).",
            )
        self.axes = source.axes
        self.n_neurons = self.array.shape[source.axes.index("n")]
        self.n_times = self.array.shape[source.axes.index("t")]

    def columns(self, first: int, last: int) -> np.ndarray:
        """Time steps ``first:last`` of every neuron: ``(neurons, last - first)``."""
        return self.array[:, first:last] if self.axes == "nt" else self.array[first:last, :].T


class BinnedReader(ResponseReader):
    """An array already holding one value per frame, ``nt`` or ``tn`` axes."""

    def __init__(self, source: ResponseSource, path: Path, *, session: str | None = None) -> None:
        self.data = _NeuronsByTime(source, path, "binned responses", session=session)
        self.n_neurons = self.data.n_neurons
        self.frames_available = self.data.n_times
        self.bytes_in = self.data.array.nbytes

    def read(self, start: int, stop: int) -> np.ndarray:
        return np.asarray(self.data.columns(start, stop), dtype=np.float32)

    def close(self) -> None:
        self.data.reader.close()


class SpikeReader(ResponseReader):
    """Spike times counted on frame bins (optionally divided into Hz), a slab at a time."""

    def __init__(
        self,
        source: ResponseSource,
        path: Path,
        frames: ScheduledFrames,
        recipe: Recipe,
        *,
        session: str | None = None,
    ) -> None:
        self.trains = SpikeTrains.open(source, path, session=session)
        self.unit_ids = self.trains.unit_ids
        self.n_neurons = int(self.unit_ids.size)
        self.bytes_in = self.trains.bytes_in
        self.frames = frames
        self.as_rate = recipe.binning.spike_unit == "Hz"

    def read(self, start: int, stop: int) -> np.ndarray:
        edges, take = self.frames.bins(start, stop)
        return self.trains.bin(edges, as_rate=self.as_rate)[:, take]

    def close(self) -> None:
        self.trains.close()


class TraceReader(ResponseReader):
    """Continuous traces at their own rate, resampled onto frames (linear or area)."""

    def __init__(
        self,
        source: ResponseSource,
        path: Path,
        frames: ScheduledFrames,
        recipe: Recipe,
        *,
        session: str | None = None,
    ) -> None:
        if not source.sampling_rate_hz or source.sampling_rate_hz <= 0:
            raise RecipeError(
                "traces need sampling_rate_hz",
                path=path,
                session=session,
                hint="State the imaging / recording rate of the traces in Hz.",
            )
        self.data = _NeuronsByTime(source, path, "traces", session=session)
        try:
            self.rows = _kept_rows(self.data.reader, source, path, session)
        except BaseException:
            self.data.reader.close()
            raise
        self.rate = float(source.sampling_rate_hz)
        self.n_samples = self.data.n_times
        self.n_neurons = self.data.n_neurons if self.rows is None else self.rows.size
        self.bytes_in = self.data.array.nbytes
        self.frames = frames
        self.method = recipe.binning.trace_method
        duration = self.n_samples / self.rate
        first, last = float(frames.starts[0]), float(frames.stops[-1])
        if last > duration + 1e-9 or first < 0:
            self.data.reader.close()
            raise TimingError(
                f"the frames run from {first:.3f} s to {last:.3f} s but the traces cover "
                f"0 .. {duration:.3f} s ({self.n_samples} samples at {self.rate:g} Hz)",
                path=path,
                session=session,
                hint="Check sampling_rate_hz and the frame times (start_s, trigger channel).",
            )

    def _samples(self, first: int, last: int) -> np.ndarray:
        block = self.data.columns(first, last)
        return block if self.rows is None else block[self.rows]

    def read(self, start: int, stop: int) -> np.ndarray:
        edges, take = self.frames.bins(start, stop)
        first = max(int(math.floor(edges[0] * self.rate)) - 1, 0)
        last = min(int(math.ceil(edges[-1] * self.rate)) + 2, self.n_samples)
        first = min(first, max(last - 2, 0))  # interpolation needs two samples
        block = self._samples(first, last)
        # Samples keep their times in the whole recording, and an edge within 1e-6 samples
        # of a sample is put on it: floating-point noise cannot move a sample across frames.
        resample = partial(
            resample_traces,
            block,
            edges,
            sampling_rate_hz=self.rate,
            first_sample=first,
            edge_tolerance_samples=EDGE_TOLERANCE_SAMPLES,
        )
        method: Literal["linear", "mean"] = "mean" if self.method == "area" else "linear"
        resampled = resample(method=method)
        values = resampled.values
        outside = resampled.frames_without_samples
        if outside.size and method == "mean":  # slower sampling than frames: interpolate those
            linear = resample(method="linear")
            values[:, outside] = linear.values[:, outside]
            outside = linear.frames_without_samples
        if outside.size:  # a last frame centre within one sample past the trace's end
            values[:, outside] = block[:, -1:]
        return values[:, take]

    def close(self) -> None:
        self.data.reader.close()


def _kept_rows(
    reader: SourceReader, source: ResponseSource, path: Path, session: str | None
) -> np.ndarray | None:
    """Rows (ROIs) that ``unit_filter`` keeps: suite2p's ``iscell`` says "cell" or "not_cell"."""
    if not source.unit_filter:
        return None
    if not isinstance(reader, Suite2pReader) or "iscell" not in reader.files:
        raise RecipeError(
            f"unit_filter {source.unit_filter} needs cell labels, and {path.name} has none",
            path=path,
            session=session,
            key="unit_filter",
            hint="Filter traces only in a suite2p plane folder with iscell.npy "
            "(unit_filter: [cell]); otherwise empty unit_filter.",
        )
    iscell = np.asarray(reader.array("iscell"))
    labels = np.where(iscell.reshape(iscell.shape[0], -1)[:, 0] > 0.5, "cell", "not_cell")
    unknown = set(source.unit_filter) - {"cell", "not_cell"}
    if unknown:
        raise RecipeError(
            f"suite2p ROIs are labelled cell or not_cell, not {sorted(unknown)}",
            path=path,
            session=session,
            key="unit_filter",
            hint="Write unit_filter: [cell] to keep the ROIs suite2p classified as cells.",
        )
    return np.flatnonzero(np.isin(labels, source.unit_filter))


#: The measured frame rate may differ from the recipe's by this fraction.
RATE_TOLERANCE = 0.01


@dataclass(frozen=True)
class SourceTiming:
    """The frame times of one response source matched to its epochs, and their report."""

    frames: ScheduledFrames
    report: TimingReport

    def summary(self) -> str:
        """The report, one line per fact (for logs and session attrs)."""
        return "\n".join(self.report.lines())


def frame_times_for(
    source: ResponseSource,
    recipe: Recipe,
    stimulus_frames: dict[str, int],
    *,
    session: str | None = None,
) -> SourceTiming:
    """Frame times on the response clock for the source's epochs, as the recipe says.

    Triggers / timestamps are matched to the epochs' segments
    (:func:`~openretina_data.timing.schedule.schedule_frames`: pauses, held and missed
    frames decided by the counts), and the measured frame rate must agree with
    ``frame_rate_hz`` within :data:`RATE_TOLERANCE`.
    """
    spec = source.frame_times
    segments = segments_for(
        [(e.stimulus, stimulus_frames[e.stimulus], e.repeats, e.skip_frames) for e in source.epochs]
    )
    needed = sum(s.n_frames for s in segments)
    if spec.kind == "rate":
        rate = _checked_rate(recipe.frame_rate_hz, "frame_rate_hz", session)
        starts = spec.start_s + np.arange(needed, dtype=np.float64) / rate
        frames = ScheduledFrames(
            starts=starts,
            stops=starts + 1.0 / rate,
            segments=tuple(segments),
            runs=(Run(0, needed, float(starts[0]), float(starts[-1] + 1 / rate), 1 / rate),),
            held_frames=np.zeros(0, np.int64),
            interpolated_frames=np.zeros(0, np.int64),
            period_s=1.0 / rate,
            triggers=starts,
            decision=f"{needed} frames at a constant {rate:.6g} Hz from {spec.start_s:g} s",
        )
        report = TimingReport.from_frames(
            frames, source="rate", path=None, frame_rate_hz=rate, fill_dropped=spec.fill_dropped
        )
        return SourceTiming(frames, report)
    if not spec.path:
        raise RecipeError(
            f"frame_times kind {spec.kind!r} needs a path",
            session=session,
            key="frame_times.path",
            hint="Give the file holding the trigger channel or the timestamps.",
        )
    path = recipe.resolve(spec.path)
    reader, array = open_array(path, spec.key, None, session=session)
    try:
        with _located(path, session):
            notes: list[str] = []
            if spec.kind == "timestamps":
                scale = seconds_per_tick(
                    spec.unit, spec.sampling_rate_hz, path=path, session=session
                )
                onsets = np.asarray(array[...], dtype=np.float64).reshape(-1) * scale
                _check_onsets(onsets, "timestamps")
            else:
                if not spec.sampling_rate_hz or spec.sampling_rate_hz <= 0:
                    raise RecipeError(
                        "a trigger channel needs sampling_rate_hz",
                        path=path,
                        session=session,
                        key="frame_times.sampling_rate_hz",
                        hint="State the acquisition rate of the trigger channel in Hz.",
                    )
                # the channel is read in blocks
                onsets = detect_edges(
                    array,
                    spec.sampling_rate_hz,
                    threshold=spec.threshold,
                    edge=spec.edge,
                    debounce_s=spec.debounce_s,
                )
                notes.append(
                    f"{count(onsets.size)} {spec.edge} edges detected at "
                    f"{spec.sampling_rate_hz:.6g} Hz"
                )
                if onsets.size < 2:
                    raise TimingError(
                        f"found {onsets.size} {spec.edge} edges in the trigger channel; "
                        "need at least 2",
                        hint="Check the channel, the threshold and the edge direction.",
                    )
            onsets, dropped = _without_duplicates(
                onsets, spec.drop_duplicates, recipe.frame_rate_hz
            )
            frames = schedule_frames(onsets, segments, fill_dropped=spec.fill_dropped)
            _check_measured_rate(frames.frame_rate_hz, recipe.frame_rate_hz, spec)
    finally:
        reader.close()
    report = TimingReport.from_frames(
        frames,
        source=spec.kind,
        path=spec.path,
        frame_rate_hz=recipe.frame_rate_hz,
        fill_dropped=spec.fill_dropped,
        duplicates_dropped=dropped,
        notes=tuple(notes),
    )
    return SourceTiming(frames, report)


def _checked_rate(rate: float, key: str, session: str | None) -> float:
    if not math.isfinite(rate) or rate <= 0:
        raise RecipeError(
            f"{key} must be a positive number of Hz, got {rate!r}",
            session=session,
            key=key,
            hint="State the stimulus frame rate in Hz, e.g. 30.",
        )
    return float(rate)


def _check_onsets(onsets: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(onsets)):
        bad = int(np.flatnonzero(~np.isfinite(onsets))[0])
        raise TimingError(
            f"the {what} hold NaN/Inf values, first at index {bad}",
            hint=f"Remove the NaN/Inf entries from the {what}.",
        )
    steps = np.diff(onsets)
    if np.any(steps <= 0):
        first = int(np.flatnonzero(steps <= 0)[0])
        raise TimingError(
            f"the {what} must increase; entry {first + 1} ({onsets[first + 1]:.6g} s) is not "
            f"after entry {first} ({onsets[first]:.6g} s)",
            hint="Give one onset per frame in time order (not durations, not sorted by "
            "another key).",
        )


def _without_duplicates(
    onsets: np.ndarray, drop: bool, frame_rate_hz: float
) -> tuple[np.ndarray, int]:
    """Onsets with bounces (edges less than 0.75 frame after the last kept one) removed when
    asked; refused with the fix when not.

    The frame is the recipe's. Only a mix of short and frame-long intervals is bounce: when
    (nearly) every interval is short, the rate is wrong and the rate check says so.
    """
    shortest = 0.75 / frame_rate_hz
    steps = np.diff(onsets)
    short = steps < shortest
    if not short.any() or np.count_nonzero(~short) < 0.5 * np.count_nonzero(short) / 4:
        return onsets, 0
    keep = np.ones(onsets.size, dtype=bool)
    last = onsets[0]
    for i in (np.flatnonzero(short) + 1).tolist():  # visits only the suspects
        previous = i - 1
        while not keep[previous]:
            previous -= 1
        last = onsets[previous]
        if onsets[i] - last < shortest:
            keep[i] = False
    if drop:
        return onsets[keep], int((~keep).sum())
    first = int(np.flatnonzero(short)[0]) + 1
    raise TimingError(
        f"{count(int((~keep).sum()))} of {count(onsets.size)} frame times come less than 0.75 "
        f"frame after the previous one (first: entry {first} at {onsets[first]:.6g} s): "
        "duplicate triggers (a bouncing or ringing trigger line)",
        key="frame_times.drop_duplicates",
        hint="Set drop_duplicates: true or raise debounce_s (e.g. to half a frame) to ignore "
        "them, or raise the threshold.",
    )


def _check_measured_rate(measured: float, declared: float, spec: FrameTimesSpec) -> None:
    """The frame times' rate must be the recipe's ``frame_rate_hz`` (within 1 %)."""
    if spec.rate_tolerance is None or abs(measured / declared - 1) <= spec.rate_tolerance:
        return
    ratio = measured / declared
    if spec.kind == "trigger" and spec.sampling_rate_hz:
        likely = (
            f"the trigger channel's sampling_rate_hz ({spec.sampling_rate_hz:.6g} Hz) is "
            f"probably wrong: with {float(f'{spec.sampling_rate_hz / ratio:.4g}'):.10g} Hz the frames would "
            f"come at {declared:.6g} Hz"
        )
        key = "frame_times.sampling_rate_hz"
    else:
        declared_tick = {"s": 1.0, "ms": 1e-3}.get(spec.unit)
        units = {1.0: "s", 1e-3: "ms", 1e-6: "us"}
        unit = None
        if declared_tick is not None:  # the tick length that would give frame_rate_hz
            needed_tick = declared_tick * ratio
            unit = next((u for t, u in units.items() if abs(needed_tick / t - 1) < 0.05), None)
        likely = (
            f"the timestamps are probably in {unit}, not {spec.unit} (set unit: {unit})"
            if unit
            else f"check the timestamps' unit ({spec.unit}) and sampling_rate_hz"
        )
        key = "frame_times.unit"
    raise TimingError(
        f"the frame times give {measured:.6g} Hz frames but frame_rate_hz is {declared:.6g} Hz "
        f"({ratio:.4g}x): {likely}",
        key=key,
        hint="Fix the setting named above, or correct frame_rate_hz; set "
        "frame_times.rate_tolerance: null to accept the measured rate.",
    )


@contextmanager
def _located(path: Path, session: str | None) -> Iterator[None]:
    """Name the file and session in our errors raised without them (by the timing functions)."""
    try:
        yield
    except OpenRetinaDataError as error:
        if error.path is None:
            error.path = str(path)
        if error.session is None:
            error.session = session
        raise


def open_response_reader(
    source: ResponseSource,
    recipe: Recipe,
    stimulus_frames: dict[str, int],
    *,
    session: str | None = None,
) -> tuple[ResponseReader, SourceTiming | None]:
    """The reader for one response source and the frame times it is binned on."""
    path = recipe.resolve(source.path)
    if not path.exists():
        raise SourceNotFoundError("response source not found", path=path, session=session)
    if source.kind == "binned":
        return BinnedReader(source, path, session=session), None
    timing = frame_times_for(source, recipe, stimulus_frames, session=session)
    reader: SpikeReader | TraceReader
    if source.kind == "spike_times":
        reader = SpikeReader(source, path, timing.frames, recipe, session=session)
    else:
        reader = TraceReader(source, path, timing.frames, recipe, session=session)
    try:
        _count_outside(reader, timing)
        if isinstance(reader, SpikeReader):
            timing.report.notes.extend(reader.trains.notes)
    except BaseException:
        reader.close()
        raise
    return reader, timing


def _count_outside(reader: SpikeReader | TraceReader, timing: SourceTiming) -> None:
    """Spikes / trace samples before, between (in pauses) and after the frames, reported."""
    schedule = timing.frames
    start, stop = float(schedule.starts[0]), float(schedule.stops[-1])
    pauses = [
        (a.stop_s, b.start_s) for a, b in zip(schedule.runs[:-1], schedule.runs[1:], strict=True)
    ]
    if isinstance(reader, SpikeReader):
        trains = reader.trains
        before = trains.count_in(-math.inf, start)
        after = trains.count_in(stop, math.inf)
        in_pauses = sum(trains.count_in(a, b) for a, b in pauses)
        timing.report.count_outside("spikes", before, in_pauses, after)
        return
    rate, n = reader.rate, reader.n_samples

    def samples_before(t: float) -> int:  # samples i with i / rate < t
        return int(np.clip(np.ceil(t * rate - 1e-9), 0, n))

    in_pauses = sum(samples_before(b) - samples_before(a) for a, b in pauses)
    timing.report.count_outside(
        "trace samples", samples_before(start), in_pauses, n - samples_before(stop)
    )


def read_info_column(
    path: Path,
    key: str | None,
    fmt: str | None,
    *,
    session: str | None = None,
    unit_ids: np.ndarray | None = None,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """One per-neuron metadata column: a TSV/CSV column or an array in any source.

    Tables go through :func:`~openretina_data.sources.table.read_table` (FIFOs refused,
    Latin-1 accepted, short rows, huge cells and ids beyond int64 named by line).

    A table with a ``cluster_id``/``id`` column is matched to ``unit_ids`` (the kept
    Phy clusters, in order) when those are given. With ``rows`` (the ROIs a suite2p
    ``unit_filter`` kept), a column with one value per ROI of the source is cut to them.
    """
    if path.suffix.lower() in (".tsv", ".csv"):  # the one checked table reader
        if key is None:
            raise MissingKeyError("a table needs `key` (the column)", path=path, session=session)
        table = read_table(
            path, delimiter="\t" if path.suffix.lower() == ".tsv" else ",", session=session
        )
        if key not in table.header:
            raise MissingKeyError(
                f"no column {key!r}; columns: {', '.join(table.header)}",
                path=path,
                key=key,
                session=session,
                hint="Set the session_info key to one of those columns.",
            )
        values = table.column(key)
        id_column = next((c for c in ("cluster_id", "id") if c in table.header), None)
        if unit_ids is not None and id_column is not None:
            ids = [
                parse_id(cell, path=path, line=line, session=session)
                for cell, line in zip(table.column(id_column), table.lines, strict=True)
            ]
            by_id = dict(zip(ids, values, strict=True))
            missing = [int(u) for u in unit_ids if int(u) not in by_id]
            if missing:
                raise MissingKeyError(
                    f"the table has no row for clusters {missing[:5]}",
                    path=path,
                    key=key,
                    session=session,
                    hint="Export the cluster table again from the same sorting as the spikes.",
                )
            values = [by_id[int(u)] for u in unit_ids]
        return _cut_to(_typed_column(values), rows, path, session)
    reader: SourceReader
    reader, array = open_array(path, key, fmt, session=session, numeric=False)
    try:
        column = np.asarray(array[...])
        if column.ndim == 2 and 1 in column.shape:  # a MATLAB (n, 1) or (1, n) column
            column = column.reshape(-1)
        return _cut_to(column, rows, path, session)
    finally:
        reader.close()


def _typed_column(values: list[str]) -> np.ndarray:
    """Table cells as int64 when all are whole numbers (ids stay ids), else float, else text."""
    for kind in (int, float):
        try:
            column = np.asarray([kind(v) for v in values])
        except (ValueError, OverflowError):
            continue
        if column.dtype.kind in "iuf":
            return column
    return np.asarray(values, dtype=str)


def _cut_to(
    column: np.ndarray, rows: np.ndarray | None, path: Path, session: str | None
) -> np.ndarray:
    """``column[rows]`` for a column of every source row; a column of kept rows as it is."""
    if rows is None or len(column) == len(rows):
        return column
    if rows.size and len(column) <= int(rows.max()):
        raise ShapeError(
            f"the column has {len(column)} values but unit_filter kept row {int(rows.max())}",
            path=path,
            session=session,
            hint="Give one value per ROI of the suite2p folder, or one per kept cell.",
        )
    return column[rows]
