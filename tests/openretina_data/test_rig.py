"""The rig simulator against arithmetic written here and third-party readers.

Nothing here calls the converter: each test re-derives a fact about the simulated
experiment from the files (numpy threshold crossings, pynwb, h5py, csv) and the
simulated timeline, and checks the truth the simulator claims.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import h5py
import jsonschema
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from openretina_data.testing.rig import (
    SPIKE_FORMATS,
    TRACE_FORMATS,
    Block,
    Clock,
    Schedule,
    SessionPlan,
    SessionTruth,
    Simulation,
    StimulusTruth,
    dataset_differences,
    simulate,
)
from openretina_data.testing.rig_strategies import session_plans

SCHEMA = Path(__file__).parents[2] / "openretina_data" / "resources" / "recipe.schema.json"
RECIPES = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
BLOCKS = (Block("movie", 90), Block("clip", 40, repeats=3, split="test"))
FAST = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def rising_edges(trace: np.ndarray) -> np.ndarray:
    """Sample indices where the channel first crosses halfway between its min and max."""
    high = trace > (float(trace.min()) + float(trace.max())) / 2
    return np.flatnonzero(~high[:-1] & high[1:]) + 1


def phy_spikes(folder: Path) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    """Samples, clusters and final labels, read with numpy and csv only."""
    samples = np.load(folder / "spike_times.npy").reshape(-1).astype(np.int64)
    clusters = np.load(folder / "spike_clusters.npy").reshape(-1).astype(np.int64)
    labels: dict[int, str] = {}
    for name, column in (("cluster_KSLabel.tsv", "KSLabel"), ("cluster_group.tsv", "group")):
        with (folder / name).open(newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                labels[int(row["cluster_id"])] = row.get(column) or labels[int(row["cluster_id"])]
    return samples, clusters, labels


def counts_by_arithmetic(truth: SessionTruth, times: list[np.ndarray]) -> list[np.ndarray]:
    """(units, frames) counts per presentation: spikes (display clock) in [onset, offset)."""
    out = []
    for pres in truth.timeline:
        counts = np.zeros((len(times), len(pres.onsets)), dtype=np.int64)
        for u, t in enumerate(times):
            index = np.searchsorted(pres.onsets, t, side="right") - 1
            inside = (index >= 0) & (t < pres.offsets[np.clip(index, 0, None)])
            np.add.at(counts[u], index[inside], 1)
        out.append(counts)
    return out


def check_spike_session(sim: Simulation, truth: SessionTruth, schedule: Schedule) -> None:
    fs = schedule.spike_rate_hz
    if truth.format == "nwb":
        from pynwb import NWBHDF5IO

        with NWBHDF5IO(str(truth.paths["nwb"]), "r") as io:
            nwb = io.read()
            units = nwb.units.to_dataframe()
            stamps = np.asarray(nwb.stimulus["frame_onsets"].timestamps[:])
        kept = units[units["quality"] == "good"]
        times = [np.sort(np.asarray(t)) for t in kept["spike_times"]]
        ids = np.asarray(kept.index, dtype=np.int64)
        every = sum(len(t) for t in units["spike_times"])
        assert all(np.allclose(t * fs, np.round(t * fs), atol=1e-6) for t in times)
    else:
        samples, clusters, labels = phy_spikes(truth.paths["phy"])
        ids = np.array(sorted(i for i, label in labels.items() if label == "good"))
        times = [np.sort(samples[clusters == i]) / fs for i in ids]
        every = samples.size
        trace = np.load(truth.paths["ttl"]) if truth.paths["ttl"].suffix == ".npy" else None
        if trace is None:
            with h5py.File(truth.paths["ttl"], "r") as f:
                trace = f["ttl"][()]
        assert trace.dtype == np.int16
        stamps = rising_edges(trace) / schedule.ttl_rate_hz
    assert np.array_equal(ids, truth.unit_ids)
    # one edge per pulsed frame, within one TTL sample after the true onset
    onsets = np.concatenate([truth.clock.at(p.onsets[p.pulsed]) for p in truth.timeline])
    assert stamps.shape == onsets.shape
    assert np.all((stamps >= onsets - 1e-9) & (stamps < onsets + 1 / schedule.ttl_rate_hz + 1e-9))
    # counts re-derived from the files equal the truth; every spike is either in a frame
    # or in a gap, and far enough from every frame edge
    display = [truth.clock.display(t) for t in times]
    derived = counts_by_arithmetic(truth, display)
    by_stim: dict[str, list[np.ndarray]] = {}
    for pres, counts in zip(truth.timeline, derived, strict=True):
        by_stim.setdefault(pres.stimulus, []).append(counts)
    for name, stim in truth.stimuli.items():
        assert np.array_equal(np.stack(by_stim[name]), stim.by_trial)
        assert np.allclose(stim.responses, stim.by_trial.mean(axis=0))
    inside = sum(int(c.sum()) for c in derived)
    assert inside + truth.spikes_outside == sum(len(t) for t in times)
    assert every >= sum(len(t) for t in times)
    edges = np.concatenate([np.r_[p.onsets, p.offsets[-1]] for p in truth.timeline])
    edges.sort()
    spikes = np.concatenate(display)
    nearest = np.abs(spikes[:, None] - edges[None, :]).min(axis=1) if spikes.size else spikes
    assert np.all(nearest >= schedule.edge_margin_s - 1.0 / fs)


def check_trace_session(sim: Simulation, truth: SessionTruth, schedule: Schedule) -> None:
    if truth.format == "mat":
        with open(truth.paths["mat"], "rb") as handle:
            assert handle.read(19) == b"MATLAB 7.3 MAT-file"
        with h5py.File(truth.paths["mat"], "r") as f:
            traces = f["traces"][()].T  # h5py sees MATLAB's axes reversed
            stamps = f["frame_times"][()].reshape(-1)
            assert float(np.squeeze(f["fs"][()])) == schedule.imaging_rate_hz
        rois = np.arange(traces.shape[0])
    elif truth.format == "nwb_ophys":
        from pynwb import NWBHDF5IO

        with NWBHDF5IO(str(truth.paths["nwb"]), "r") as io:
            nwb = io.read()
            series = nwb.processing["ophys"]["Fluorescence"]["RoiResponseSeries"]
            traces = np.asarray(series.data[:]).T  # NWB stores (time, rois)
            assert series.rate == schedule.imaging_rate_hz and series.starting_time == 0.0
            stamps = np.asarray(nwb.stimulus["frame_onsets"].timestamps[:])
        rois = np.arange(traces.shape[0])
    else:
        folder = truth.paths["suite2p"]
        traces = np.load(folder / "F.npy").astype(np.float64)
        ops = np.load(folder / "ops.npy", allow_pickle=True).item()
        assert ops["fs"] == schedule.imaging_rate_hz and ops["nframes"] == traces.shape[1]
        rois = np.flatnonzero(np.load(folder / "iscell.npy")[:, 0] == 1)
        stamps = np.load(truth.paths["frame_times"])
    assert np.array_equal(rois, truth.unit_ids)
    onsets = np.concatenate([truth.clock.at(p.onsets[p.pulsed]) for p in truth.timeline])
    assert np.all((stamps >= onsets - 1e-9) & (stamps < onsets + 1 / schedule.ttl_rate_hz + 1e-9))
    # the stated tolerance holds for an independent resampler: the linear interpolant of
    # the samples averaged over each frame on a fine grid (numpy only)
    sample_times = np.arange(traces.shape[1]) / schedule.imaging_rate_hz
    assert truth.trace_tolerance is not None and truth.trace_tolerance_linear is not None
    for pres in truth.timeline:
        a, b = truth.clock.at(pres.onsets), truth.clock.at(pres.offsets)
        grid = a[:, None] + (b - a)[:, None] * (np.arange(64) + 0.5)[None, :] / 64
        means = np.stack([np.interp(grid, sample_times, traces[r]).mean(axis=1) for r in rois])
        trial = [p for p in truth.timeline if p.stimulus == pres.stimulus].index(pres)
        expected = truth.stimuli[pres.stimulus].by_trial[trial]
        assert np.all(np.abs(means - expected) <= truth.trace_tolerance_linear + 1e-5)
        # and the slope tolerance for the crudest one: the sample before each time (hold)
        before = np.floor(grid * schedule.imaging_rate_hz).astype(np.int64)
        held = np.stack([traces[r][before].mean(axis=1) for r in rois])
        assert np.all(np.abs(held - expected) <= truth.trace_tolerance + 1e-5)
        assert np.all(truth.trace_tolerance_linear <= truth.trace_tolerance)


def check_timeline(truth: SessionTruth, schedule: Schedule) -> None:
    period = 1.0 / schedule.refresh_hz
    slack = 2 * schedule.jitter_s + 1e-9
    held = {(h["stimulus"], h["repeat"], h["frame"]): h["refreshes"] for h in truth.held}
    for pres in truth.timeline:
        k = np.array(
            [held.get((pres.stimulus, pres.repeat, i), 1) for i in range(len(pres.onsets))]
        )
        assert np.all(np.abs(pres.offsets - pres.onsets - k * period) <= slack)
        assert np.array_equal(pres.offsets[:-1], pres.onsets[1:])
        assert int((~pres.pulsed).sum()) == sum(
            1 for m in truth.missed if (m["stimulus"], m["repeat"]) == (pres.stimulus, pres.repeat)
        )
    for a, b in truth.pauses:
        refreshes = (b - a) / truth.clock.scale / period
        assert abs(refreshes - round(refreshes)) * period <= slack and b > a


def check(sim: Simulation, plans: list[SessionPlan]) -> None:
    RECIPES.validate(sim.recipe)
    for plan in plans:
        truth = sim.sessions[plan.name]
        check_timeline(truth, plan.schedule)
        if truth.kind == "spike_times":
            check_spike_session(sim, truth, plan.schedule)
        else:
            check_trace_session(sim, truth, plan.schedule)


@FAST
@given(plan=session_plans(max_frames=80))
def test_random_sessions_are_self_consistent(
    tmp_path_factory: pytest.TempPathFactory, plan: SessionPlan
) -> None:
    sim = simulate(tmp_path_factory.mktemp("rig"), [plan])
    check(sim, [plan])


@pytest.mark.parametrize("fmt", SPIKE_FORMATS + TRACE_FORMATS)
def test_each_format_with_held_missed_and_drift(tmp_path: Path, fmt: str) -> None:
    schedule = Schedule(
        BLOCKS,
        held=((0, 30, 2), (0, 31, 3)),
        missed=((2, 5), (3, 7), (3, 20)),
        pause_s=0.5,
        acquisition=Clock.starting(0.7, 10.0, 80.0),
        imaging=Clock.starting(0.3, 10.0, -60.0),
    )
    plan = SessionPlan("s", fmt, schedule)  # type: ignore[arg-type]
    sim = simulate(tmp_path, [plan], stimulus_file="tiff")
    check(sim, [plan])
    truth = sim.sessions["s"]
    assert [(h["frame"], h["refreshes"]) for h in truth.held] == [(30, 2), (31, 3)]
    assert [(m["repeat"], m["frame"]) for m in truth.missed] == [(1, 5), (2, 7), (2, 20)]
    assert len(truth.pauses) == 3 and truth.stimuli["clip"].by_trial.shape[0] == 3


def test_shuffled_spikes_are_the_same_spikes(tmp_path: Path) -> None:
    schedule = Schedule(BLOCKS, pause_s=0.4)
    written = []
    for shuffled in (False, True):
        sim = simulate(
            tmp_path / str(shuffled), [SessionPlan("s", "kilosort4", schedule, shuffled)]
        )
        samples, clusters, _ = phy_spikes(sim.sessions["s"].paths["phy"])
        written.append((samples, clusters))
    (sorted_s, sorted_c), (shuffled_s, shuffled_c) = written
    assert np.all(np.diff(sorted_s) >= 0) and np.any(np.diff(shuffled_s) < 0)
    assert sorted(zip(sorted_s, sorted_c, strict=True)) == sorted(
        zip(shuffled_s, shuffled_c, strict=True)
    )


def test_pauses_hold_spikes_that_belong_to_no_frame(tmp_path: Path) -> None:
    sim = simulate(tmp_path, [SessionPlan("s", "kilosort2", Schedule(BLOCKS, pause_s=2.0))])
    truth = sim.sessions["s"]
    assert len(truth.pauses) == 3 and all(2.0 - 0.04 < b - a < 2.0 + 0.04 for a, b in truth.pauses)
    assert truth.spikes_outside > 0


@pytest.mark.parametrize(
    ("held", "missed"),
    [
        (((0, 89, 2),), ()),  # held last frame: nothing after it to measure
        ((), ((0, 0),)),  # missed first pulse
        ((), ((0, 89),)),  # missed last pulse
        ((), ((1, 5), (1, 6))),  # adjacent missed pulses
        (((1, 3, 2),), ((2, 9),)),  # held and missed in one block
        (((0, 3, 2),), ((1, 9),)),  # ... or in two blocks of one run (pause_s=0 below)
    ],
)
def test_ambiguous_schedules_are_refused(
    held: tuple[tuple[int, int, int], ...], missed: tuple[tuple[int, int], ...]
) -> None:
    with pytest.raises(ValueError):
        Schedule(BLOCKS, held=held, missed=missed, pause_s=0.0).check()
    if held and missed and held[0][0] == 0:  # the same hiccups are fine in separate runs
        Schedule(BLOCKS, held=held, missed=missed, pause_s=0.5).check()


def test_margin_must_exceed_quantisation_and_jitter() -> None:
    with pytest.raises(ValueError, match="edge_margin_s"):
        Schedule(BLOCKS, jitter_s=1e-3, edge_margin_s=1.5e-3).check()
    with pytest.raises(ValueError, match="clock starts after"):
        Schedule(BLOCKS, acquisition=Clock.starting(-1.0, 10.0)).check()


def write_layout(sim: Simulation, folder: Path, edit: object = None) -> Path:
    """A hand-made dataset holding the truth itself (h5py), optionally edited."""
    folder.mkdir()
    for name, truth in sim.sessions.items():
        with h5py.File(folder / f"{name}.hdf5", "w") as f:
            for stim, want in truth.stimuli.items():
                f[f"responses_{stim}"] = want.responses.astype(np.float32)
                f[f"test_by_trial_{stim}"] = want.by_trial.astype(np.float32)
                if callable(edit):
                    edit(f, stim, want)
    return folder


@pytest.mark.parametrize("fmt", ["kilosort2", "mat"])
def test_the_truth_comparison_accepts_the_truth_and_catches_each_bug(
    tmp_path: Path, fmt: str
) -> None:
    schedule = Schedule(BLOCKS, held=((0, 30, 2),), pause_s=2.0, imaging_rate_hz=7.5)
    sim = simulate(tmp_path / "raw", [SessionPlan("s", fmt, schedule)])  # type: ignore[arg-type]
    assert dataset_differences(sim, write_layout(sim, tmp_path / "exact")) == []

    def shift_after_held(f: h5py.File, stim: str, want: StimulusTruth) -> None:
        if stim == "movie":  # the held frame "repaired" into a one-frame shift
            shifted = want.responses.copy()
            shifted[:, 31:] = want.responses[:, 30:-1]
            f[f"responses_{stim}"][...] = shifted

    def pause_absorbed(f: h5py.File, stim: str, want: StimulusTruth) -> None:
        trials = want.by_trial.astype(np.float64)
        trials[:-1, :, -1] += 10.0 if fmt == "kilosort2" else 0.3  # last frame before a pause
        f[f"test_by_trial_{stim}"][...] = trials

    def within_tolerance(f: h5py.File, stim: str, want: StimulusTruth) -> None:
        tol = sim.sessions["s"].trace_tolerance
        f[f"responses_{stim}"][...] = want.responses + (0.9 * tol if tol is not None else 0.0)

    shifted = dataset_differences(sim, write_layout(sim, tmp_path / "shift", shift_after_held))
    absorbed = dataset_differences(sim, write_layout(sim, tmp_path / "pause", pause_absorbed))
    assert any("responses_movie differs" in d for d in shifted) or fmt == "mat"
    assert any("test_by_trial_clip differs" in d for d in absorbed)
    assert dataset_differences(sim, write_layout(sim, tmp_path / "tol", within_tolerance)) == []
    (tmp_path / "exact" / "s.hdf5").unlink()
    assert dataset_differences(sim, tmp_path / "exact") == ["s: no s.hdf5"]
