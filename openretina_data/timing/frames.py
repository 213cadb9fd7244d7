"""Stimulus frame times: from a frame rate, a timestamp array or trigger times.

Every constructor returns a :class:`FrameTimes`: the onset of each frame, the frame
edges that binning uses, and a report of what looked wrong (dropped frames, duplicate
triggers, irregular intervals, a count that does not match the stimulus). Repairs are
opt-in (``fill_dropped``, ``drop_duplicates``) and every repair is stated in the notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray

from openretina_data.errors import NonFiniteError, ShapeError, TimingError
from openretina_data.timing._report import count, seconds

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class FrameTimes:
    """When each stimulus frame was on screen, and what the timing source got wrong.

    Attributes
    ----------
    times : (frames,) float64, seconds
        Onset of each frame.
    edges : (frames + 1,) float64, seconds
        Frame ``i`` lasts from ``edges[i]`` to ``edges[i + 1]`` (half-open). The last
        frame lasts one median frame interval unless a duration was given.
    source : {"rate", "timestamps", "triggers"}
    triggers : (m,) float64, seconds
        The trigger / timestamp times as given or detected, before any repair.
    dropped_frames : (k,) int64
        Frames (numbered as if none were missing) that had no trigger of their own.
    dropped_times : (k,) float64, seconds
        Interpolated onsets of those frames (for plots; in ``times`` only when filled).
    duplicate_triggers : (j,) int64
        Indices into ``triggers`` of triggers that came much sooner than one frame
        after the previous one.
    irregular_intervals : (q,) int64
        Indices ``i`` of trigger intervals ``triggers[i] → triggers[i + 1]`` that are
        neither about one frame nor a whole number of frames (jitter, pauses).
    expected_frames : int or None
        The stimulus length the caller expected.
    filled, duplicates_dropped : bool
        Whether dropped frames were interpolated / duplicates removed.
    warnings : tuple of str
        Problems in plain language with numbers; empty when all is well.
    notes : tuple of str
        What was done (repairs, detection threshold), for the record.
    """

    times: FloatArray
    edges: FloatArray
    source: str
    triggers: FloatArray
    dropped_frames: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    dropped_times: FloatArray = field(default_factory=lambda: np.zeros(0))
    duplicate_triggers: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    irregular_intervals: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    expected_frames: int | None = None
    filled: bool = False
    duplicates_dropped: bool = False
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def n_frames(self) -> int:
        """Number of frames with a time."""
        return int(self.times.shape[0])

    @property
    def centres(self) -> FloatArray:
        """(frames,) float64, seconds: the middle of each frame interval."""
        return 0.5 * (self.edges[:-1] + self.edges[1:])

    @property
    def frame_interval_s(self) -> float:
        """Median frame duration, seconds."""
        return float(np.median(np.diff(self.edges)))

    @property
    def frame_rate_hz(self) -> float:
        """1 / median frame duration."""
        return 1.0 / self.frame_interval_s

    @property
    def ok(self) -> bool:
        """True when there is nothing to warn about."""
        return not self.warnings

    def summary(self) -> str:
        """All warnings and notes, one per line (for logs, the CLI and the wizard)."""
        head = (
            f"{count(self.n_frames)} frames from {self.source}, "
            f"{self.frame_rate_hz:.6g} Hz, {seconds(self.edges[0])} to {seconds(self.edges[-1])}"
        )
        return "\n".join([head, *self.warnings, *self.notes])

    def shifted(self, offset_s: float) -> FrameTimes:
        """The same frames ``offset_s`` seconds later (``times``, ``edges``, ``triggers``).

        Applies a lag-scan result: responses found ``k`` frames late are fixed by
        ``frames.shifted(k * frames.frame_interval_s)``.
        """
        note = f"frame times shifted by {seconds(offset_s)}"
        return replace(
            self,
            times=self.times + offset_s,
            edges=self.edges + offset_s,
            triggers=self.triggers + offset_s,
            dropped_times=self.dropped_times + offset_s,
            notes=(*self.notes, note),
        )

    def raise_on_warnings(self, *, path: str | None = None, session: str | None = None) -> None:
        """Raise :class:`TimingError` listing every warning, if there are any."""
        if self.warnings:
            raise TimingError(
                "; ".join(self.warnings),
                path=path,
                session=session,
                hint="Fix the trigger channel or choose the repair options explicitly "
                "(fill_dropped / drop_duplicates), then check the alignment preview.",
            )


def frame_times_from_rate(
    frame_rate_hz: float, n_frames: int, *, start_s: float = 0.0
) -> FrameTimes:
    """Frames at a constant rate: frame ``i`` starts at ``start_s + i / frame_rate_hz``.

    Parameters
    ----------
    frame_rate_hz : float, Hz
    n_frames : int
        Number of stimulus frames.
    start_s : float, seconds
        Onset of the first frame on the response clock.
    """
    if not np.isfinite(frame_rate_hz) or frame_rate_hz <= 0:
        raise TimingError(
            f"frame rate must be a positive number of Hz, got {frame_rate_hz!r}",
            hint="State the stimulus frame rate in Hz, e.g. 30.",
        )
    if n_frames < 1:
        raise TimingError(
            f"need at least one frame, got n_frames={n_frames}",
            hint="Pass the number of frames of the stimulus movie.",
        )
    edges = start_s + np.arange(n_frames + 1, dtype=np.float64) / frame_rate_hz
    return FrameTimes(
        times=edges[:-1].copy(),
        edges=edges,
        source="rate",
        triggers=edges[:-1].copy(),
        expected_frames=n_frames,
        notes=(f"constant rate {frame_rate_hz:.6g} Hz from {seconds(start_s)}",),
    )


def frame_times_from_timestamps(
    timestamps_s: ArrayLike,
    *,
    expected_frames: int | None = None,
    fill_dropped: bool = False,
    drop_duplicates: bool = False,
    tolerance: float = 0.25,
    max_missing_per_gap: int = 10,
    last_frame_s: float | None = None,
) -> FrameTimes:
    """Frame times from one timestamp per frame (a stimulus log, a photodiode).

    Same checks and options as :func:`frame_times_from_triggers` with one trigger per frame.
    """
    return frame_times_from_triggers(
        timestamps_s,
        expected_frames=expected_frames,
        fill_dropped=fill_dropped,
        drop_duplicates=drop_duplicates,
        tolerance=tolerance,
        max_missing_per_gap=max_missing_per_gap,
        last_frame_s=last_frame_s,
        source="timestamps",
    )


def frame_times_from_triggers(
    trigger_times_s: ArrayLike,
    *,
    expected_frames: int | None = None,
    frames_per_trigger: int = 1,
    fill_dropped: bool = False,
    drop_duplicates: bool = False,
    tolerance: float = 0.25,
    max_missing_per_gap: int = 10,
    last_frame_s: float | None = None,
    source: str = "triggers",
) -> FrameTimes:
    """Frame times from trigger times, with dropped / duplicated trigger detection.

    An interval of about ``k`` median intervals (``|ratio - k| <= tolerance``, ``2 <= k
    <= max_missing_per_gap + 1``) means ``k - 1`` frames had no trigger; an interval
    shorter than ``1 - tolerance`` median intervals means the second trigger is a
    duplicate; anything else off by more than ``tolerance`` is irregular (reported,
    never repaired — a long pause is usually a break between stimuli, see
    :func:`~openretina_data.timing.epochs.find_trigger_blocks`).

    Parameters
    ----------
    trigger_times_s : (triggers,) float, seconds
        Increasing trigger times.
    expected_frames : int, optional
        Number of frames of the stimulus; a different count is reported with numbers.
    frames_per_trigger : int
        Frames per trigger (rigs that pulse every n-th frame); frames between triggers
        are spaced evenly.
    fill_dropped : bool
        Insert linearly interpolated times for dropped frames. Off by default: the
        frame before a drop then spans the whole gap.
    drop_duplicates : bool
        Ignore duplicate triggers.
    tolerance : float
        Allowed deviation of an interval from a whole number of median intervals,
        as a fraction of the median interval.
    max_missing_per_gap : int
        Longer gaps are irregular intervals, not dropped frames.
    last_frame_s : float, optional, seconds
        How long the frames of the last trigger last in total; default the median
        trigger interval.
    source : str
        Label stored in the result.
    """
    triggers = _checked_triggers(trigger_times_s)
    if frames_per_trigger < 1:
        raise TimingError(
            f"frames_per_trigger must be at least 1, got {frames_per_trigger}",
            hint="Use 1 when every frame sends a trigger.",
        )
    steps = np.diff(triggers)
    warnings: list[str] = []
    notes: list[str] = []
    median = float(np.median(steps))

    # Duplicates: a trigger well short of one frame after the previous genuine one.
    duplicates = _duplicates(triggers, (1.0 - tolerance) * median)
    clean = np.delete(triggers, duplicates) if duplicates.size else triggers
    if clean.size < 2:
        raise TimingError(
            "fewer than 2 triggers remain after removing duplicates",
            hint="Check the trigger channel and threshold.",
        )
    if duplicates.size:
        what = (
            f"{count(duplicates.size)} duplicate triggers (less than {1 - tolerance:.2g} "
            f"frame after the previous one), first at trigger {count(duplicates[0])} "
            f"({seconds(triggers[duplicates[0]])})"
        )
        if drop_duplicates:
            notes.append(f"ignored {what}")
        else:
            warnings.append(f"{what}; pass drop_duplicates=True to ignore them or raise debounce_s")
            if fill_dropped:
                raise TimingError(
                    f"cannot fill dropped frames while keeping {what}",
                    hint="Pass drop_duplicates=True together with fill_dropped=True.",
                )
        median = float(np.median(np.diff(clean)))

    # Dropped frames: an interval of about k frames (2 <= k <= max + 1).
    clean_steps = np.diff(clean)
    ratio = clean_steps / median
    k = np.rint(ratio)
    near_whole = np.abs(ratio - k) <= tolerance
    dropped_gap = near_whole & (k >= 2) & (k <= max_missing_per_gap + 1)
    missing = np.where(dropped_gap, k - 1, 0).astype(np.int64)
    irregular = np.flatnonzero(~near_whole | (k > max_missing_per_gap + 1))
    position = np.arange(clean.size) + np.concatenate([[0], np.cumsum(missing)])
    total_missing = int(missing.sum())
    if irregular.size:
        worst = int(irregular[np.argmax(np.abs(ratio[irregular] - 1))])
        warnings.append(
            f"{count(irregular.size)} trigger intervals are not a whole number of frames "
            f"(median {seconds(median)}); the most irregular, after trigger {count(worst)} "
            f"at {seconds(float(clean[worst]))}, lasts {seconds(float(clean_steps[worst]))}. "
            "A long pause usually separates two stimuli: cut the recording into epochs first"
        )
    kept = clean if drop_duplicates or not duplicates.size else triggers

    # Frame numbering with the gaps counted.
    gap_start = np.repeat(position[:-1] + 1, missing)
    within = np.arange(total_missing) - np.repeat(np.cumsum(missing) - missing, missing)
    dropped_triggers = gap_start + within
    n_trigger_slots = int(position[-1]) + 1
    if fill_dropped:
        slot_times = np.interp(np.arange(n_trigger_slots), position, clean)
    else:
        slot_times = kept
    last = median if last_frame_s is None else float(last_frame_s)
    slot_edges = np.append(slot_times, slot_times[-1] + last)
    n_slots = slot_times.size
    phase = np.arange(n_slots * frames_per_trigger) / frames_per_trigger
    times = np.interp(phase, np.arange(n_slots + 1), slot_edges)
    edges = np.append(times, slot_edges[-1])
    dropped = (
        dropped_triggers[:, None] * frames_per_trigger + np.arange(frames_per_trigger)
    ).ravel()
    n_frames_full = n_trigger_slots * frames_per_trigger
    if total_missing:
        what = (
            f"{count(dropped.size)} of {count(n_frames_full)} frames had no trigger, "
            f"first at frame {count(dropped[0])} "
            f"(after the trigger at {seconds(float(clean[np.flatnonzero(missing)[0]]))})"
        )
        if fill_dropped:
            notes.append(f"{what}; their times were interpolated")
        else:
            warnings.append(
                f"{what}; pass fill_dropped=True to interpolate their times "
                "(otherwise the frame before each gap spans it)"
            )
    if expected_frames is not None and times.size != expected_frames:
        diff = times.size - expected_frames
        reason = "more" if diff > 0 else "fewer"
        hint = ""
        if not fill_dropped and total_missing and diff + dropped.size == 0:
            hint = " — exactly the dropped frames; fill_dropped=True makes them match"
        warnings.append(
            f"{count(times.size)} frame times but the stimulus has {count(expected_frames)} "
            f"frames: {count(abs(diff))} {reason}{hint}"
        )
    if frames_per_trigger > 1:
        notes.append(f"{frames_per_trigger} frames per trigger, spaced evenly between triggers")
    return FrameTimes(
        times=times,
        edges=edges,
        source=source,
        triggers=triggers,
        dropped_frames=dropped.astype(np.int64),
        dropped_times=np.interp(dropped / frames_per_trigger, position, clean),
        duplicate_triggers=duplicates.astype(np.int64),
        irregular_intervals=irregular.astype(np.int64),
        expected_frames=expected_frames,
        filled=fill_dropped and total_missing > 0,
        duplicates_dropped=drop_duplicates and duplicates.size > 0,
        warnings=tuple(warnings),
        notes=tuple(notes),
    )


def _checked_triggers(trigger_times_s: ArrayLike) -> FloatArray:
    """``(triggers,)`` float64 seconds: at least 2, finite and strictly increasing."""
    triggers = np.asarray(trigger_times_s, dtype=np.float64).ravel()
    if triggers.size < 2:
        raise TimingError(
            f"need at least 2 trigger times to measure the frame interval, got {triggers.size}",
            hint="Check the trigger channel and threshold, or give a frame rate instead.",
        )
    if not np.all(np.isfinite(triggers)):
        raise NonFiniteError(
            f"{count(np.count_nonzero(~np.isfinite(triggers)))} trigger times are NaN/Inf",
            hint="Drop the NaN/Inf entries from the trigger times (or re-detect the triggers "
            "from the raw channel with detect_edges).",
        )
    steps = np.diff(triggers)
    if np.any(steps <= 0):
        first = int(np.flatnonzero(steps <= 0)[0])
        raise TimingError(
            f"trigger times must increase; trigger {count(first + 1)} "
            f"({seconds(triggers[first + 1])}) is not after trigger {count(first)} "
            f"({seconds(triggers[first])})",
            hint="Sort the times, or check that the array holds times and not durations.",
        )
    return triggers


def _duplicates(triggers: FloatArray, min_interval: float) -> IntArray:
    """Indices of triggers less than ``min_interval`` after the previous kept trigger.

    Only the (rare) short intervals are visited one by one, so a burst of bounces
    collapses onto its first trigger without discarding the next genuine one.
    """
    suspects = np.flatnonzero(np.diff(triggers) < min_interval) + 1
    duplicate: set[int] = set()
    for j in suspects.tolist():
        previous = j - 1
        while previous in duplicate:
            previous -= 1
        if triggers[j] - triggers[previous] < min_interval:
            duplicate.add(j)
    return np.asarray(sorted(duplicate), dtype=np.int64)


def as_edges(frames: FrameTimes | ArrayLike) -> FloatArray:
    """Frame edges from a :class:`FrameTimes` or an explicit ``(frames + 1,)`` array, checked."""
    edges = frames.edges if isinstance(frames, FrameTimes) else np.asarray(frames, np.float64)
    if edges.ndim != 1 or edges.size < 2:
        raise ShapeError(
            f"frame edges must be 1-D with at least 2 values, got shape {edges.shape}",
            hint="Pass FrameTimes.edges: one more value than there are frames.",
        )
    if not np.all(np.isfinite(edges)):
        raise NonFiniteError(
            "frame edges contain NaN/Inf",
            hint="Build frame edges with one of the frame_times_from_* functions.",
        )
    if np.any(np.diff(edges) <= 0):
        bad = int(np.flatnonzero(np.diff(edges) <= 0)[0])
        raise TimingError(
            f"frame edges must increase; edge {count(bad + 1)} is not after edge {count(bad)}",
            hint="Build frame edges with one of the frame_times_from_* functions.",
        )
    return edges


__all__ = [
    "FrameTimes",
    "as_edges",
    "frame_times_from_rate",
    "frame_times_from_timestamps",
    "frame_times_from_triggers",
]
