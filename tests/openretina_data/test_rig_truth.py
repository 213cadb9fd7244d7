"""End to end: `openretina-data convert` with DEFAULT settings gives the rig's truth.

Every recording is simulated by :mod:`openretina_data.testing.rig` from the physics of
the experiment (display jitter, held frames, missed pulses, pauses, clocks with offset
and drift); the recipe is what a user writes for it (``fill_dropped`` and every other
timing option left at its default); the output is read with h5py alone and compared
with the truth by :func:`~openretina_data.testing.rig.dataset_differences`: spike
counts exactly, traces within the stated slope tolerance.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openretina_data.cli import main
from openretina_data.testing.rig import (
    SPIKE_FORMATS,
    TRACE_FORMATS,
    Block,
    Clock,
    Schedule,
    SessionPlan,
    Simulation,
    dataset_differences,
    issue_13_scenario,
    simulate,
)
from openretina_data.testing.rig_strategies import schedules, session_plans

#: RIG_TRUTH_EXAMPLES=500 for a long hunt; CI keeps the default.
PROPERTY = settings(
    max_examples=int(os.environ.get("RIG_TRUTH_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def convert(sim: Simulation) -> list[str]:
    """Convert ``sim``'s recipe as a user would; the differences from the truth."""
    code = main(["convert", str(sim.recipe_path), "--quiet", "--overwrite"])
    assert code == 0, f"convert exited {code} on a valid recording"
    return dataset_differences(sim)


STIMULUS_FILES = st.sampled_from(["npy", "tiff"])


@PROPERTY
@given(plan=session_plans(formats=SPIKE_FORMATS, max_frames=150), movie=STIMULUS_FILES)
def test_spike_sessions_convert_to_the_truth(
    tmp_path_factory: pytest.TempPathFactory, plan: SessionPlan, movie: Literal["npy", "tiff"]
) -> None:
    sim = simulate(tmp_path_factory.mktemp("rig"), [plan], stimulus_file=movie)
    assert convert(sim) == []


@PROPERTY
@given(plan=session_plans(formats=TRACE_FORMATS, max_frames=150))
def test_calcium_sessions_convert_to_the_truth(
    tmp_path_factory: pytest.TempPathFactory, plan: SessionPlan
) -> None:
    sim = simulate(tmp_path_factory.mktemp("rig"), [plan])
    assert convert(sim) == []


@settings(PROPERTY, max_examples=max(1, PROPERTY.max_examples // 3))
@given(
    schedule=schedules(max_frames=120),
    formats=st.lists(st.sampled_from(SPIKE_FORMATS), min_size=2, max_size=3),
)
def test_several_spike_sessions_in_one_recipe(
    tmp_path_factory: pytest.TempPathFactory, schedule: Schedule, formats: list[str]
) -> None:
    plans = [
        SessionPlan(f"session_{i}", f, schedule, shuffled=i == 1, seed=i)  # type: ignore[arg-type]
        for i, f in enumerate(formats)
    ]
    sim = simulate(tmp_path_factory.mktemp("rig"), plans)
    assert convert(sim) == []


def test_issue_13_scenario(tmp_path: Path) -> None:
    """1200 training frames, 150 test frames × 3, 2 s pauses, one held frame, 20 kHz
    TTL; Kilosort 2, Kilosort 4, NWB timestamps; MAT v7.3 calcium at 7.5 Hz."""
    spikes, calcium = issue_13_scenario(tmp_path)
    assert convert(spikes) == []
    assert convert(calcium) == []


CLIP = (Block("movie", 240), Block("clip", 60, repeats=3, split="test"))


@pytest.mark.parametrize("fmt", SPIKE_FORMATS + TRACE_FORMATS)
@pytest.mark.parametrize(
    "case",
    [
        {"pause_s": 2.0},  # pauses between every presentation
        {"pause_s": 0.0},  # one uninterrupted run: the epochs split it by count
        {"pause_s": 1.0, "held": ((0, 100, 2), (2, 0, 3))},  # held frames, one a first frame
        {"pause_s": 1.0, "missed": ((0, 1), (0, 120), (3, 58))},  # missed pulses
        {"pause_s": 0.5, "repeat_pause_s": 0.0, "refresh_hz": 60.0, "ttl_rate_hz": 10_000.0},
        # a held frame in one epoch, a missed pulse in another: pauses between them, so
        # each run's count decides alone
        {"pause_s": 0.5, "held": ((0, 100, 2),), "missed": ((2, 30),)},
        {"pause_s": 0.3, "held": ((1, 0, 2),), "missed": ((0, 1),)},  # found by hypothesis
    ],
    ids=[
        "pauses",
        "no-pause",
        "held",
        "missed",
        "60Hz-back-to-back",
        "held+missed-apart",
        "held-first+missed-apart",
    ],
)
def test_named_cases(tmp_path: Path, fmt: str, case: dict[str, object]) -> None:
    drift = {
        "acquisition": Clock.starting(0.4, 10.0, 90.0),
        "imaging": Clock.starting(0.4, 10.0, -90.0),
    }
    schedule = Schedule(CLIP, **drift, **case)  # type: ignore[arg-type]
    sim = simulate(tmp_path, [SessionPlan("s", fmt, schedule, shuffled=True)])  # type: ignore[arg-type]
    assert convert(sim) == []


def test_spikes_in_pauses_are_in_no_frame(tmp_path: Path) -> None:
    """The session's total in the converted arrays is the truth's: pause spikes are out."""
    sim = simulate(tmp_path, [SessionPlan("s", "kilosort4", Schedule(CLIP, pause_s=3.0))])
    truth = sim.sessions["s"]
    assert truth.spikes_outside > 0
    convert(sim)
    with h5py.File(sim.dataset / "s.hdf5", "r") as f:
        total = float(np.sum(f["responses_movie"][()])) + float(np.sum(f["test_by_trial_clip"][()]))
    expected = sum(int(s.by_trial.sum()) for s in truth.stimuli.values())
    assert total == expected
