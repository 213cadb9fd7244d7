"""Sorted spike trains read window by window, so spike binning streams in frame slabs.

A Kilosort/Phy folder is opened with the core's
:class:`~openretina_data.sources.kilosort.KilosortReader`: its unit labels (manual
``group`` over automatic ``KSLabel``, from whichever cluster tables Kilosort 2-4 or
Phy wrote), its ``params.py`` sample rate (read as data) and its shape checks. The
spike arrays are memory-mapped anew for every window and searched by bisection, so
memory stays flat in recording length. Any other source whose reader offers
``units()`` (an NWB ``Units`` table) hands over a whole
:class:`~openretina_data.sources.spikes.SpikeUnits`, held in memory.

Counting a window's spikes on frame edges is :func:`openretina_data.timing.bin_spikes`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from openretina_data.errors import RecipeError, ShapeError, SourceNotFoundError, TimingError
from openretina_data.recipe import ResponseSource
from openretina_data.sources.base import SourceReader, open_source
from openretina_data.sources.kilosort import KilosortReader
from openretina_data.sources.lazy import IndexableArray, LazyArray
from openretina_data.timing import bin_spikes

#: Below this many spikes a search reads the remaining range at once.
_SEARCH_BLOCK = 1 << 16
#: Spikes read at once when listing the unit ids of a whole sorting.
_ID_CHUNK = 1 << 22
#: Ticks per second of each spike time unit a recipe may state.
_FIXED_RATES = {"s": 1.0, "ms": 1000.0}


class SpikeTrains:
    """Spike times sorted in time plus the unit id of each spike, in any tick unit.

    Parameters
    ----------
    arrays
        Opens ``(times, unit_of_each_spike)``, both ``(spikes,)``; called per window so
        memory maps are released after each use.
    unit_ids : (units,) int64
        The units kept, in output row order; spikes of other units are ignored.
    ticks_per_second
        Hz: 1 for seconds, 1000 for milliseconds, the sample rate for samples.
    n_spikes, bytes_in
        Size of the whole sorting.
    reader
        The open source the arrays come from, closed by :meth:`close`.
    """

    def __init__(
        self,
        arrays: Callable[[], tuple[LazyArray, LazyArray]],
        unit_ids: np.ndarray,
        ticks_per_second: float,
        *,
        n_spikes: int,
        bytes_in: int,
        reader: SourceReader | None = None,
    ) -> None:
        self.arrays = arrays
        self.reader = reader
        self.unit_ids = np.asarray(unit_ids, dtype=np.int64)
        self.ticks_per_second = float(ticks_per_second)
        self.n_spikes = n_spikes
        self.bytes_in = bytes_in
        self.notes: list[str] = []  # what was done to the spikes (e.g. sorted), for the report

    @classmethod
    def open(cls, source: ResponseSource, path: Path, *, session: str | None) -> SpikeTrains:
        """The spike trains of a Kilosort/Phy folder or of any source offering ``units()``."""
        reader = open_source(path, source.format)
        if isinstance(reader, KilosortReader):
            try:
                return cls._from_kilosort(reader, source, session=session)
            except BaseException:
                reader.close()
                raise
        with reader:
            return cls._from_units(reader, source, path, session=session)

    @classmethod
    def _from_kilosort(
        cls, reader: KilosortReader, source: ResponseSource, *, session: str | None
    ) -> SpikeTrains:
        in_order = _checked_spikes(reader, session)
        if source.unit == "samples":
            rate = source.sampling_rate_hz or reader.sample_rate
            if not rate or rate <= 0:
                raise RecipeError(
                    "spike times in samples need sampling_rate_hz, and params.py gives no sample_rate",
                    path=reader.path,
                    session=session,
                    hint="State the acquisition rate, e.g. 30000 for most Neuropixels/Kilosort data.",
                )
        else:
            rate = _fixed_rate(source.unit, reader.path, session)
        if source.unit_filter:
            if not reader.labels:
                raise SourceNotFoundError(
                    "unit_filter needs unit labels, but the folder has no cluster_group.tsv, "
                    "cluster_KSLabel.tsv or cluster_info.tsv with a group or KSLabel column",
                    path=reader.path,
                    session=session,
                    hint="Curate the units in Phy (it writes cluster_group.tsv) or empty unit_filter.",
                )
            keep = set(source.unit_filter)
            ids = np.array(sorted(i for i, label in reader.labels.items() if label in keep))
        else:  # every unit: those with spikes and those only listed in the tables
            ids = np.union1d(_ids_present(reader), np.array(sorted(reader.labels), np.int64))

        def arrays() -> tuple[LazyArray, LazyArray]:
            return reader.array("spike_times"), reader.array("spike_clusters")

        times, clusters = arrays()
        notes: list[str] = []
        if not in_order:  # sorted once, stably, with their cluster ids; held in memory
            all_times = np.asarray(times[:]).reshape(-1)
            order = np.argsort(all_times, kind="stable")
            held = (
                IndexableArray(all_times[order]),
                IndexableArray(np.asarray(clusters[:]).reshape(-1)[order].astype(np.int64)),
            )
            notes.append(
                f"spike_times.npy is not in time order: its {reader.n_spikes} spikes were "
                "sorted (stably, with their cluster ids) before binning"
            )

            def arrays() -> tuple[LazyArray, LazyArray]:
                return held

        trains = cls(
            arrays,
            ids,
            rate,
            n_spikes=reader.n_spikes,
            bytes_in=times.nbytes + clusters.nbytes,
            reader=reader,
        )
        trains.notes = notes
        return trains

    @classmethod
    def _from_units(
        cls, reader: object, source: ResponseSource, path: Path, *, session: str | None
    ) -> SpikeTrains:
        read_units = getattr(reader, "units", None)
        if read_units is None:
            raise RecipeError(
                f"{getattr(reader, 'description', path.name)} holds no sorted spike trains",
                path=path,
                session=session,
                hint="Use a Kilosort/Phy folder or an NWB file with a Units table, "
                "or kind: binned / traces.",
            )
        if source.unit != "s":
            raise RecipeError(
                f"spike times from {path.name} are read in seconds, but the recipe says {source.unit!r}",
                path=path,
                session=session,
                hint="Set unit: s for NWB Units tables.",
            )
        units = read_units().select(source.unit_filter or None)
        times, rows = units.flat()
        bad = ~np.isfinite(times) | (times < 0)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            unit = int(units.unit_ids[rows[first]])
            raise TimingError(
                f"{int(bad.sum())} spike times are NaN, infinite or negative "
                f"(first: unit {unit}, {times[first]!r} s)",
                path=path,
                session=session,
                hint="Remove those spikes from the Units table (or re-export the sorting).",
            )
        order = np.argsort(times, kind="stable")
        sorted_times = np.asarray(times[order], dtype=np.float64)
        spike_units = units.unit_ids[rows[order]].astype(np.int64)
        held = (IndexableArray(sorted_times), IndexableArray(spike_units))
        return cls(
            lambda: held,
            units.unit_ids,
            1.0,
            n_spikes=int(sorted_times.size),
            bytes_in=sorted_times.nbytes + spike_units.nbytes,
        )

    def close(self) -> None:
        """Release the source's file handles (the windows stop working)."""
        if self.reader is not None:
            self.reader.close()

    def window(self, start_s: float, stop_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Spikes with ``start_s <= time < stop_s``: ``(times_s, unit_ids)``, both ``(spikes,)``.

        Consecutive windows sharing an edge split the spikes exactly as one frame grid does.
        """
        seconds, units = self._around(start_s, stop_s)
        exact = (seconds >= start_s) & (seconds < stop_s)
        return seconds[exact], units[exact]

    def _around(self, start_s: float, stop_s: float) -> tuple[np.ndarray, np.ndarray]:
        """The window's spikes and maybe a few just outside it (one tick plus rounding)."""
        times, units = self.arrays()
        margin = 1.0 + 1e-9 * max(abs(start_s), abs(stop_s)) * self.ticks_per_second
        lo = _search(times, start_s * self.ticks_per_second - margin)
        hi = _search(times, stop_s * self.ticks_per_second + margin)
        seconds = np.asarray(times[lo:hi], dtype=np.float64) / self.ticks_per_second
        return seconds, np.asarray(units[lo:hi], dtype=np.int64)

    def span_s(self) -> tuple[float, float] | None:
        """Times of the first and the last spike (seconds), or ``None`` without spikes."""
        if self.n_spikes == 0:
            return None
        times, _ = self.arrays()
        return float(times[0]) / self.ticks_per_second, float(times[-1]) / self.ticks_per_second

    def count_in(self, start_s: float, stop_s: float) -> int:
        """Spikes of any unit in ``[start_s, stop_s)`` (searches only, nothing binned)."""
        times, _ = self.arrays()
        lo = _search(times, start_s * self.ticks_per_second)
        return _search(times, stop_s * self.ticks_per_second) - lo

    def bin(self, edges: np.ndarray, *, as_rate: bool) -> np.ndarray:
        """Spikes of the kept units per frame ``[edges[i], edges[i + 1])``.

        Parameters
        ----------
        edges : (frames + 1,) float64, seconds
        as_rate
            Divide the counts by each frame's duration (Hz).

        Returns
        -------
        (units, frames) float32
        """
        times, units = self._around(float(edges[0]), float(edges[-1]))
        binned = bin_spikes(
            times,
            edges,
            time_unit="s",
            unit_ids=units,
            units=self.unit_ids,
            output="hz" if as_rate else "counts",
            window=True,  # spikes just outside belong to the neighbouring slabs
        )
        return np.asarray(binned.values, dtype=np.float32)


def _search(sorted_array: LazyArray, value: float) -> int:
    """First index whose value is ``>= value`` (bisection; reads single values, then a block)."""
    lo, hi = 0, len(sorted_array)
    while hi - lo > _SEARCH_BLOCK:
        middle = (lo + hi) // 2
        if float(sorted_array[middle]) < value:
            lo = middle + 1
        else:
            hi = middle
    block = np.asarray(sorted_array[lo:hi], dtype=np.float64)
    return lo + int(np.searchsorted(block, value, side="left"))


def _checked_spikes(reader: KilosortReader, session: str | None) -> bool:
    """Refuse NaN / Inf / negative spike times and non-integer cluster ids; ``True`` when the
    times are already in order. One pass over the spikes, a chunk at a time."""
    times_file, clusters_file = reader.array("spike_times"), reader.array("spike_clusters")
    in_order, previous = True, -np.inf
    for start in range(0, reader.n_spikes, _ID_CHUNK):
        times = np.asarray(times_file[start : start + _ID_CHUNK]).reshape(-1)
        clusters = np.asarray(clusters_file[start : start + _ID_CHUNK]).reshape(-1)
        if times.dtype.kind == "f":
            bad = ~np.isfinite(times)
            if bad.any():
                _bad_spike(
                    "spike_times.npy",
                    "NaN or infinite",
                    start + int(np.flatnonzero(bad)[0]),
                    reader,
                    session,
                )
        if times.size and times.min() < 0:
            index = start + int(np.flatnonzero(times < 0)[0])
            _bad_spike("spike_times.npy", "negative", index, reader, session)
        if clusters.dtype.kind == "f":
            bad = ~np.isfinite(clusters) | (clusters != np.round(clusters))
            if bad.any():
                index = start + int(np.flatnonzero(bad)[0])
                _bad_spike(
                    "spike_clusters.npy", "not a whole number (NaN?)", index, reader, session
                )
        elif clusters.dtype.kind not in "iu":
            raise ShapeError(
                f"spike_clusters.npy holds {clusters.dtype} values, not cluster ids",
                path=reader.path,
                session=session,
                hint="Cluster ids are integers; re-export the sorting.",
            )
        if times.size:
            if times[0] < previous or np.any(times[1:] < times[:-1]):  # unsigned-safe
                in_order = False
            previous = times[-1]
    return in_order


def _bad_spike(
    file: str, what: str, index: int, reader: KilosortReader, session: str | None
) -> None:
    raise TimingError(
        f"{file}: spike {index} is {what}",
        path=reader.path / file,
        session=session,
        hint="Remove the broken spikes (keep spike_times.npy and spike_clusters.npy the same "
        "length) or re-export the sorting from Kilosort/Phy.",
    )


def _ids_present(reader: KilosortReader) -> np.ndarray:
    """Every unit id with at least one spike, read a chunk of spikes at a time."""
    found = np.zeros(0, dtype=np.int64)
    for start in range(0, reader.n_spikes, _ID_CHUNK):
        clusters = reader.array("spike_clusters")[start : start + _ID_CHUNK]
        found = np.union1d(found, np.unique(clusters).astype(np.int64))
    return found


def _fixed_rate(unit: str, path: Path, session: str | None) -> float:
    if unit not in _FIXED_RATES:
        raise RecipeError(
            f"spike time unit {unit!r} is not s, ms or samples",
            path=path,
            session=session,
            hint="Set unit: s, ms or samples.",
        )
    return _FIXED_RATES[unit]


def seconds_per_tick(unit: str, rate: float | None, *, path: Path, session: str | None) -> float:
    """Seconds of one time unit the recipe states (``s``, ``ms``, or ``samples`` at ``rate``)."""
    if unit == "samples":
        if not rate or rate <= 0:
            raise RecipeError(
                "times in samples need sampling_rate_hz",
                path=path,
                session=session,
                hint="State the acquisition rate in Hz.",
            )
        return 1.0 / rate
    return 1.0 / _fixed_rate(unit, path, session)
