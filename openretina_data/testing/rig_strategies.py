"""Hypothesis strategies drawing random but valid rig experiments (needs the test extra).

:func:`schedules` draws a :class:`~openretina_data.testing.rig_physics.Schedule`: a
training movie and a test movie (20..``max_frames`` frames, test repeats 1..4, either
order), pauses of 0 or 0.3..3 s, 0..3 held frames or 0..3 missed pulses per run of
frames (not both in one run; missed ones not adjacent, not at a first or last frame), refresh 30
or 60 Hz, TTL 10..30 kHz, spike clock 20/25/30 kHz, imaging 3..31 Hz, clock offsets
and drifts of ±100 ppm. :func:`session_plans` adds a format and how files are written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from hypothesis import strategies as st

from openretina_data.testing.rig import SPIKE_FORMATS, TRACE_FORMATS, Format, SessionPlan
from openretina_data.testing.rig_physics import Block, Clock, Schedule

PAUSES = st.one_of(st.just(0.0), st.floats(0.3, 3.0))


@st.composite
def _hiccups(
    draw: st.DrawFn, schedule: Schedule
) -> tuple[tuple[tuple[int, int, int], ...], tuple[tuple[int, int], ...]]:
    """Held frames or missed pulses (never both) in each run of ``schedule``."""
    held: dict[tuple[int, int], int] = {}
    missed: set[tuple[int, int]] = set()
    frames = [block.frames for _, block, _ in schedule.presentations()]
    runs = schedule.runs()
    for run in sorted(set(runs)):
        members = [p for p, r in enumerate(runs) if r == run]
        kind = draw(st.sampled_from(["none", "held", "missed"]))
        for _ in range(draw(st.integers(0, 3)) if kind != "none" else 0):
            p = draw(st.sampled_from(members))
            if kind == "held":
                held[(p, draw(st.integers(0, frames[p] - 2)))] = draw(st.integers(2, 3))
            else:
                frame = draw(st.integers(1, frames[p] - 2))
                if (p, frame - 1) not in missed and (p, frame + 1) not in missed:
                    missed.add((p, frame))
    return tuple((p, i, k) for (p, i), k in sorted(held.items())), tuple(sorted(missed))


@st.composite
def schedules(draw: st.DrawFn, max_frames: int = 400, max_repeats: int = 4) -> Schedule:
    """A random valid experiment (see the module docstring)."""
    train = Block("train", draw(st.integers(20, max_frames)))
    test = Block(
        "test", draw(st.integers(20, max_frames)), draw(st.integers(1, max_repeats)), "test"
    )
    blocks = (train, test) if draw(st.booleans()) else (test, train)
    start = draw(st.floats(0.0, 5000.0))

    def clock() -> Clock:
        return Clock.starting(draw(st.floats(0.02, 2.0)), start, draw(st.floats(-100, 100)))

    shape = Schedule(
        blocks,
        refresh_hz=draw(st.sampled_from([30.0, 60.0])),
        pause_s=draw(PAUSES),
        repeat_pause_s=draw(st.one_of(st.none(), PAUSES)),
    )
    held, missed = draw(_hiccups(shape))
    return replace(
        shape,
        jitter_s=draw(st.floats(0.0, 3e-4)),
        display_start_s=start,
        acquisition=clock(),
        imaging=clock(),
        tail_s=draw(st.floats(0.02, 1.0)),
        held=held,
        missed=missed,
        ttl_rate_hz=float(draw(st.integers(10_000, 30_000))),
        spike_rate_hz=draw(st.sampled_from([20_000.0, 25_000.0, 30_000.0])),
        imaging_rate_hz=draw(st.sampled_from([3.0, 7.5, 15.0, 30.9])),
        pulse_fraction=draw(st.floats(0.2, 0.6)),
    )


@st.composite
def session_plans(
    draw: st.DrawFn,
    formats: Sequence[Format] = SPIKE_FORMATS + TRACE_FORMATS,
    max_frames: int = 400,
    name: str = "session_a",
) -> SessionPlan:
    """A random session: a schedule, one of ``formats``, shuffled spikes or not, a TTL
    in ``.npy`` or HDF5, 3..6 units (or ROIs)."""
    return SessionPlan(
        name,
        draw(st.sampled_from(list(formats))),
        draw(schedules(max_frames=max_frames)),
        shuffled=draw(st.booleans()),
        ttl_file=draw(st.sampled_from(["npy", "hdf5"])),
        units=draw(st.integers(3, 6)),
        seed=draw(st.integers(0, 2**16)),
        row_vector=draw(st.booleans()),
    )
