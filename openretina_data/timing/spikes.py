"""Spike times → spike counts per stimulus frame, vectorised (searchsorted, radix sort, run lengths).

The caller always states the unit of the spike times (``"s"`` or ``"samples"`` with a
sampling rate); nothing here guesses it. What looks like the wrong unit — sample
indices passed as seconds, seconds passed as samples, spikes after the end of the
recording — raises :class:`~openretina_data.errors.TimingError` with the numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from openretina_data.errors import NonFiniteError, ShapeError, TimingError
from openretina_data.timing._report import count, listing, percent, seconds
from openretina_data.timing.frames import FrameTimes, as_edges


@dataclass(frozen=True)
class BinnedSpikes:
    """Spike counts (or rates) per unit and frame, and what fell outside the stimulus.

    Attributes
    ----------
    values : (neurons, frames) float
        Spikes per frame (``unit == "spikes/bin"``) or spikes per second (``"Hz"``).
    unit : {"spikes/bin", "Hz"}
    unit_ids : (neurons,) int64
        Row ``i`` of ``values`` belongs to unit ``unit_ids[i]`` (list input: 0..n-1).
    n_spikes, n_before, n_after : (neurons,) int64
        Spikes per unit in total, before the first frame and at / after the last edge.
    warnings, notes : tuple of str
        Problems and facts in plain language with numbers.
    """

    values: NDArray[np.floating]
    unit: str
    unit_ids: NDArray[np.int64]
    n_spikes: NDArray[np.int64]
    n_before: NDArray[np.int64]
    n_after: NDArray[np.int64]
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def n_inside(self) -> NDArray[np.int64]:
        """(neurons,) spikes per unit inside the stimulus epoch."""
        return self.n_spikes - self.n_before - self.n_after

    def summary(self) -> str:
        """Warnings then notes, one per line."""
        return "\n".join([*self.warnings, *self.notes])


def bin_spikes(
    spike_times: ArrayLike | Sequence[ArrayLike],
    frames: FrameTimes | ArrayLike,
    *,
    time_unit: Literal["s", "samples"],
    sampling_rate_hz: float | None = None,
    unit_ids: ArrayLike | None = None,
    units: ArrayLike | None = None,
    recording_duration_s: float | None = None,
    start_s: float = 0.0,
    output: Literal["counts", "hz"] = "counts",
    dtype: DTypeLike = np.float32,
    window: bool = False,
) -> BinnedSpikes:
    """Count each unit's spikes in every frame interval ``[edges[i], edges[i + 1])``.

    Parameters
    ----------
    spike_times
        Either a flat ``(spikes,)`` array together with ``unit_ids``, or a sequence with
        one ``(spikes_of_unit,)`` array per unit.
    frames : FrameTimes or (frames + 1,) float, seconds
        Frame edges on the response clock.
    time_unit : {"s", "samples"}
        Unit of ``spike_times``; required, never guessed.
    sampling_rate_hz : float, Hz
        Needed when ``time_unit == "samples"``.
    unit_ids : (spikes,) int, optional
        Unit of each spike, for flat input (e.g. Kilosort ``spike_clusters``).
    units : (neurons,) int, optional
        Which unit ids to keep, in this row order (flat input). Default: every id
        present, sorted. Spikes of other units are ignored.
    recording_duration_s : float, optional, seconds
        Length of the recording; spikes after it mean a wrong unit or sampling rate.
    start_s : float, seconds
        Time of spike time zero (sample 0) on the frame clock.
    output : {"counts", "hz"}
        Spike counts per frame, or counts divided by each frame's duration.
    dtype
        dtype of ``values`` (float32 for the native layout).
    window
        The frames are one window (slab) of a longer stimulus: spikes outside them
        belong to other windows and are dropped quietly, and a window without spikes is
        no error. No notes or warnings are made (check the whole recording once instead).

    Raises
    ------
    TimingError
        Unit missing, times that look like the other unit, spikes beyond the recording,
        or no spike inside the stimulus at all.
    """
    edges = as_edges(frames)
    times, rows, ids = _flatten(spike_times, unit_ids, units)
    seconds_ = _to_seconds(times, time_unit, sampling_rate_hz)
    if start_s:
        seconds_ = seconds_ + start_s
    n_units, n_frames = ids.size, edges.size - 1
    warnings: list[str] = []
    notes: list[str] = []

    if recording_duration_s is not None:
        late = seconds_ > start_s + recording_duration_s
        if np.any(late):
            bad_units = np.unique(ids[rows[late]])
            raise TimingError(
                f"{count(np.count_nonzero(late))} spikes of {count(bad_units.size)} units "
                f"(ids {listing(bad_units)}) come after the recording ends at "
                f"{seconds(recording_duration_s)}; the latest is at {seconds(float(seconds_.max()))}",
                hint="Check the time unit and the sampling rate of the spike times.",
            )

    frame_index = np.searchsorted(edges, seconds_, side="right") - 1
    before = frame_index < 0
    after = frame_index >= n_frames
    inside = ~(before | after)
    n_spikes = np.bincount(rows, minlength=n_units).astype(np.int64)
    n_before = np.bincount(rows[before], minlength=n_units).astype(np.int64)
    n_after = np.bincount(rows[after], minlength=n_units).astype(np.int64)
    total, n_in = int(n_spikes.sum()), int(np.count_nonzero(inside))
    outside = total - n_in
    if not window:  # a window's outside spikes belong to other windows: no checks
        if total and n_in == 0:
            raise TimingError(
                f"none of {count(total)} spikes falls inside the stimulus "
                f"({seconds(edges[0])} to {seconds(edges[-1])}); the spikes span "
                f"{seconds(float(seconds_.min()))} to {seconds(float(seconds_.max()))}",
                hint=_unit_hint(seconds_, edges, time_unit),
            )
        if (
            time_unit == "s"
            and n_after.sum() > total // 2
            and seconds_.max() > 100 * abs(edges[-1])
        ):
            raise TimingError(
                f"{count(int(n_after.sum()))} of {count(total)} spikes come after the stimulus ends at "
                f"{seconds(edges[-1])}, the latest at {seconds(float(seconds_.max()))}",
                hint=_unit_hint(seconds_, edges, time_unit),
            )
        if outside:
            notes.append(
                f"{count(outside)} of {count(total)} spikes{percent(outside, total)} fell outside "
                f"the stimulus ({seconds(edges[0])} to {seconds(edges[-1])}): "
                f"{count(int(n_before.sum()))} before, {count(int(n_after.sum()))} after"
            )
        empty = np.flatnonzero(n_spikes == 0)
        if empty.size:
            warnings.append(
                f"{count(empty.size)} of {count(n_units)} units have no spikes at all: ids {listing(ids[empty])}"
            )
        silent = np.flatnonzero((n_spikes > 0) & (n_spikes == n_before + n_after))
        if silent.size:
            warnings.append(
                f"{count(silent.size)} of {count(n_units)} units have no spikes during the stimulus: "
                f"ids {listing(ids[silent])}"
            )

    if outside:
        rows, frame_index = rows[inside], frame_index[inside]
    counts = _count_matrix(rows, frame_index, n_units, n_frames, dtype)
    unit_label = "spikes/bin"
    if output == "hz":
        counts /= np.diff(edges).astype(counts.dtype)
        unit_label = "Hz"
    return BinnedSpikes(
        values=counts,
        unit=unit_label,
        unit_ids=ids,
        n_spikes=n_spikes,
        n_before=n_before,
        n_after=n_after,
        warnings=tuple(warnings),
        notes=tuple(notes),
    )


def _flatten(
    spike_times: ArrayLike | Sequence[ArrayLike],
    unit_ids: ArrayLike | None,
    units: ArrayLike | None,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
    """(times, row of each spike, unit id of each row) from either input form."""
    if unit_ids is None:
        if isinstance(spike_times, np.ndarray) and spike_times.dtype != object:
            raise ShapeError(
                f"a flat spike-time array (shape {spike_times.shape}) needs unit_ids",
                hint="Pass unit_ids (e.g. spike_clusters), or a list with one array per unit.",
            )
        per_unit = [np.asarray(t, dtype=np.float64).ravel() for t in spike_times]  # type: ignore[union-attr]
        lengths = np.array([t.size for t in per_unit], dtype=np.int64)
        times = np.concatenate(per_unit) if per_unit else np.zeros(0)
        rows = np.repeat(np.arange(len(per_unit), dtype=np.int64), lengths)
        return times, rows, np.arange(len(per_unit), dtype=np.int64)
    times = np.asarray(spike_times, dtype=np.float64)
    labels = np.asarray(unit_ids)
    if times.ndim == 2 and 1 in times.shape:
        times = times.ravel()
    labels = labels.ravel() if labels.ndim == 2 and 1 in labels.shape else labels
    if times.ndim != 1 or labels.shape != times.shape:
        raise ShapeError(
            f"spike times {times.shape} and unit ids {labels.shape} must be 1-D and equally long",
            hint="Pass one unit id per spike (e.g. spike_times.npy with spike_clusters.npy).",
        )
    labels = labels.astype(np.int64)
    if units is not None:
        ids = np.asarray(units, dtype=np.int64).ravel()
        repeated = np.unique(ids, return_counts=True)
        if np.any(repeated[1] > 1):
            raise ShapeError(
                f"units lists ids more than once: {listing(repeated[0][repeated[1] > 1])}",
                hint="Give each unit id once.",
            )
    if labels.size == 0:
        ids = np.zeros(0, np.int64) if units is None else ids
        return times, np.zeros(0, np.int64), ids
    low, high = int(labels.min()), int(labels.max())
    if high - low <= max(1 << 20, 4 * labels.size):
        # Small id range (the usual case): a lookup table instead of sorting or searching.
        if units is None:
            ids = np.flatnonzero(np.bincount(labels - low)) + low
        table = np.full(high - low + 1, -1, dtype=np.int64)
        in_range = (ids >= low) & (ids <= high)
        table[ids[in_range] - low] = np.flatnonzero(in_range)
        rows = table[labels - low]
        keep = rows >= 0
        if keep.all():
            return times, rows, ids
        return times[keep], rows[keep], ids
    if units is None:
        ids = np.unique(labels)
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    slot = np.clip(np.searchsorted(sorted_ids, labels), 0, max(ids.size - 1, 0))
    keep = sorted_ids[slot] == labels if ids.size else np.zeros(labels.shape, bool)
    return times[keep], order[slot[keep]].astype(np.int64), ids


def _to_seconds(
    times: NDArray[np.float64], time_unit: str, sampling_rate_hz: float | None
) -> NDArray[np.float64]:
    """Spike times in seconds, refusing what clearly is the other unit."""
    if times.size and not np.all(np.isfinite(times)):
        raise NonFiniteError(
            f"{count(np.count_nonzero(~np.isfinite(times)))} spike times are NaN/Inf",
            hint="Remove those spikes before binning.",
        )
    if time_unit == "s":
        return times
    if time_unit != "samples":
        raise TimingError(
            f"time_unit must be 's' or 'samples', got {time_unit!r}",
            hint="State the unit of the spike times.",
        )
    if sampling_rate_hz is None or not np.isfinite(sampling_rate_hz) or sampling_rate_hz <= 0:
        raise TimingError(
            f"spike times in samples need a positive sampling_rate_hz, got {sampling_rate_hz!r}",
            hint="Give the acquisition sampling rate (Kilosort: params.py sample_rate).",
        )
    fractional = np.count_nonzero(times != np.rint(times))
    if fractional:
        raise TimingError(
            f"spike times were given as samples but {count(fractional)} of {count(times.size)} "
            f"are not whole numbers (e.g. {times[times != np.rint(times)][0]:.6g})",
            hint="These look like seconds: pass time_unit='s'.",
        )
    return times / float(sampling_rate_hz)


def _unit_hint(spikes_s: NDArray[np.float64], edges: NDArray[np.float64], time_unit: str) -> str:
    """Say which unit mistake the numbers point to."""
    span = edges[-1] - edges[0]
    latest = float(np.max(np.abs(spikes_s)))
    if time_unit == "s" and latest > 100 * max(edges[-1], span):
        return (
            "The spike times are far beyond the stimulus: they look like sample indices; "
            "pass time_unit='samples' with sampling_rate_hz."
        )
    if time_unit == "samples" and latest < 0.01 * max(abs(edges[0]), span):
        return "The spike times end very early: they look like seconds; pass time_unit='s'."
    return "Check the time offset (start_s) between the spike clock and the frame times."


def _count_matrix(
    rows: NDArray[np.int64],
    frame_index: NDArray[np.int64],
    n_units: int,
    n_frames: int,
    dtype: DTypeLike,
) -> NDArray[np.floating]:
    """(units, frames) counts from run lengths of the sorted flat bin index.

    Spike trains sorted by time (Kilosort) need only a radix sort by unit (stable, so
    frames stay sorted within each unit); per-unit lists are usually sorted already.
    Each occupied bin is then written once: no scatter-add, no int64 matrix of the
    output's size.
    """
    out = np.zeros((n_units, n_frames), dtype=dtype)
    if rows.size == 0 or n_units == 0:
        return out
    flat = rows * n_frames + frame_index
    if not np.all(flat[:-1] <= flat[1:]):
        if np.all(frame_index[:-1] <= frame_index[1:]):
            small = rows.astype(np.int16 if n_units <= np.iinfo(np.int16).max else np.int32)
            flat = flat[np.argsort(small, kind="stable")]
        else:
            flat = np.sort(flat)
    starts = np.flatnonzero(np.concatenate([[True], flat[1:] != flat[:-1]]))
    out.reshape(-1)[flat[starts]] = np.diff(np.append(starts, flat.size))
    return out


__all__ = ["BinnedSpikes", "bin_spikes"]
