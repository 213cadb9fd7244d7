"""Several stimuli in one recording: cut the trigger train into blocks, one per stimulus.

A block is a run of triggers separated from the next run by a pause much longer than
a frame (``min_gap_s``, default 25 median trigger intervals — longer than the 11-interval
gap of the most dropped frames :func:`~openretina_data.timing.frame_times_from_triggers`
repairs, so a dropped-frame gap never splits a stimulus). Blocks can also be given
as time intervals. :func:`name_epochs` pairs blocks with stimulus names and refuses
when the counts differ, listing what was found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike

from openretina_data.errors import ShapeError, TimingError
from openretina_data.timing._report import count, seconds


@dataclass(frozen=True)
class Epoch:
    """One stimulus presentation within a recording.

    Attributes
    ----------
    start_s, stop_s : float, seconds
        First trigger, and last trigger plus one median interval (or the given interval).
    first_trigger : int
        Index of the block's first trigger in the whole trigger train.
    n_triggers : int
        Triggers in the block: ``triggers[first_trigger : first_trigger + n_triggers]``.
    name : str or None
        Stimulus name once assigned.
    """

    start_s: float
    stop_s: float
    first_trigger: int
    n_triggers: int
    name: str | None = None

    @property
    def trigger_slice(self) -> slice:
        """Slice of the whole trigger train that belongs to this epoch."""
        return slice(self.first_trigger, self.first_trigger + self.n_triggers)

    def describe(self) -> str:
        """``"natural: 36 000 triggers, 12.5 s to 1 212.5 s"``."""
        label = f"{self.name}: " if self.name else ""
        return f"{label}{count(self.n_triggers)} triggers, {seconds(self.start_s)} to {seconds(self.stop_s)}"


def find_trigger_blocks(
    trigger_times_s: ArrayLike, *, min_gap_s: float | None = None, min_triggers: int = 1
) -> list[Epoch]:
    """Split a trigger train at pauses.

    Parameters
    ----------
    trigger_times_s : (triggers,) float, seconds
        Increasing trigger times of the whole recording.
    min_gap_s : float, seconds, optional
        A pause at least this long starts a new block. Default: 25 × the median interval.
    min_triggers : int
        Blocks with fewer triggers (stray pulses) are dropped.
    """
    times = np.asarray(trigger_times_s, dtype=np.float64).ravel()
    if times.size < 2:
        raise TimingError(
            f"need at least 2 triggers to find blocks, got {times.size}",
            hint="Check the trigger channel and threshold.",
        )
    steps = np.diff(times)
    if np.any(steps <= 0) or not np.all(np.isfinite(times)):
        raise TimingError(
            "trigger times must be finite and increasing",
            hint="Detect edges with detect_edges, or sort the times.",
        )
    median = float(np.median(steps))
    gap = 25 * median if min_gap_s is None else float(min_gap_s)
    breaks = np.flatnonzero(steps >= gap) + 1
    starts = np.concatenate([[0], breaks])
    stops = np.concatenate([breaks, [times.size]])
    epochs = []
    for first, end in zip(starts.tolist(), stops.tolist(), strict=True):
        n = end - first
        if n < min_triggers:
            continue
        interval = float(np.median(steps[first : end - 1])) if n > 1 else median
        epochs.append(Epoch(float(times[first]), float(times[end - 1]) + interval, first, n))
    return epochs


def epochs_from_intervals(
    intervals_s: ArrayLike,
    trigger_times_s: ArrayLike | None = None,
    names: Sequence[str] | None = None,
) -> list[Epoch]:
    """Epochs from explicit ``(start, stop)`` times (e.g. an NWB ``TimeIntervals`` table).

    Parameters
    ----------
    intervals_s : (epochs, 2) float, seconds
        Half-open ``[start, stop)`` per stimulus.
    trigger_times_s : (triggers,) float, seconds, optional
        When given, each epoch records which triggers fall inside it.
    names : sequence of str, optional
        One stimulus name per interval.
    """
    ranges = np.asarray(intervals_s, dtype=np.float64)
    if ranges.ndim != 2 or ranges.shape[1] != 2:
        raise ShapeError(
            f"intervals must be (epochs, 2) start/stop times, got shape {ranges.shape}",
            hint="Give one [start, stop) pair in seconds per stimulus.",
        )
    if np.any(ranges[:, 1] <= ranges[:, 0]):
        bad = int(np.flatnonzero(ranges[:, 1] <= ranges[:, 0])[0])
        raise TimingError(
            f"interval {bad} ends before it starts: {ranges[bad].tolist()}",
            hint="Each interval is [start, stop) in seconds.",
        )
    triggers = None if trigger_times_s is None else np.asarray(trigger_times_s, np.float64).ravel()
    epochs = []
    for start, stop in ranges.tolist():
        if triggers is None:
            first, n = 0, 0
        else:
            first, end = (int(i) for i in np.searchsorted(triggers, [start, stop], side="left"))
            n = end - first
        epochs.append(Epoch(start, stop, first, n))
    return epochs if names is None else name_epochs(epochs, names)


def name_epochs(epochs: Sequence[Epoch], names: Sequence[str]) -> list[Epoch]:
    """Give each epoch, in time order, a stimulus name; the counts must agree."""
    if len(epochs) != len(names):
        found = "; ".join(f"block {i}: {e.describe()}" for i, e in enumerate(epochs))
        raise TimingError(
            f"{len(names)} stimuli ({', '.join(names)}) but {len(epochs)} trigger blocks: {found}",
            hint="Adjust min_gap_s / min_triggers, or give the epochs as time intervals.",
        )
    return [replace(epoch, name=name) for epoch, name in zip(epochs, names, strict=True)]


def check_block_lengths(epochs: Sequence[Epoch], expected_triggers: Sequence[int]) -> list[str]:
    """Plain-language warnings for blocks whose trigger count differs from the expected one."""
    warnings = []
    for epoch, expected in zip(epochs, expected_triggers, strict=True):
        if epoch.n_triggers != expected:
            label = epoch.name or f"block starting at {seconds(epoch.start_s)}"
            warnings.append(
                f"{label}: {count(epoch.n_triggers)} triggers but {count(expected)} expected "
                f"({count(abs(epoch.n_triggers - expected))} "
                f"{'extra' if epoch.n_triggers > expected else 'missing'})"
            )
    return warnings


__all__ = [
    "Epoch",
    "check_block_lengths",
    "epochs_from_intervals",
    "find_trigger_blocks",
    "name_epochs",
]
