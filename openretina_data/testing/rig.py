"""A simulated retina rig: raw files of every format, the recipe a user writes, the truth.

The physics (display refreshes with jitter, held frames, missed TTL pulses, pauses,
separate clocks with offset and drift, spikes per displayed frame, calcium sampled at
any rate) is in :mod:`~openretina_data.testing.rig_physics`; the files are written by
each format's own library (:mod:`~openretina_data.testing.rig_formats`). Nothing here
uses the converter: the truth is what happened on the simulated rig.

Example::

    blocks = (Block("movie", 300), Block("clip", 60, repeats=3, split="test"))
    sim = simulate(tmp, [SessionPlan("s1", "kilosort2", Schedule(blocks, held=((0, 100, 2),)))])
    # openretina-data convert sim.recipe_path  ->  sim.dataset / "s1.hdf5"
    sim.sessions["s1"].stimuli["clip"].by_trial  # (trials, neurons, frames) int64 counts

Hypothesis strategies for property tests are in :mod:`~openretina_data.testing.rig_strategies`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from openretina_data.testing import rig_formats as fmt
from openretina_data.testing.rig_physics import (
    Block,
    Calcium,
    Clock,
    Presentation,
    Schedule,
    display_timeline,
    draw_spikes,
    logged_onsets,
    ttl_trace,
)

Format = Literal["kilosort2", "kilosort4", "nwb", "mat", "suite2p", "nwb_ophys"]
SPIKE_FORMATS: tuple[Format, ...] = ("kilosort2", "kilosort4", "nwb")
TRACE_FORMATS: tuple[Format, ...] = ("mat", "suite2p", "nwb_ophys")

__all__ = [
    "SPIKE_FORMATS",
    "TRACE_FORMATS",
    "Block",
    "Clock",
    "Format",
    "Schedule",
    "SessionPlan",
    "SessionTruth",
    "Simulation",
    "StimulusTruth",
    "dataset_differences",
    "issue_13_scenario",
    "simulate",
]


@dataclass(frozen=True)
class SessionPlan:
    """One session to simulate: the experiment and how its files are written.

    ``format``: ``kilosort2`` / ``kilosort4`` (Phy folder + TTL channel), ``nwb`` (Units
    + frame timestamps), ``mat`` (v7.3 calcium + timestamps), ``suite2p`` (plane folder
    + ``frame_times.npy``), ``nwb_ophys`` (RoiResponseSeries + frame timestamps).
    ``shuffled``: spike_times/spike_clusters (or NWB spikes) written in a random order. ``units``: units (spikes) or ROIs (calcium) recorded.
    ``row_vector``: MAT ``frame_times`` saved as (1, frames) instead of (frames, 1).
    """

    name: str
    format: Format
    schedule: Schedule
    shuffled: bool = False
    ttl_file: Literal["npy", "hdf5"] = "npy"
    units: int = 6
    seed: int = 0
    row_vector: bool = False


@dataclass
class StimulusTruth:
    """What a correct conversion writes for one stimulus of one session.

    ``responses`` (neurons, frames) float64: spike counts per frame (spikes/bin) or the
    trace's mean over each frame; for a repeated stimulus the mean over trials.
    ``by_trial`` (trials, neurons, frames): int64 counts or float64 trace means.
    """

    name: str
    split: str
    responses: np.ndarray
    by_trial: np.ndarray


@dataclass
class SessionTruth:
    """A simulated session: files, recipe entry, and what happened on the rig.

    Times in ``held`` / ``missed`` / ``pauses`` are on the session's response clock
    (``clock``: acquisition for spike formats, imaging for calcium), seconds.
    ``trace_tolerance`` / ``trace_tolerance_linear``: (neurons, 1) bounds for traces
    (see the module docstring); ``None`` for spikes.
    """

    name: str
    format: Format
    kind: Literal["spike_times", "traces"]
    unit_ids: np.ndarray
    stimuli: dict[str, StimulusTruth]
    timeline: list[Presentation]
    clock: Clock
    held: list[dict[str, Any]]
    missed: list[dict[str, Any]]
    pauses: list[tuple[float, float]]
    spikes_outside: int
    trace_tolerance: np.ndarray | None
    trace_tolerance_linear: np.ndarray | None
    paths: dict[str, Path]
    response: dict[str, Any]


@dataclass
class Simulation:
    """Everything :func:`simulate` made: ``recipe`` (a dict, also at ``recipe_path``),
    the stimulus movies ``(frames, height, width)`` uint8, the truth per session."""

    root: Path
    recipe: dict[str, Any]
    recipe_path: Path
    stimuli: dict[str, np.ndarray]
    sessions: dict[str, SessionTruth] = field(default_factory=dict)

    @property
    def dataset(self) -> Path:
        return self.root / self.recipe["output"]


def _events(
    timeline: list[Presentation], clock: Clock
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[float, float]]]:
    held, missed = [], []
    for pres in timeline:
        for i in np.flatnonzero(pres.refreshes > 1):
            on, off = clock.at(pres.onsets[i]), clock.at(pres.offsets[i])
            held.append({"stimulus": pres.stimulus, "repeat": pres.repeat, "frame": int(i),
                         "refreshes": int(pres.refreshes[i]), "onset_s": float(on),
                         "duration_s": float(off - on)})  # fmt: skip
        for i in np.flatnonzero(~pres.pulsed):
            missed.append({"stimulus": pres.stimulus, "repeat": pres.repeat, "frame": int(i),
                           "onset_s": float(clock.at(pres.onsets[i]))})  # fmt: skip
    pauses = [
        (float(clock.at(a.offsets[-1])), float(clock.at(b.onsets[0])))
        for a, b in zip(timeline[:-1], timeline[1:], strict=True)
        if b.onsets[0] > a.offsets[-1]
    ]
    return held, missed, pauses


def _stimulus_truths(
    schedule: Schedule, per_presentation: list[np.ndarray], timeline: list[Presentation]
) -> dict[str, StimulusTruth]:
    out = {}
    for block in schedule.blocks:
        trials = np.stack(
            [
                x
                for x, p in zip(per_presentation, timeline, strict=True)
                if p.stimulus == block.stimulus
            ]
        )
        out[block.stimulus] = StimulusTruth(
            block.stimulus, block.split, trials.mean(axis=0), trials
        )
    return out


def _epochs(schedule: Schedule) -> list[dict[str, Any]]:
    return [{"stimulus": b.stimulus, "repeats": b.repeats} for b in schedule.blocks]


def _spike_session(
    root: Path,
    plan: SessionPlan,
    timeline: list[Presentation],
    movies: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> SessionTruth:
    s, n = plan.schedule, plan.units
    ids = np.sort(rng.choice(np.arange(3 * n), n, replace=False)).astype(np.int64)
    ks_labels = np.array(["good"] * n, dtype=object)
    ks_labels[rng.choice(n, max(1, n // 3), replace=False)] = "mua"
    good = np.flatnonzero(ks_labels == "good")
    curated = {int(ids[good[-1]]): "noise"} if plan.format == "kilosort2" and len(good) > 2 else {}
    final = np.array([curated.get(int(i), lab) for i, lab in zip(ids, ks_labels, strict=True)])
    rates = {}
    for name, movie in movies.items():
        pixels = movie.reshape(len(movie), -1) / 255.0 - 0.5
        filters = rng.normal(0.0, 2.0 / np.sqrt(pixels.shape[1]), (n, pixels.shape[1]))
        rates[name] = rng.uniform(4.0, 12.0, (n, 1)) * np.exp(filters @ pixels.T)
    spikes = draw_spikes(s, timeline, rates, rng.uniform(3.0, 8.0, n), rng)
    fs = s.spike_rate_hz
    samples = [np.round(s.acquisition.at(t) * fs).astype(np.int64) for t in spikes.times]
    flat = np.concatenate(samples)
    clusters = np.repeat(ids, [len(x) for x in samples])
    order = rng.permutation(flat.size) if plan.shuffled else np.argsort(flat, kind="stable")
    folder = root / plan.name
    paths: dict[str, Path] = {}
    if plan.format == "nwb":
        onsets = logged_onsets(s, timeline, s.acquisition)
        seconds = [x / fs for x in samples]
        if plan.shuffled:
            seconds = [rng.permutation(x) for x in seconds]
        path, key = fmt.write_nwb(folder / f"{plan.name}.nwb", ids, list(final), seconds, onsets)
        paths["nwb"] = path
        rel = f"{plan.name}/{path.name}"
        response: dict[str, Any] = {"path": rel, "kind": "spike_times", "unit": "s", "unit_filter": ["good"],
                    "epochs": _epochs(s),
                    "frame_times": {"kind": "timestamps", "path": rel, "key": key, "unit": "s"}}  # fmt: skip
    else:
        paths["phy"] = fmt.write_kilosort(folder / "phy", flat[order], clusters[order], ids,
                                          list(ks_labels), curated, fs, plan.format)  # type: ignore[arg-type]  # fmt: skip
        suffix = ".npy" if plan.ttl_file == "npy" else ".h5"
        paths["ttl"], ttl_key = fmt.write_ttl(folder / f"ttl{suffix}", ttl_trace(s, timeline, rng))
        trigger: dict[str, Any] = {"kind": "trigger", "path": f"{plan.name}/ttl{suffix}",
                                   "sampling_rate_hz": s.ttl_rate_hz}  # fmt: skip
        if ttl_key is not None:
            trigger["key"] = ttl_key
        response = {"path": f"{plan.name}/phy", "kind": "spike_times", "unit": "samples",
                    "sampling_rate_hz": fs, "unit_filter": ["good"], "epochs": _epochs(s),
                    "frame_times": trigger}  # fmt: skip
    kept = final == "good"
    held, missed, pauses = _events(timeline, s.acquisition)
    return SessionTruth(
        plan.name, plan.format, "spike_times", ids[kept],
        _stimulus_truths(s, [c[kept] for c in spikes.counts], timeline), timeline,
        s.acquisition, held, missed, pauses, int(spikes.outside[kept].sum()), None, None,
        paths, response,
    )  # fmt: skip


def _trace_session(
    root: Path, plan: SessionPlan, timeline: list[Presentation], rng: np.random.Generator
) -> SessionTruth:
    s, clock, fs = plan.schedule, plan.schedule.imaging, plan.schedule.imaging_rate_hz
    calcium = Calcium.draw(rng, plan.units, s.display_start_s)
    # imaging runs on for tail_s and at least one sample past the last frame
    last = clock.at(timeline[-1].offsets[-1])
    sample_times = np.arange(int(np.ceil(last * fs)) + 1 + int(np.ceil(s.tail_s * fs))) / fs
    traces = calcium(clock.display(sample_times))
    onsets = logged_onsets(s, timeline, clock)
    folder = root / plan.name
    paths: dict[str, Path] = {}
    if plan.format == "mat":
        keep = np.ones(plan.units, dtype=bool)
        paths["mat"] = fmt.write_mat_calcium(
            folder / "calcium.mat", traces, onsets, fs, column=not plan.row_vector
        )
        rel = f"{plan.name}/calcium.mat"
        response = {"path": rel, "kind": "traces", "unit": "dF/F", "key": "traces", "axes": "nt",
                    "sampling_rate_hz": fs, "epochs": _epochs(s),
                    "frame_times": {"kind": "timestamps", "path": rel, "key": "frame_times", "unit": "s"}}  # fmt: skip
    elif plan.format == "nwb_ophys":
        keep = np.ones(plan.units, dtype=bool)
        path, key, stamps = fmt.write_nwb_ophys(folder / f"{plan.name}.nwb", traces, fs, onsets)
        paths["nwb"] = path
        rel = f"{plan.name}/{path.name}"
        response = {"path": rel, "kind": "traces", "unit": "dF/F", "key": key, "axes": "tn",
                    "sampling_rate_hz": fs, "epochs": _epochs(s),
                    "frame_times": {"kind": "timestamps", "path": rel, "key": stamps, "unit": "s"}}  # fmt: skip
    else:
        keep = rng.random(plan.units) < 0.7
        keep[:2] = True
        paths["suite2p"] = fmt.write_suite2p(folder / "suite2p" / "plane0", traces, keep, fs)
        paths["frame_times"] = folder / "frame_times.npy"
        np.save(paths["frame_times"], onsets)
        response = {"path": f"{plan.name}/suite2p/plane0", "kind": "traces", "unit": "a.u.",
                    "key": "F", "axes": "nt", "sampling_rate_hz": fs, "unit_filter": ["cell"],
                    "epochs": _epochs(s),
                    "frame_times": {"kind": "timestamps", "path": f"{plan.name}/frame_times.npy", "unit": "s"}}  # fmt: skip
    means = [calcium.mean_over(p.onsets, p.offsets)[keep] for p in timeline]
    slope, curvature = (x[keep, None] for x in calcium.slope_bounds())
    dt, edge = clock.scale / fs, 1.0 / s.ttl_rate_hz + 2 * s.jitter_s
    longest = max(float((p.offsets - p.onsets).max()) for p in timeline)
    held, missed, pauses = _events(timeline, clock)
    return SessionTruth(
        plan.name, plan.format, "traces", np.flatnonzero(keep).astype(np.int64),
        _stimulus_truths(s, means, timeline), timeline, clock, held, missed, pauses, 0,
        1.01 * slope * (dt + edge), 1.01 * (curvature * (dt**2 / 8 + longest**2 / 24) + slope * edge),
        paths, response,
    )  # fmt: skip


def simulate(
    root: Path,
    plans: Sequence[SessionPlan],
    *,
    stimulus_file: Literal["npy", "tiff"] = "npy",
    seed: int = 0,
) -> Simulation:
    """Simulate sessions, write their files under ``root`` and a recipe ``root/recipe.yaml``.

    All plans must share one block structure (stimulus names, frames, split) and one
    refresh rate, and be all spike formats or all calcium formats (one recipe is one
    dataset with one response unit). Stimuli are (frames, 6, 8) uint8 movies.
    """
    import yaml

    if not plans:
        raise ValueError("no sessions to simulate")
    shapes = {tuple((b.stimulus, b.frames, b.split) for b in p.schedule.blocks) for p in plans}
    if len(shapes) != 1 or len({p.schedule.refresh_hz for p in plans}) != 1:
        raise ValueError("every session must show the same stimuli at the same refresh rate")
    if len({p.format in SPIKE_FORMATS for p in plans}) != 1:
        raise ValueError("spike and calcium sessions need separate recipes")
    blocks = plans[0].schedule.blocks
    if len({b.stimulus for b in blocks}) != len(blocks):
        raise ValueError("a stimulus appears in two blocks")
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 0])
    movies = {b.stimulus: rng.integers(0, 256, (b.frames, 6, 8), dtype=np.uint8) for b in blocks}
    suffix = ".npy" if stimulus_file == "npy" else ".tif"
    for name, movie in movies.items():
        fmt.write_movie(root / "stimuli" / f"{name}{suffix}", movie)
    sim = Simulation(root, {}, root / "recipe.yaml", movies)
    for index, plan in enumerate(plans):
        session_rng = np.random.default_rng([seed, 1 + index, plan.seed])
        timeline = display_timeline(plan.schedule, session_rng)
        if plan.format in SPIKE_FORMATS:
            truth = _spike_session(root, plan, timeline, movies, session_rng)
        else:
            truth = _trace_session(root, plan, timeline, session_rng)
        sim.sessions[plan.name] = truth
    train = sum(b.frames for b in blocks if b.split == "train")
    clip = max(1, min(90, train // 5))
    sim.recipe = {
        "openretina_data_recipe": 1,
        "output": "dataset",
        "frame_rate_hz": float(plans[0].schedule.refresh_hz),
        "description": "simulated rig (openretina_data.testing.rig)",
        "stimuli": [
            {
                "name": b.stimulus,
                "path": f"stimuli/{b.stimulus}{suffix}",
                "axes": "thw",
                "split": b.split,
            }
            for b in blocks
        ],  # fmt: skip
        "sessions": [{"name": t.name, "responses": [t.response]} for t in sim.sessions.values()],
        "loader": {
            "train_chunk_size": clip,
            "batch_size": 1,
            "clip_length": clip,
            "num_val_clips": 1,
            "seed": 0,
        },  # fmt: skip
    }
    sim.recipe_path.write_text(yaml.safe_dump(sim.recipe, sort_keys=False), encoding="utf-8")
    return sim


def issue_13_scenario(root: Path, seed: int = 0) -> tuple[Simulation, Simulation]:
    """The recording of issue 13: a 1200-frame training movie, then a 150-frame test movie
    three times, 2 s pauses, 30 Hz, 20 kHz TTL and spikes, one frame held for two
    refreshes in each session. Spikes (``root/spikes``: Kilosort 2, Kilosort 4, NWB
    with frame timestamps) and calcium (``root/calcium``: MAT v7.3 at 7.5 Hz) are two
    recipes, as one dataset holds one response unit."""
    blocks = (Block("natural", 1200), Block("test_clip", 150, repeats=3, split="test"))

    def schedule(k: int) -> Schedule:
        start = 50.0 + 10 * k
        return Schedule(blocks, held=((0, 518, 2),), display_start_s=start,
                        acquisition=Clock.starting(1.5, start, 12.0 * (k - 1)),
                        imaging=Clock.starting(0.8, start, -25.0))  # fmt: skip

    spikes = simulate(root / "spikes", [
        SessionPlan("session_ks2", "kilosort2", schedule(0)),
        SessionPlan("session_ks4", "kilosort4", schedule(1)),
        SessionPlan("session_nwb", "nwb", schedule(2)),
    ], seed=seed)  # fmt: skip
    calcium = simulate(
        root / "calcium", [SessionPlan("session_mat", "mat", schedule(3))], seed=seed
    )
    return spikes, calcium


def dataset_differences(
    sim: Simulation, dataset: Path | None = None, tolerance: Literal["slope", "linear"] = "slope"
) -> list[str]:
    """How a converted dataset differs from the truth, read with h5py alone (empty: equal).

    Counts must be equal (a mean over repeats within float32 rounding); traces within
    the session's ``trace_tolerance`` (``"slope"``) or ``trace_tolerance_linear``.
    ``test_by_trial_<stim>`` is required for a test stimulus shown twice or more.
    """
    import h5py

    found = []
    for name, truth in sim.sessions.items():
        path = (dataset or sim.dataset) / f"{name}.hdf5"
        if not path.is_file():
            found.append(f"{name}: no {path.name}")
            continue
        tol: Any = 0.0
        if truth.kind == "traces":
            tol = truth.trace_tolerance if tolerance == "slope" else truth.trace_tolerance_linear
        with h5py.File(path, "r") as f:
            for stim, want in truth.stimuli.items():
                pairs = [(f"responses_{stim}", want.responses)]
                if (
                    want.split == "test" and len(want.by_trial) > 1
                ) or f"test_by_trial_{stim}" in f:
                    pairs.append((f"test_by_trial_{stim}", want.by_trial))
                for key, expected in pairs:
                    if key not in f:
                        found.append(f"{name}: {key} missing")
                        continue
                    got = np.asarray(f[key][()], dtype=np.float64)
                    if got.shape != expected.shape:
                        found.append(f"{name}: {key} has shape {got.shape}, truth {expected.shape}")
                        continue
                    slack = tol + 1e-6 * np.abs(expected)  # float32 storage of a mean
                    bad = np.abs(got - expected) > slack
                    frames = np.flatnonzero(bad.reshape(-1, bad.shape[-1]).any(axis=0))
                    if frames.size:
                        worst = float(np.abs(got - expected).max())
                        found.append(
                            f"{name}: {key} differs in {frames.size} of {bad.shape[-1]} frames "
                            f"(first {frames[:8].tolist()}, max |diff| {worst:.4g})"
                        )
    return found
