"""Frame times that know the experiment: runs, pauses, held and missed frames, decided by counts.

A recording shows a schedule of *segments* — the frames skipped before an epoch, then
each repeat of its stimulus — and the display may pause (a grey screen, no frames)
between any two segments. The triggers (or timestamps) mark frame onsets. Every
interval between two onsets is one of:

- **one period** (within ``tolerance`` of the median interval): the next frame;
- **a pause**, only after the last frame of a segment: that frame lasts one period of
  its run and the pause falls into no frame's bin;
- **a held frame** (the display showed a frame for longer), only inside a segment: the
  frame's bin spans the whole interval;
- **missed triggers**: an interval of ``k`` whole periods hides ``k - 1`` frames whose
  onsets are interpolated.

Which of these each long interval is, is decided by the counts, never by a default:
with as many onsets as frames nothing can be missing (long intervals are held frames or
pauses); with fewer, triggers are interpolated only where an interval is a whole
number of periods and the count then matches exactly — and only when exactly one
assignment makes it match. Anything else is a :class:`~openretina_data.errors.TimingError`
with the numbers. ``fill_dropped=True`` / ``False`` force the missed / held reading of
whole-period intervals; the counts must still match.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from openretina_data.errors import TimingError
from openretina_data.timing._report import count, listing, seconds

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
FillDropped = bool | Literal["auto"]

#: Interpretations of one long interval.
_PAUSE, _HELD, _MISSED = 0, 1, 2
#: Above this many (long intervals × possible missing frames) the search is refused.
_MAX_STATES = 20_000_000


@dataclass(frozen=True)
class Segment:
    """Consecutive frames shown without a possible pause: a repeat, or skipped frames.

    Attributes
    ----------
    label : str
        ``"natural"``, ``"test_clip repeat 2 of 3"``, ``"2 frames skipped before natural"``.
    n_frames : int
    """

    label: str
    n_frames: int


@dataclass(frozen=True)
class Run:
    """Frames shown back to back, between two pauses (or the recording's ends)."""

    first_frame: int
    n_frames: int
    start_s: float
    stop_s: float
    period_s: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "first_frame": self.first_frame,
            "n_frames": self.n_frames,
            "start_s": self.start_s,
            "stop_s": self.stop_s,
            "period_s": self.period_s,
        }


@dataclass(frozen=True)
class ScheduledFrames:
    """When each frame of a schedule was on screen: onsets, ends, and how they were decided.

    Attributes
    ----------
    starts, stops : (frames,) float64, seconds
        Frame ``i``'s bin is ``[starts[i], stops[i])``. Inside a run ``stops[i] ==
        starts[i + 1]``; the last frame of a run ends one run period after its start.
    segments : tuple of Segment
        The schedule the frames were matched to.
    runs : tuple of Run
    held_frames : (h,) int64
        Frames whose display lasted longer than one period (their bin spans it).
    interpolated_frames : (m,) int64
        Frames that had no trigger; their onsets were interpolated.
    period_s : float
        Median interval between consecutive onsets inside runs.
    triggers : (n,) float64, seconds
        The onsets as given (after duplicate removal, if any).
    decision : str
        What the counts decided, in plain language.
    warnings, notes : tuple of str
    """

    starts: FloatArray
    stops: FloatArray
    segments: tuple[Segment, ...]
    runs: tuple[Run, ...]
    held_frames: IntArray
    interpolated_frames: IntArray
    period_s: float
    triggers: FloatArray
    decision: str
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def n_frames(self) -> int:
        return int(self.starts.size)

    @property
    def frame_rate_hz(self) -> float:
        """Measured: 1 / the median onset interval inside runs."""
        return 1.0 / self.period_s

    @property
    def pauses(self) -> list[tuple[int, float, float]]:
        """``(after_frame, start_s, duration_s)`` of each pause between runs."""
        return [
            (a.first_frame + a.n_frames - 1, a.stop_s, b.start_s - a.stop_s)
            for a, b in zip(self.runs[:-1], self.runs[1:], strict=True)
        ]

    def bins(self, start: int, stop: int) -> tuple[FloatArray, IntArray]:
        """Edges covering frames ``start:stop`` and which of their intervals are those frames.

        Returns ``(edges, take)``: ``edges`` strictly increasing, and interval
        ``[edges[take[j]], edges[take[j] + 1])`` is frame ``start + j``. The intervals
        not taken are pauses, which belong to no frame.
        """
        starts, stops = self.starts[start:stop], self.stops[start:stop]
        gap = np.append(stops[:-1] < starts[1:], False)
        edges = np.empty(starts.size + 1 + int(gap.sum()), dtype=np.float64)
        take = np.arange(starts.size) + np.concatenate([[0], np.cumsum(gap)[:-1]])
        edges[take] = starts
        edges[take + 1] = stops
        return edges, take.astype(np.int64)


def segments_for(epochs: Sequence[tuple[str, int, int, int]]) -> list[Segment]:
    """Segments of ``(stimulus, frames, repeats, skip_frames)`` epochs, in order."""
    segments: list[Segment] = []
    for stimulus, frames, repeats, skip in epochs:
        if skip:
            segments.append(Segment(f"{count(skip)} frames skipped before {stimulus}", skip))
        for repeat in range(repeats):
            label = stimulus if repeats == 1 else f"{stimulus} repeat {repeat + 1} of {repeats}"
            segments.append(Segment(label, frames))
    return segments


def schedule_frames(
    onsets_s: ArrayLike,
    segments: Sequence[Segment],
    *,
    fill_dropped: FillDropped = "auto",
    tolerance: float = 0.25,
    max_missing_per_gap: int = 10,
    max_held_periods: int = 4,
) -> ScheduledFrames:
    """Match frame onsets to a schedule of segments; see the module docstring.

    Parameters
    ----------
    onsets_s : (n,) float, seconds
        Increasing frame onsets (triggers or timestamps), duplicates already removed.
    segments : sequence of Segment
        The frames the recording should hold, in order.
    fill_dropped : "auto", True or False
        ``"auto"``: the counts decide held vs missed. ``True``: every whole-period
        interval inside a segment hides missed triggers. ``False``: nothing is missed.
    tolerance : float
        How far (in periods) an interval may be from a whole number of periods.
    max_missing_per_gap : int
        At most this many triggers missed in a row.
    max_held_periods : int
        A display holds a frame for at most this many refresh periods; a longer interval
        inside a segment that is no missed trigger is a pause where no pause can be (an
        error). This also keeps a pause from being read as a frame held across it.

    Raises
    ------
    TimingError
        Onsets left over, too few, a pause inside a segment, or more than one way to
        make the count match.
    """
    onsets = np.asarray(onsets_s, dtype=np.float64).ravel()
    lengths = np.array([s.n_frames for s in segments], dtype=np.int64)
    if onsets.size < 2 or lengths.sum() < 1:
        raise TimingError(
            f"need at least 2 frame times and 1 frame, got {onsets.size} frame times for "
            f"{count(int(lengths.sum()))} frames",
            hint="Check the trigger channel and threshold, or give a frame rate instead.",
        )
    steps = np.diff(onsets)
    # the period from the ordinary intervals: long ones (pauses, held, missed) can be many
    ordinary = steps[steps <= 1.5 * np.percentile(steps, 10)]
    period = float(np.median(ordinary))
    n, total = int(onsets.size), int(lengths.sum())
    ratio = steps / period
    long = np.flatnonzero(ratio > 1 + tolerance)
    whole = np.rint(ratio[long])
    missable = (
        (np.abs(ratio[long] - whole) <= tolerance)
        & (whole >= 2)
        & (whole <= max_missing_per_gap + 1)
    )
    gap_missing = np.where(missable, whole - 1, 0).astype(np.int64)
    holdable = ratio[long] <= max_held_periods + tolerance
    if fill_dropped is True:
        holdable &= ~missable
    if fill_dropped is False:
        gap_missing[:] = 0
    missing = total - n
    if missing < 0:
        raise TimingError(
            f"{count(n)} frame times but the epochs need {count(total)} frames: "
            f"{count(-missing)} left over, the first extra at {seconds(float(onsets[total]))}"
            + _layout(onsets, long, segments),
            hint="Add the stimulus shown then to the epochs (or skip_frames before an "
            "epoch), or raise debounce_s / set drop_duplicates if triggers bounce.",
        )
    # The last frame of each segment, and the first frame of the next.
    segment_end = np.cumsum(lengths)
    choices = _search(long, gap_missing, holdable, segment_end, missing, n)
    if choices is None:
        raise TimingError(
            _no_match(onsets, long, gap_missing, segments, missing, n, total, fill_dropped),
            hint=_no_match_hint(fill_dropped, missing),
        )
    if isinstance(choices, list):
        raise TimingError(
            f"{count(missing)} of {count(total)} frames have no frame time, and "
            f"{count(len(choices))} long intervals could hide them (after the onsets at "
            f"{listing([seconds(float(onsets[g])) for g in choices])}): the counts cannot tell "
            "held frames from missed triggers here",
            hint="If every one of them is a missed trigger set fill_dropped: true, if every one "
            "is a held frame set fill_dropped: false; when both happened no setting can tell them "
            "apart: record a photodiode on every frame, or leave this session out.",
        )
    return _build(onsets, segments, segment_end, long, choices, whole, period)


def _search(
    long: IntArray,
    gap_missing: IntArray,
    holdable: NDArray[np.bool_],
    segment_end: IntArray,
    missing: int,
    n: int,
) -> NDArray[np.int8] | list[int] | None:
    """The one interpretation per long interval that makes ``missing`` frames appear.

    Dynamic programming over the long intervals with the state "frames missed so far"
    (vectorised over that state). Returns the choices, ``None`` when none works, or the
    onset indices of the intervals that differ between two working assignments.
    """
    g_count, states = long.size, missing + 1
    if g_count * states > _MAX_STATES:
        raise TimingError(
            f"{count(g_count)} irregular frame intervals with {count(missing)} frames missing: "
            "too irregular to match to the epochs",
            hint="Check the trigger channel, threshold and debounce_s.",
        )
    offsets = np.arange(states)
    # forward[g, o]: ways (capped at 2) to reach long interval g with o frames missed.
    forward = np.zeros((g_count + 1, states), dtype=np.int8)
    forward[0, 0] = 1
    options = np.zeros((g_count, 3, states), dtype=bool)  # option allowed at (g, o)
    for g in range(g_count):
        frame = long[g] + offsets  # the frame whose onset starts this interval
        is_last = np.isin(frame + 1, segment_end)
        inside = ~is_last & (frame + 1 < segment_end[-1])
        options[g, _PAUSE] = is_last
        options[g, _HELD] = inside & holdable[g]
        k = int(gap_missing[g])
        options[g, _MISSED] = k > 0
        here = forward[g]
        nxt = np.zeros(states, dtype=np.int16)
        nxt += np.where(options[g, _PAUSE] | options[g, _HELD], here, 0)
        if k > 0 and k < states:
            nxt[k:] += np.where(options[g, _MISSED][:-k], here[:-k], 0)
        forward[g + 1] = np.minimum(nxt, 2)
    if forward[g_count, missing] == 0:
        return None
    # backward[g, o]: from state o before interval g, the end state is reachable
    stay = options[:, _PAUSE] | options[:, _HELD]
    backward = np.zeros((g_count + 1, states), dtype=bool)
    backward[g_count, missing] = True
    for g in range(g_count - 1, -1, -1):
        k = int(gap_missing[g])
        backward[g] = stay[g] & backward[g + 1]
        if 0 < k < states:
            backward[g, :-k] |= options[g, _MISSED, :-k] & backward[g + 1, k:]
    if forward[g_count, missing] > 1:
        ambiguous = []
        for g in range(g_count):
            k = int(gap_missing[g])
            live = forward[g] > 0
            kept = bool(np.any(live & stay[g] & backward[g + 1]))
            moved = 0 < k < states and bool(
                np.any(live[:-k] & options[g, _MISSED, :-k] & backward[g + 1, k:])
            )
            if kept and moved:
                ambiguous.append(int(long[g]))
        return ambiguous
    chosen = np.zeros(g_count, dtype=np.int8)
    o = 0
    for g in range(g_count):
        if stay[g, o] and backward[g + 1, o]:
            chosen[g] = _PAUSE if options[g, _PAUSE, o] else _HELD
        else:
            chosen[g] = _MISSED
            o += int(gap_missing[g])
    return chosen


def _build(
    onsets: FloatArray,
    segments: Sequence[Segment],
    segment_end: IntArray,
    long: IntArray,
    choices: NDArray[np.int8],
    whole: FloatArray,
    period: float,
) -> ScheduledFrames:
    """Frame starts / stops from the chosen interpretation of every long interval."""
    n = onsets.size
    extra = np.zeros(n, dtype=np.int64)  # frames hidden after onset i
    missed = choices == _MISSED
    extra[long[missed]] = (whole[missed] - 1).astype(np.int64)
    frame_of = np.arange(n) + np.concatenate([[0], np.cumsum(extra)[:-1]])
    total = int(frame_of[-1]) + 1
    starts = np.interp(np.arange(total), frame_of, onsets)
    pause_after = frame_of[long[choices == _PAUSE]]
    run_ends = np.append(pause_after, total - 1)
    run_firsts = np.concatenate([[0], pause_after + 1])
    stops = np.append(starts[1:], np.nan)
    runs = []
    intervals = np.diff(starts)
    for first, last in zip(run_firsts.tolist(), run_ends.tolist(), strict=True):
        inner = intervals[first:last]
        inner = inner[np.abs(inner / period - 1) <= 0.25]  # held and missed frames left out
        run_period = float(np.median(inner)) if inner.size else period
        stops[last] = starts[last] + run_period
        runs.append(
            Run(first, last - first + 1, float(starts[first]), float(stops[last]), run_period)
        )
    held = frame_of[long[choices == _HELD]]
    interpolated = np.setdiff1d(np.arange(total), frame_of)
    inner_steps = np.concatenate(
        [intervals[a:b] for a, b in zip(run_firsts, run_ends, strict=True)]
    )
    normal = inner_steps[np.abs(inner_steps / period - 1) <= 0.25]
    # the mean, not the median: a channel sampled at 2 kHz quantises 33.3 ms to 33 or 34 ms
    measured = float(np.mean(normal)) if normal.size else period
    decision = _decision(held, interpolated, runs, starts, stops, measured)
    return ScheduledFrames(
        starts=starts,
        stops=stops,
        segments=tuple(segments),
        runs=tuple(runs),
        held_frames=held.astype(np.int64),
        interpolated_frames=interpolated.astype(np.int64),
        period_s=measured,
        triggers=onsets,
        decision=decision,
    )


def _decision(
    held: IntArray,
    interpolated: IntArray,
    runs: list[Run],
    starts: FloatArray,
    stops: FloatArray,
    period: float,
) -> str:
    parts = [f"{count(starts.size)} frames in {count(len(runs))} run(s)"]
    if len(runs) > 1:
        parts.append(f"{count(len(runs) - 1)} pause(s) between segments (no frame spans them)")
    if held.size:
        spans = [(stops[f] - starts[f]) / period for f in held]
        parts.append(
            f"{count(held.size)} held frame(s) (frame {listing(held.tolist())}, "
            f"on screen {listing([f'{s:.2g}' for s in spans])} periods): every frame had "
            "its own frame time, so nothing was missing"
        )
    if interpolated.size:
        parts.append(
            f"{count(interpolated.size)} frame(s) had no frame time (frame "
            f"{listing(interpolated.tolist())}): interpolated, which makes the count match"
        )
    return "; ".join(parts)


def _layout(onsets: FloatArray, long: IntArray, segments: Sequence[Segment]) -> str:
    """`` (found runs of 600, 150 frame times; the epochs need 600, 150, 150)``."""
    if not long.size:
        runs = [onsets.size]
    else:
        bounds = np.concatenate([[0], long + 1, [onsets.size]])
        runs = np.diff(bounds).tolist()
    shown = listing([int(r) for r in runs], limit=8)
    need = listing([s.n_frames for s in segments], limit=8)
    return f" (stretches between long intervals: {shown}; the epochs need {need})"


def _no_match(
    onsets: FloatArray,
    long: IntArray,
    gap_missing: IntArray,
    segments: Sequence[Segment],
    missing: int,
    n: int,
    total: int,
    fill_dropped: FillDropped,
) -> str:
    head = f"{count(n)} frame times cannot be matched to the {count(total)} frames of the epochs"
    if missing and not gap_missing.any():
        head += (
            f": {count(missing)} frames have no frame time and no interval is whole periods long"
        )
    elif missing and int(gap_missing.sum()) < missing:
        head += (
            f": {count(missing)} frames have no frame time but the whole-period intervals "
            f"hide at most {count(int(gap_missing.sum()))}"
        )
    # The first long interval that cannot be a pause or a held frame in the plain reading.
    segment_end = np.cumsum([s.n_frames for s in segments])
    for g, i in enumerate(long.tolist()):
        if i + 1 not in segment_end and gap_missing[g] == 0:
            step = float(onsets[i + 1] - onsets[i])
            where = next(s.label for s, end in zip(segments, segment_end, strict=True) if i < end)
            head += (
                f"; the interval after frame {count(i)} ({seconds(float(onsets[i]))}, "
                f"in {where}) lasts {seconds(step)}: a pause inside an epoch"
            )
            break
    return head + _layout(onsets, long, segments)


def _no_match_hint(fill_dropped: FillDropped, missing: int) -> str:
    if fill_dropped is False and missing:
        return "fill_dropped is false, so no missed trigger is filled in: set it to auto."
    return (
        "Check that the epochs (stimuli, repeats, skip_frames) list what was shown, in order, "
        "and the trigger channel's threshold and debounce_s."
    )


__all__ = ["FillDropped", "Run", "ScheduledFrames", "Segment", "schedule_frames", "segments_for"]
