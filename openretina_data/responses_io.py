"""Response sources read frame-slab by frame-slab: binned arrays, spike times, traces.

Each reader turns one :class:`~openretina_data.recipe.ResponseSource` into values per
stimulus frame, ``(neurons, frames)`` float32, for any frame range ``f0:f1`` of the
recording's frame clock. Spike times are searched in the (memory-mapped) sorted
spike train, so memory stays bounded whatever the recording length.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from openretina_data.convert_io import open_array
from openretina_data.errors import (
    MissingKeyError,
    RecipeError,
    ShapeError,
    SourceNotFoundError,
    TimingError,
    UnreadableSourceError,
)
from openretina_data.recipe import FrameTimes as FrameTimesSpec
from openretina_data.recipe import Recipe, ResponseSource
from openretina_data.sources.base import SourceReader, open_source
from openretina_data.sources.lazy import LazyArray
from openretina_data.sources.spikes import SpikeUnits
from openretina_data.timing import (
    FrameTimes,
    detect_edges,
    frame_times_from_rate,
    frame_times_from_triggers,
)

_LABEL_COLUMNS = ("group", "KSLabel", "label")


def frames_needed(source: ResponseSource, stimulus_frames: dict[str, int]) -> int:
    """Frames the source's epochs span: sum of skips plus repeats × movie length."""
    return sum(e.skip_frames + e.repeats * stimulus_frames[e.stimulus] for e in source.epochs)


class ResponseReader:
    """Base: ``n_neurons``, ``frames_available`` and ``read(f0, f1)``."""

    n_neurons: int
    frames_available: int | None = None  # binned sources only
    bytes_in: int = 0

    def read(self, start: int, stop: int) -> np.ndarray:
        """Values for frames ``start:stop``: ``(neurons, stop - start)`` float32."""
        raise NotImplementedError

    def close(self) -> None:
        """Release file handles."""


class BinnedReader(ResponseReader):
    """An array already holding one value per frame, ``nt`` or ``tn`` axes."""

    def __init__(self, source: ResponseSource, path: Path, *, session: str | None = None) -> None:
        self.reader, self.array = open_array(path, source.key, source.format, session=session)
        self.axes = source.axes
        if source.axes not in ("nt", "tn") or self.array.ndim != 2:
            self.reader.close()
            raise ShapeError(
                f"binned responses need a 2-D array with axes nt or tn; got shape "
                f"{self.array.shape} with axes {source.axes!r}",
                path=path,
                session=session,
                hint="Set axes: nt for (neurons, time) or tn for (time, neurons).",
            )
        neurons_axis = source.axes.index("n")
        self.n_neurons = self.array.shape[neurons_axis]
        self.frames_available = self.array.shape[1 - neurons_axis]
        self.bytes_in = self.array.nbytes

    def read(self, start: int, stop: int) -> np.ndarray:
        if self.axes == "nt":
            block = self.array[:, start:stop]
        else:
            block = self.array[start:stop, :].T
        return np.asarray(block, dtype=np.float32)

    def close(self) -> None:
        self.reader.close()


class PhyUnits:
    """Spike trains of a Kilosort/Phy folder: sorted spike times plus a cluster per spike."""

    def __init__(self, folder: Path, unit_filter: list[str], *, session: str | None = None) -> None:
        self.folder = folder
        times_path, clusters_path = folder / "spike_times.npy", folder / "spike_clusters.npy"
        if not clusters_path.exists():
            clusters_path = folder / "spike_templates.npy"
        for needed in (times_path, clusters_path):
            if not needed.exists():
                raise SourceNotFoundError(
                    f"the Phy folder has no {needed.name}",
                    path=folder,
                    session=session,
                    hint="Point `path` at the Kilosort/Phy output folder (with spike_times.npy).",
                )
        self.times_path, self.clusters_path = times_path, clusters_path
        with self._mapped() as (times, clusters):
            if times.shape != clusters.shape:
                raise ShapeError(
                    f"spike_times has {times.size} spikes but {clusters_path.name} has {clusters.size}",
                    path=folder,
                    session=session,
                    hint="The two files come from different sortings; re-export the folder.",
                )
            self.n_spikes = int(times.size)
            self.times_dtype = times.dtype
            self.bytes_in = times.nbytes + clusters.nbytes
        labels = self._labels()
        if labels is not None:
            ids = sorted(
                c for c, label in labels.items() if not unit_filter or label in unit_filter
            )
        elif unit_filter:
            raise SourceNotFoundError(
                "unit_filter needs cluster_group.tsv or cluster_info.tsv in the Phy folder",
                path=folder,
                session=session,
                hint="Curate the units in Phy (it writes cluster_group.tsv) or empty unit_filter.",
            )
        else:
            ids = self._cluster_ids()
        self.unit_ids = np.asarray(ids, dtype=np.int64)
        top = int(max(self.unit_ids.max(initial=0), 0)) + 1
        self.lookup = np.full(top, -1, dtype=np.int64)
        self.lookup[self.unit_ids] = np.arange(self.unit_ids.size)

    def _labels(self) -> dict[int, str] | None:
        for name in ("cluster_group.tsv", "cluster_info.tsv", "cluster_KSLabel.tsv"):
            path = self.folder / name
            if not path.exists():
                continue
            try:
                with path.open(newline="", encoding="utf-8") as handle:
                    rows = list(csv.DictReader(handle, delimiter="\t"))
            except (OSError, UnicodeDecodeError, csv.Error) as error:
                raise UnreadableSourceError(f"cannot read {name}: {error}", path=path) from error
            if not rows:
                return {}
            id_column = "cluster_id" if "cluster_id" in rows[0] else "id"
            label_column = next((c for c in _LABEL_COLUMNS if c in rows[0]), None)
            if id_column not in rows[0] or label_column is None:
                continue
            return {int(row[id_column]): (row[label_column] or "").strip() for row in rows}
        return None

    @contextmanager
    def _mapped(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Both spike arrays as memory maps that are unmapped again afterwards.

        A map kept open would keep every page it touched resident; mapping per use
        keeps memory flat in recording length.
        """
        times = np.load(self.times_path, mmap_mode="r")
        clusters = np.load(self.clusters_path, mmap_mode="r")
        try:
            yield times.reshape(-1), clusters.reshape(-1)
        finally:
            for mapped in (times, clusters):
                handle = getattr(mapped, "_mmap", None)
                del mapped
                if handle is not None:
                    handle.close()

    def _cluster_ids(self, chunk: int = 1 << 24) -> list[int]:
        found: set[int] = set()
        for start in range(0, self.n_spikes, chunk):
            with self._mapped() as (_, clusters):
                found.update(int(c) for c in np.unique(np.array(clusters[start : start + chunk])))
        return sorted(found)

    def first_last_raw(self) -> tuple[Any, Any]:
        """The first and last spike time, in the file's unit."""
        with self._mapped() as (times, _):
            return times[0].item(), times[-1].item()

    def count_between(self, first_raw: Any, last_raw: Any) -> int:
        """Number of spikes with ``first_raw <= time < last_raw`` (binary search only)."""
        with self._mapped() as (times, _):
            lo = np.searchsorted(times, np.asarray(first_raw, times.dtype), "left")
            hi = np.searchsorted(times, np.asarray(last_raw, times.dtype), "left")
            return int(hi - lo)

    def window(self, first_raw: Any, last_raw: Any) -> tuple[np.ndarray, np.ndarray]:
        """Raw spike times in ``[first_raw, last_raw)`` and their unit index (−1 = dropped)."""
        with self._mapped() as (times, all_clusters):
            lo = int(np.searchsorted(times, np.asarray(first_raw, times.dtype), "left"))
            hi = int(np.searchsorted(times, np.asarray(last_raw, times.dtype), "left"))
            clusters = np.array(all_clusters[lo:hi], dtype=np.int64)
            window_times = np.array(times[lo:hi])
        inside = (clusters >= 0) & (clusters < self.lookup.size)
        units = np.full(clusters.shape, -1, dtype=np.int64)
        units[inside] = self.lookup[clusters[inside]]
        return window_times, units


class SortedUnits:
    """Spike trains held in memory, sorted by time (an NWB ``Units`` table, ...).

    Same interface as :class:`PhyUnits`; times are seconds.
    """

    def __init__(self, units: SpikeUnits) -> None:
        times, index = units.flat()
        order = np.argsort(times, kind="stable")
        self.times = np.asarray(times[order], dtype=np.float64)
        self.index = np.asarray(index[order], dtype=np.int64)
        self.unit_ids = np.asarray(units.unit_ids, dtype=np.int64)
        self.n_spikes = int(self.times.size)
        self.times_dtype = self.times.dtype
        self.bytes_in = self.times.nbytes + self.index.nbytes

    @classmethod
    def from_source(cls, path: Path, source: ResponseSource, *, session: str | None) -> SortedUnits:
        """The sorted units of any source whose reader offers ``units()`` (NWB, Kilosort)."""
        if source.unit != "s":
            raise RecipeError(
                f"spike times from {path.name} are read in seconds, but the recipe says {source.unit!r}",
                path=path,
                session=session,
                hint="Set unit: s for NWB Units tables.",
            )
        with open_source(path, source.format) as reader:
            read_units = getattr(reader, "units", None)
            if read_units is None:
                raise RecipeError(
                    f"{reader.description} holds no sorted spike trains",
                    path=path,
                    session=session,
                    hint="Use a Kilosort/Phy folder or an NWB file with a Units table, "
                    "or kind: binned / traces.",
                )
            units = read_units()
        if source.unit_filter:
            units = units.select(source.unit_filter)
        return cls(units)

    def first_last_raw(self) -> tuple[Any, Any]:
        return float(self.times[0]), float(self.times[-1])

    def count_between(self, first_raw: Any, last_raw: Any) -> int:
        return int(np.searchsorted(self.times, last_raw) - np.searchsorted(self.times, first_raw))

    def window(self, first_raw: Any, last_raw: Any) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = np.searchsorted(self.times, [first_raw, last_raw])
        return self.times[lo:hi], self.index[lo:hi]


class SpikeReader(ResponseReader):
    """Spike times binned into counts on frame edges (optionally divided into Hz)."""

    def __init__(
        self,
        source: ResponseSource,
        path: Path,
        edges: np.ndarray,
        recipe: Recipe,
        *,
        session: str | None = None,
    ) -> None:
        self.units: PhyUnits | SortedUnits
        if path.is_dir() and (path / "spike_times.npy").exists():
            self.units = PhyUnits(path, source.unit_filter, session=session)
            self.scale = _seconds_per_unit(
                source.unit, source.sampling_rate_hz, session=session, path=path
            )
        else:
            self.units = SortedUnits.from_source(path, source, session=session)
            self.scale = 1.0
        self.n_neurons = int(self.units.unit_ids.size)
        self.bytes_in = self.units.bytes_in
        self.edges = edges
        self.as_rate = recipe.binning.spike_unit == "Hz"

    def raw_time(self, seconds: float) -> Any:
        raw = seconds / self.scale
        return math.ceil(raw) if self.units.times_dtype.kind in "iu" else raw

    def read(self, start: int, stop: int) -> np.ndarray:
        edges = self.edges[start : stop + 1]
        raw_times, units = self.units.window(self.raw_time(edges[0]), self.raw_time(edges[-1]))
        times = raw_times.astype(np.float64) * self.scale
        bins = np.searchsorted(edges, times, "right") - 1
        keep = (units >= 0) & (bins >= 0) & (bins < stop - start)
        flat = units[keep] * (stop - start) + bins[keep]
        counts = np.bincount(flat, minlength=self.n_neurons * (stop - start))
        out = counts.reshape(self.n_neurons, stop - start).astype(np.float32)
        if self.as_rate:
            out /= np.diff(edges).astype(np.float32)
        return out


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
        self.reader, self.array = open_array(path, source.key, source.format, session=session)
        if source.axes not in ("nt", "tn") or self.array.ndim != 2:
            self.reader.close()
            raise ShapeError(
                f"traces need a 2-D array with axes nt or tn; got {self.array.shape}, axes {source.axes!r}",
                path=path,
                session=session,
                hint="Set axes: nt for (neurons, samples) or tn for (samples, neurons).",
            )
        self.axes = source.axes
        self.rate = float(source.sampling_rate_hz)
        self.n_neurons = self.array.shape[source.axes.index("n")]
        self.n_samples = self.array.shape[source.axes.index("t")]
        self.bytes_in = self.array.nbytes
        self.edges = edges
        self.method = recipe.binning.trace_method
        duration = self.n_samples / self.rate
        if edges[-1] > duration + 1e-9 or edges[0] < 0:
            self.reader.close()
            raise TimingError(
                f"the frames run from {edges[0]:.3f} s to {edges[-1]:.3f} s but the traces cover "
                f"0 .. {duration:.3f} s ({self.n_samples} samples at {self.rate:g} Hz)",
                path=path,
                session=session,
                hint="Check sampling_rate_hz and the frame times (start_s, trigger channel).",
            )

    def _samples(self, first: int, last: int) -> np.ndarray:
        first, last = max(first, 0), min(last, self.n_samples)
        block = self.array[:, first:last] if self.axes == "nt" else self.array[first:last, :].T
        return np.asarray(block, dtype=np.float64)

    def read(self, start: int, stop: int) -> np.ndarray:
        edges = self.edges[start : stop + 1]
        first = max(int(math.floor(edges[0] * self.rate)) - 1, 0)
        last = min(int(math.ceil(edges[-1] * self.rate)) + 2, self.n_samples)
        block = self._samples(first, last)
        positions = (edges[:-1] + edges[1:]) / 2 * self.rate - first
        linear = _interp_columns(block, positions)
        if self.method == "linear":
            return linear.astype(np.float32)
        cumulative = np.concatenate(
            [np.zeros((block.shape[0], 1)), np.cumsum(block, axis=1)], axis=1
        )
        index = np.clip(
            np.ceil(edges * self.rate - 1e-9).astype(np.int64) - first, 0, block.shape[1]
        )
        counts = np.diff(index)
        sums = cumulative[:, index[1:]] - cumulative[:, index[:-1]]
        with np.errstate(invalid="ignore", divide="ignore"):
            area = np.where(counts > 0, sums / np.maximum(counts, 1), linear)
        return area.astype(np.float32)

    def close(self) -> None:
        self.reader.close()


def _interp_columns(block: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Linear interpolation of every row of ``block`` at fractional column positions."""
    top = block.shape[1] - 1
    clipped = np.clip(positions, 0, max(top, 0))
    low = np.floor(clipped).astype(np.int64)
    high = np.minimum(low + 1, top)
    fraction = clipped - low
    return block[:, low] * (1 - fraction) + block[:, high] * fraction


def _seconds_per_unit(unit: str, rate: float | None, *, session: str | None, path: Path) -> float:
    if unit == "s":
        return 1.0
    if unit == "ms":
        return 1e-3
    if unit == "samples":
        if not rate or rate <= 0:
            raise RecipeError(
                "spike times in samples need sampling_rate_hz",
                path=path,
                session=session,
                hint="State the acquisition rate, e.g. 30000 for most Neuropixels/Kilosort data.",
            )
        return 1.0 / rate
    raise RecipeError(
        f"spike time unit {unit!r} is not s, ms or samples",
        path=path,
        session=session,
        hint="Set unit: s, ms or samples.",
    )


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
        if spec.kind == "timestamps":
            scale = _seconds_per_unit(spec.unit, spec.sampling_rate_hz, session=session, path=path)
            times = np.asarray(array[...], dtype=np.float64).reshape(-1) * scale
        else:
            times = _trigger_times(spec, array, path, session)
        result = frame_times_from_triggers(
            times,
            expected_frames=expected_frames,
            fill_dropped=spec.fill_dropped,
            drop_duplicates=spec.drop_duplicates,
            last_frame_s=None,
            source="triggers" if spec.kind == "trigger" else "timestamps",
        )
    finally:
        reader.close()
    return result


def _trigger_times(
    spec: FrameTimesSpec, channel: LazyArray, path: Path, session: str | None
) -> np.ndarray:
    if not spec.sampling_rate_hz or spec.sampling_rate_hz <= 0:
        raise RecipeError(
            "a trigger channel needs sampling_rate_hz",
            path=path,
            session=session,
            hint="State the acquisition rate of the trigger channel in Hz.",
        )
    if channel.ndim != 1:
        raise ShapeError(
            f"the trigger channel must be 1-D, got shape {channel.shape}",
            path=path,
            session=session,
            hint="Pick the single trigger channel (key) or save it as a 1-D array.",
        )
    # detect_edges reads the (lazy) channel in blocks itself
    return detect_edges(
        channel,
        spec.sampling_rate_hz,
        threshold=spec.threshold,
        edge=spec.edge,
        debounce_s=spec.debounce_s,
    )


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
) -> np.ndarray:
    """One per-neuron metadata column: a TSV/CSV column or an array in any source.

    A table with a ``cluster_id``/``id`` column is matched to ``unit_ids`` (the kept
    Phy clusters, in order) when those are given.
    """
    if path.suffix.lower() in (".tsv", ".csv"):
        if key is None:
            raise MissingKeyError("a table needs `key` (the column)", path=path, session=session)
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(
                csv.DictReader(handle, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
            )
        if not rows or key not in rows[0]:
            columns = ", ".join(rows[0]) if rows else "none"
            raise MissingKeyError(
                f"no column {key!r}; columns: {columns}", path=path, key=key, session=session
            )
        id_column = next((c for c in ("cluster_id", "id") if c in rows[0]), None)
        if unit_ids is not None and id_column is not None:
            by_id = {int(row[id_column]): row[key] for row in rows}
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
            values = [row[key] for row in rows]
        try:
            return np.asarray([float(v) for v in values])
        except ValueError:
            return np.asarray(values, dtype=str)
    reader: SourceReader
    reader, array = open_array(path, key, fmt, session=session, numeric=False)
    try:
        return np.asarray(array[...])
    finally:
        reader.close()
