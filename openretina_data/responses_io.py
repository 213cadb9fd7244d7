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

import csv
import math
from collections.abc import Iterator
from contextlib import contextmanager
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
from openretina_data.spike_trains import SpikeTrains, seconds_per_tick
from openretina_data.timing import (
    FrameTimes,
    frame_times_from_rate,
    frame_times_from_signal,
    frame_times_from_timestamps,
    resample_traces,
)

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
    """Spike times counted on frame edges (optionally divided into Hz), a slab at a time."""

    def __init__(
        self,
        source: ResponseSource,
        path: Path,
        edges: np.ndarray,
        recipe: Recipe,
        *,
        session: str | None = None,
    ) -> None:
        self.trains = SpikeTrains.open(source, path, session=session)
        self.unit_ids = self.trains.unit_ids
        self.n_neurons = int(self.unit_ids.size)
        self.bytes_in = self.trains.bytes_in
        self.edges = edges
        self.as_rate = recipe.binning.spike_unit == "Hz"

    def read(self, start: int, stop: int) -> np.ndarray:
        return self.trains.bin(self.edges[start : stop + 1], as_rate=self.as_rate)

    def close(self) -> None:
        self.trains.close()


class TraceReader(ResponseReader):
    """Continuous traces at their own rate, resampled onto frames (linear or area)."""

    def __init__(
        self,
        source: ResponseSource,
        path: Path,
        edges: np.ndarray,
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
        self.edges = edges
        self.method = recipe.binning.trace_method
        duration = self.n_samples / self.rate
        if edges[-1] > duration + 1e-9 or edges[0] < 0:
            self.data.reader.close()
            raise TimingError(
                f"the frames run from {edges[0]:.3f} s to {edges[-1]:.3f} s but the traces cover "
                f"0 .. {duration:.3f} s ({self.n_samples} samples at {self.rate:g} Hz)",
                path=path,
                session=session,
                hint="Check sampling_rate_hz and the frame times (start_s, trigger channel).",
            )

    def _samples(self, first: int, last: int) -> np.ndarray:
        block = self.data.columns(first, last)
        return block if self.rows is None else block[self.rows]

    def read(self, start: int, stop: int) -> np.ndarray:
        edges = self.edges[start : stop + 1]
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
        return values

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


def frame_times_for(
    spec: FrameTimesSpec, recipe: Recipe, expected_frames: int, *, session: str | None = None
) -> FrameTimes:
    """Frame times on the response clock for ``expected_frames`` frames, as the recipe says."""
    if spec.kind == "rate":
        return frame_times_from_rate(recipe.frame_rate_hz, expected_frames, start_s=spec.start_s)
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
            if spec.kind == "timestamps":
                scale = seconds_per_tick(
                    spec.unit, spec.sampling_rate_hz, path=path, session=session
                )
                times = np.asarray(array[...], dtype=np.float64).reshape(-1) * scale
                return frame_times_from_timestamps(
                    times,
                    expected_frames=expected_frames,
                    fill_dropped=spec.fill_dropped,
                    drop_duplicates=spec.drop_duplicates,
                )
            if not spec.sampling_rate_hz or spec.sampling_rate_hz <= 0:
                raise RecipeError(
                    "a trigger channel needs sampling_rate_hz",
                    path=path,
                    session=session,
                    hint="State the acquisition rate of the trigger channel in Hz.",
                )
            # the channel is read in blocks by the timing functions
            return frame_times_from_signal(
                array,
                spec.sampling_rate_hz,
                threshold=spec.threshold,
                edge=spec.edge,
                debounce_s=spec.debounce_s,
                expected_frames=expected_frames,
                fill_dropped=spec.fill_dropped,
                drop_duplicates=spec.drop_duplicates,
            )
    finally:
        reader.close()


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
) -> tuple[ResponseReader, FrameTimes | None]:
    """The reader for one response source and the frame times it is binned on."""
    path = recipe.resolve(source.path)
    if not path.exists():
        raise SourceNotFoundError("response source not found", path=path, session=session)
    if source.kind == "binned":
        return BinnedReader(source, path, session=session), None
    needed = frames_needed(source, stimulus_frames)
    frames = frame_times_for(source.frame_times, recipe, needed, session=session)
    if frames.n_frames < needed:
        raise TimingError(
            f"the frame times give {frames.n_frames} frames but the epochs need {needed}",
            path=path,
            session=session,
            hint="Check the trigger channel, threshold and the epochs' repeats / skip_frames.",
        )
    edges = np.asarray(frames.edges[: needed + 1], dtype=np.float64)
    reader: ResponseReader
    if source.kind == "spike_times":
        reader = SpikeReader(source, path, edges, recipe, session=session)
    else:
        reader = TraceReader(source, path, edges, recipe, session=session)
    return reader, frames


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

    A table with a ``cluster_id``/``id`` column is matched to ``unit_ids`` (the kept
    Phy clusters, in order) when those are given. With ``rows`` (the ROIs a suite2p
    ``unit_filter`` kept), a column with one value per ROI of the source is cut to them.
    """
    if path.suffix.lower() in (".tsv", ".csv"):
        if key is None:
            raise MissingKeyError("a table needs `key` (the column)", path=path, session=session)
        with path.open(newline="", encoding="utf-8") as handle:
            table = list(
                csv.DictReader(handle, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
            )
        if not table or key not in table[0]:
            columns = ", ".join(table[0]) if table else "none"
            raise MissingKeyError(
                f"no column {key!r}; columns: {columns}", path=path, key=key, session=session
            )
        id_column = next((c for c in ("cluster_id", "id") if c in table[0]), None)
        if unit_ids is not None and id_column is not None:
            by_id = {int(row[id_column]): row[key] for row in table}
            missing = [int(u) for u in unit_ids if int(u) not in by_id]
            if missing:
                raise MissingKeyError(
                    f"the table has no row for clusters {missing[:5]}",
                    path=path,
                    key=key,
                    session=session,
                )
            values = [by_id[int(u)] for u in unit_ids]
        else:
            values = [row[key] for row in table]
        try:
            column = np.asarray([float(v) for v in values])
        except ValueError:
            column = np.asarray(values, dtype=str)
        return _cut_to(column, rows, path, session)
    reader: SourceReader
    reader, array = open_array(path, key, fmt, session=session, numeric=False)
    try:
        return _cut_to(np.asarray(array[...]), rows, path, session)
    finally:
        reader.close()


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
