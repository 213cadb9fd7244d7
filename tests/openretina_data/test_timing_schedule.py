"""Frame times matched to a schedule: every expectation is built here from the display's physics.

A test draws an experiment (segments, a refresh period with jitter, held frames, pauses
between segments, missed triggers), computes when each frame was really on screen with
plain arithmetic, and checks :func:`schedule_frames` recovers it: every frame's bin
``[start, stop)`` is the time it was on screen, and no pause falls into a bin.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openretina_data.errors import TimingError
from openretina_data.timing.schedule import Segment, schedule_frames, segments_for


@dataclass
class Display:
    """What the screen did: onsets/offsets of every frame, and the triggers it sent."""

    onsets: np.ndarray  # (frames,) seconds
    offsets: np.ndarray  # (frames,) seconds
    triggers: np.ndarray  # onsets with the missed ones removed
    held: list[int]
    missed: list[int]
    period: float
    gaps: dict[int, tuple[int, bool]]  # trigger index -> (periods long, hides missed frames)


@st.composite
def experiments(
    draw: st.DrawFn, *, allow_missed: bool = True, long_pauses: bool = True
) -> tuple[list[Segment], Display]:
    n_segments = draw(st.integers(1, 5))
    lengths = draw(st.lists(st.integers(4, 60), min_size=n_segments, max_size=n_segments))
    segments = [Segment(f"s{i}", n) for i, n in enumerate(lengths)]
    period = draw(st.sampled_from([1 / 30, 1 / 60, 1 / 75.0]))
    jitter = draw(st.floats(0, 0.03)) * period
    total = sum(lengths)
    firsts = np.cumsum([0, *lengths[:-1]])
    lasts = set((np.cumsum(lengths) - 1).tolist())
    inner = [f for f in range(total) if f not in lasts]
    # a held frame is rare: most intervals are one period (else no one could tell the period)
    most = min(3, len(inner) // 4)
    held = (
        sorted(draw(st.lists(st.sampled_from(inner), max_size=most, unique=True))) if inner else []
    )
    hold_for = {f: draw(st.integers(2, 4)) for f in held}
    # pauses: after some segments (never after the last); long ones cannot look like gaps
    pause_after = {
        int(end): draw(st.floats(12, 90) if long_pauses else st.floats(1.6, 9.4)) * period
        for end in sorted(lasts)[:-1]
        if draw(st.booleans())
    }
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    onsets, offsets = np.zeros(total), np.zeros(total)
    t = draw(st.floats(0.0, 5.0))
    for f in range(total):
        onsets[f] = t
        shown = hold_for.get(f, 1) * period + rng.uniform(-jitter, jitter)
        offsets[f] = t + shown
        t += shown + pause_after.get(f, 0.0)
    missed: list[int] = []
    if allow_missed:
        candidates = [
            f
            for f in range(total)
            if f not in held
            and f - 1 not in held
            and f not in set(firsts.tolist())
            and f not in lasts
        ]
        drawn = (
            draw(st.lists(st.sampled_from(candidates), max_size=3, unique=True))
            if candidates
            else []
        )
        missed = sorted(f for f in drawn if f - 1 not in drawn and f + 1 not in drawn)
    triggers = np.delete(onsets, missed)
    kept = np.delete(np.arange(total), missed)
    gaps = {
        int(i): (
            int(kept[i + 1] - kept[i]) + hold_for.get(int(kept[i]), 1) - 1,
            kept[i + 1] - kept[i] > 1,
        )
        for i in range(kept.size - 1)
        if kept[i + 1] - kept[i] > 1 or int(kept[i]) in hold_for
    }
    display = Display(onsets, offsets, triggers, held, missed, period, gaps)
    return segments, display


def _other_assignment_exists(display: Display) -> bool:
    """Could a different set of whole-period intervals hide exactly the missed frames?"""
    missing = len(display.missed)
    true_gaps = {i for i, (_, hides) in display.gaps.items() if hides}
    whole = [(i, k) for i, (k, _) in display.gaps.items()]
    for r in range(len(whole) + 1):
        for combo in itertools.combinations(whole, r):
            if sum(k - 1 for _, k in combo) == missing and {i for i, _ in combo} != true_gaps:
                return True
    return False


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(experiments())
def test_every_bin_is_the_time_its_frame_was_on_screen(
    experiment: tuple[list[Segment], Display],
) -> None:
    segments, display = experiment
    total = sum(s.n_frames for s in segments)
    try:
        frames = schedule_frames(display.triggers, segments)
    except TimingError as error:
        # only when held frames and missed triggers could be swapped without changing the count
        assert display.missed and display.held, error
        assert "cannot tell" in str(error)
        assert _other_assignment_exists(display)
        return
    assert frames.n_frames == total
    on_screen = display.offsets - display.onsets
    # starts: exact where a trigger was sent, within the jitter where it was interpolated
    sent = np.delete(np.arange(total), display.missed)
    np.testing.assert_allclose(frames.starts[sent], display.onsets[sent], rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        frames.starts[display.missed],
        display.onsets[display.missed],
        rtol=0,
        atol=0.05 * display.period,
    )
    assert frames.interpolated_frames.tolist() == display.missed
    assert frames.held_frames.tolist() == display.held
    # stops: the next onset inside a run; the last frame of a run lasts one period
    next_onset = np.append(display.onsets[1:], np.inf)
    paused = display.onsets[1:] - display.offsets[:-1] > 1e-9
    last_of_run = np.append(paused, True)
    inside = ~last_of_run
    np.testing.assert_allclose(
        frames.stops[inside], next_onset[inside], rtol=0, atol=0.05 * display.period
    )
    np.testing.assert_allclose(
        frames.stops[last_of_run] - frames.starts[last_of_run],
        on_screen[last_of_run],
        rtol=0,
        atol=0.1 * display.period,
    )
    # no pause falls into a bin, and the runs are the stretches between pauses
    assert len(frames.runs) == int(paused.sum()) + 1
    assert np.all(frames.stops <= np.append(frames.starts[1:], np.inf) + 1e-12)


@settings(max_examples=60, deadline=None)
@given(experiments(allow_missed=False, long_pauses=False))
def test_short_pauses_with_every_trigger_are_still_pauses(
    experiment: tuple[list[Segment], Display],
) -> None:
    segments, display = experiment
    frames = schedule_frames(display.triggers, segments)
    paused = display.onsets[1:] - display.offsets[:-1] > 1e-9
    assert len(frames.runs) == int(paused.sum()) + 1
    assert frames.interpolated_frames.size == 0
    assert frames.held_frames.tolist() == display.held


def test_the_issue_recording_a_held_frame_is_not_a_shift() -> None:
    # 2 100 frames: 1 200 training, then 300 test x 3, 2 s pauses; frame 518 held 2 periods
    period = 1 / 30
    lengths = [1200, 300, 300, 300]
    onsets, t = [], 10.0
    for block, n in enumerate(lengths):
        for f in range(n):
            onsets.append(t)
            t += period * (2 if (block, f) == (0, 518) else 1)
        t += 2.0
    triggers = np.asarray(onsets)
    frames = schedule_frames(triggers, segments_for([("train", 1200, 1, 0), ("test", 300, 3, 0)]))
    np.testing.assert_array_equal(frames.starts, triggers)  # no frame moved
    assert frames.held_frames.tolist() == [518]
    assert frames.stops[518] - frames.starts[518] == pytest.approx(2 * period)
    assert frames.stops[1199] - frames.starts[1199] == pytest.approx(period)  # not 2 s
    assert [r.n_frames for r in frames.runs] == lengths


def test_left_over_and_missing_frame_times_are_errors_with_numbers() -> None:
    segments = segments_for([("train", 10, 1, 0)])
    with pytest.raises(
        TimingError, match="11 frame times but the epochs need 10 frames: 1 left over"
    ):
        schedule_frames(np.arange(11) / 30, segments)
    with pytest.raises(TimingError, match="9 frame times cannot be matched to the 10 frames"):
        schedule_frames(np.arange(9) / 30, segments)


def test_a_pause_inside_an_epoch_is_an_error_naming_frame_and_time() -> None:
    onsets = np.arange(20) / 30
    onsets[10:] += 1.0  # a 1 s pause after frame 9 of a 20-frame movie
    with pytest.raises(
        TimingError, match=r"after frame 9 \(300 ms, in train\).*pause inside an epoch"
    ):
        schedule_frames(onsets, segments_for([("train", 20, 1, 0)]))


@pytest.mark.parametrize(("fill", "held", "missed"), [(True, [], [6]), (False, [6], [])])
def test_explicit_fill_dropped_forces_one_reading(
    fill: bool, held: list[int], missed: list[int]
) -> None:
    onsets = np.delete(np.arange(12) / 30, 7)  # one two-period interval after frame 6
    n = 12 if fill else 11
    frames = schedule_frames(onsets, [Segment("m", n)], fill_dropped=fill)
    assert frames.held_frames.tolist() == held
    assert frames.interpolated_frames.tolist() == [m + 1 for m in missed]


def test_runs_decide_held_versus_missed_when_pauses_separate_them() -> None:
    # movie 240 frames, clip 60 x 3, 0.3 s grey pauses (9 refreshes); movie frame 1 sent no
    # pulse, clip repeat 1's frame 0 was held for 2 refreshes (found by the rig simulator)
    period = 1 / 30
    onsets, t = [], 10.0
    for block, n in enumerate([240, 60, 60, 60]):
        for f in range(n):
            onsets.append(t)
            t += period * (2 if (block, f) == (1, 0) else 1)
        t += 9 * period
    truth = np.asarray(onsets)
    frames = schedule_frames(
        np.delete(truth, 1), segments_for([("movie", 240, 1, 0), ("clip", 60, 3, 0)])
    )
    assert frames.interpolated_frames.tolist() == [1]
    assert frames.held_frames.tolist() == [240]
    np.testing.assert_allclose(frames.starts, truth, rtol=0, atol=1e-9)
    assert [r.n_frames for r in frames.runs] == [240, 60, 60, 60]
