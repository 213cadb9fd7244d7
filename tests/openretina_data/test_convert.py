"""convert(): right numbers in the right place, atomic, cancellable, appendable, kill-safe."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from openretina_data import convert_sessions
from openretina_data.convert import CancelToken, Progress, convert, run
from openretina_data.errors import CancelledError, LayoutError, RecipeError, ShapeError
from openretina_data.layout import check
from openretina_data.layout.card import read_card
from openretina_data.plan import plan
from openretina_data.recipe import (
    Epoch,
    FrameTimes,
    Recipe,
    ResponseSource,
    SessionSpec,
    StimulusSpec,
    load_recipe,
)
from openretina_data.testing.recipes import binned_recording
from openretina_data.timing.repeats import split_half_reliability


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


def test_binned_conversion_puts_every_value_in_place(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path, train_frames=50, test_frames=10, repeats=3)
    steps = list(convert(recipe))
    assert all(isinstance(s, Progress) for s in steps)
    assert steps[-1].done == steps[-1].total
    out = tmp_path / "dataset"
    train = np.load(tmp_path / "stimuli" / "train.npy")
    np.testing.assert_array_equal(np.load(out / "stimuli" / "train.npy"), train[np.newaxis])
    raw = np.load(tmp_path / "raw" / "s1.npy")
    with h5py.File(out / "s1.hdf5") as f:
        np.testing.assert_array_equal(f["responses_train"][()], raw[:, :50])
        trials = f["test_by_trial_test"][()]
        assert trials.shape == (3, 5, 10)
        for trial in range(3):
            np.testing.assert_array_equal(trials[trial], raw[:, 50 + 10 * trial : 60 + 10 * trial])
        np.testing.assert_allclose(f["responses_test"][()], trials.mean(axis=0), rtol=1e-6)
        assert f.attrs["response_unit"] == "spikes/bin"
        assert len(f.attrs["recipe_sha256"]) == 64
        np.testing.assert_allclose(f.attrs["reliability_test"], split_half_reliability(trials))
    card = read_card(out)
    assert card is not None and card.test_stimuli == ["test"]
    assert card.norm_mean == pytest.approx(float(train.mean()), rel=1e-5)
    assert card.norm_std == pytest.approx(float(train.std()), rel=1e-4)
    assert card.recipe_text is not None and "openretina_data_recipe: 1" in card.recipe_text
    assert {f["name"] for f in card.sessions["s1"]["source_files"]} == {"s1.npy"}
    assert check(out).ok
    assert _leftovers(tmp_path) == []


def test_axes_lag_and_tn_responses(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path, n_sessions=1, train_frames=40, test_frames=12, repeats=1)
    movie = np.arange(40 * 6 * 8, dtype=np.float32).reshape(40, 6, 8)  # stored (t, w, h)
    np.save(tmp_path / "stimuli" / "train.npy", movie)
    np.save(tmp_path / "stimuli" / "test.npy", np.zeros((12, 6, 8), np.float32))
    raw = np.load(tmp_path / "raw" / "s0.npy")
    np.save(tmp_path / "raw" / "s0.npy", raw.T.copy())
    recipe.stimuli[0].axes = recipe.stimuli[1].axes = "twh"
    recipe.sessions[0].responses[0].axes = "tn"
    recipe.lag_frames = 2
    run(recipe)
    out = tmp_path / "dataset"
    np.testing.assert_array_equal(
        np.load(out / "stimuli" / "train.npy")[0], movie.transpose(0, 2, 1)[:38]
    )
    with h5py.File(out / "s0.hdf5") as f:
        np.testing.assert_array_equal(f["responses_train"][()], raw[:, 2:40])
        np.testing.assert_array_equal(f["responses_test"][()], raw[:, 42:52])


def _spike_recipe(
    tmp_path: Path, spike_unit: str = "spikes/bin"
) -> tuple[Recipe, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    np.save(tmp_path / "movie.npy", rng.random((100, 4, 4), dtype=np.float32))
    phy = tmp_path / "phy"
    phy.mkdir()
    times = np.sort(rng.uniform(0.5, 4.0, 800))
    clusters = rng.integers(0, 4, 800).astype(np.int32)
    np.save(phy / "spike_times.npy", (times * 10_000).astype(np.uint64))
    np.save(phy / "spike_clusters.npy", clusters)
    (phy / "cluster_group.tsv").write_text(
        "cluster_id\tgroup\n0\tgood\n1\tnoise\n2\tgood\n3\tgood\n"
    )
    recipe = Recipe(
        output="out",
        frame_rate_hz=30.0,
        stimuli=[StimulusSpec(name="movie", path="movie.npy")],
        sessions=[
            SessionSpec(
                name="a",
                responses=[
                    ResponseSource(
                        path="phy",
                        kind="spike_times",
                        unit="samples",
                        sampling_rate_hz=10_000.0,
                        unit_filter=["good"],
                        epochs=[Epoch(stimulus="movie", skip_frames=5)],
                        frame_times=FrameTimes(kind="rate", start_s=0.6),
                    )
                ],
            )
        ],
        base_dir=tmp_path,
    )
    recipe.binning.spike_unit = spike_unit  # type: ignore[assignment]
    return recipe, np.load(phy / "spike_times.npy") / 10_000, clusters


@pytest.mark.parametrize("spike_unit", ["spikes/bin", "Hz"])
def test_spike_times_are_counted_on_frame_edges(tmp_path: Path, spike_unit: str) -> None:
    recipe, times, clusters = _spike_recipe(tmp_path, spike_unit)
    run(recipe)
    edges = 0.6 + (5 + np.arange(101)) / 30.0
    expected = np.stack([np.histogram(times[clusters == c], edges)[0] for c in (0, 2, 3)]).astype(
        np.float32
    )
    if spike_unit == "Hz":
        expected = expected * 30.0
    with h5py.File(tmp_path / "out" / "a.hdf5") as f:
        np.testing.assert_allclose(f["responses_movie"][()], expected, rtol=1e-4)
        assert f.attrs["response_unit"] == spike_unit


def test_traces_are_resampled_onto_frames(tmp_path: Path) -> None:
    rate = 100.0
    t = np.arange(1000) / rate
    traces = np.stack([np.sin(t), np.cos(2 * t), t]).astype(np.float32)
    np.save(tmp_path / "traces.npy", traces)
    np.save(tmp_path / "movie.npy", np.zeros((200, 3, 3), np.float32))
    recipe = Recipe(
        output="out",
        frame_rate_hz=25.0,
        stimuli=[StimulusSpec(name="movie", path="movie.npy")],
        sessions=[
            SessionSpec(
                name="a",
                responses=[
                    ResponseSource(
                        path="traces.npy",
                        kind="traces",
                        unit="dF/F",
                        sampling_rate_hz=rate,
                        epochs=[Epoch(stimulus="movie")],
                        frame_times=FrameTimes(kind="rate", start_s=1.0),
                    )
                ],
            )
        ],
        base_dir=tmp_path,
    )
    recipe.binning.trace_method = "linear"
    run(recipe)
    centres = 1.0 + (np.arange(200) + 0.5) / 25.0
    with h5py.File(tmp_path / "out" / "a.hdf5") as f:
        linear = f["responses_movie"][()]
    np.testing.assert_allclose(
        linear, np.stack([np.interp(centres, t, row) for row in traces]), atol=1e-5
    )
    recipe.binning.trace_method = "area"
    run(recipe, overwrite=True)
    with h5py.File(tmp_path / "out" / "a.hdf5") as f:
        area = f["responses_movie"][()]
    # each 40 ms frame holds 4 samples at 100 Hz: the area value is their mean
    starts = np.round((1.0 + np.arange(200) / 25.0) * rate).astype(int)
    expected = np.stack([traces[:, s : s + 4].mean(axis=1) for s in starts], axis=1)
    np.testing.assert_allclose(area, expected, atol=1e-5)


def test_parallel_sessions_give_the_same_files(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path, n_sessions=3)
    run(recipe)
    serial = {
        p.name: h5py.File(p)["responses_test"][()] for p in (tmp_path / "dataset").glob("*.hdf5")
    }
    run(recipe, jobs=2, overwrite=True)
    card = read_card(tmp_path / "dataset")
    assert card is not None and sorted(card.sessions) == ["s0", "s1", "s2"]
    for name, values in serial.items():
        with h5py.File(tmp_path / "dataset" / name) as f:
            np.testing.assert_array_equal(f["responses_test"][()], values)
    assert check(tmp_path / "dataset").ok


def test_recipe_with_errors_writes_nothing(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path)
    recipe.sessions[0].responses[0].path = "raw/gone.npy"
    with pytest.raises(RecipeError, match="1 problem"):
        run(recipe)
    assert not (tmp_path / "dataset").exists()
    assert _leftovers(tmp_path) == []


def test_closing_the_generator_leaves_nothing(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path, n_sessions=3)
    steps = convert(recipe)
    for step in steps:
        if step.step.startswith("session"):
            break
    steps.close()
    assert not (tmp_path / "dataset").exists()
    assert _leftovers(tmp_path) == []


def test_cancel_token_stops_and_keeps_the_previous_dataset(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path)
    run(recipe)
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "dataset").iterdir()}
    token = CancelToken()
    with pytest.raises(CancelledError):
        for step in convert(recipe, overwrite=True, cancel=token):
            if step.step.startswith("stimulus"):
                token.cancel()
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "dataset").iterdir()} == before
    assert _leftovers(tmp_path) == []


def test_append_adds_a_session_without_rewriting_the_others(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path, n_sessions=3)
    run(recipe, session="s0")
    first = (tmp_path / "dataset" / "s0.hdf5").stat()
    run(recipe, session="s2", append=True)
    run(recipe, append=True)  # the remaining one (s1); present sessions are skipped
    out = tmp_path / "dataset"
    assert sorted(p.name for p in out.glob("*.hdf5")) == ["s0.hdf5", "s1.hdf5", "s2.hdf5"]
    again = (out / "s0.hdf5").stat()
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    card = read_card(out)
    assert card is not None and sorted(card.sessions) == ["s0", "s1", "s2"]
    assert check(out).ok


def test_append_refuses_changed_stimuli_or_normalisation(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path, n_sessions=2)
    run(recipe, session="s0")
    changed = load_recipe(tmp_path / "recipe.yaml")
    changed.stimuli[1].split = "train"
    with pytest.raises(LayoutError, match="test stimuli"):
        run(changed, session="s1", append=True)
    changed = load_recipe(tmp_path / "recipe.yaml")
    changed.normalisation.mode, changed.normalisation.mean, changed.normalisation.std = (
        "given",
        0.0,
        2.0,
    )
    with pytest.raises(LayoutError, match="normalisation"):
        run(changed, session="s1", append=True)
    np.save(tmp_path / "stimuli" / "test.npy", np.zeros((31, 8, 6), np.float32))
    np.save(tmp_path / "raw" / "s1.npy", np.zeros((5, 120 + 62), np.float32))
    with pytest.raises(LayoutError, match="stimuli"):
        run(load_recipe(tmp_path / "recipe.yaml"), session="s1", append=True)
    assert sorted(p.name for p in (tmp_path / "dataset").glob("*.hdf5")) == ["s0.hdf5"]


def test_names_that_would_escape_the_output_are_refused(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path)
    recipe.sessions[0].name = "../escaped"
    recipe.stimuli[0].name = "/abs"
    with pytest.raises(RecipeError) as caught:
        run(recipe)
    assert "'../escaped'" in str(caught.value) and "'/abs'" in str(caught.value)
    assert not (tmp_path / "escaped.hdf5").exists() and not (tmp_path / "dataset").exists()


def test_symlinked_output_is_refused(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("precious")
    (tmp_path / "dataset").symlink_to(elsewhere)
    with pytest.raises(Exception, match="symbolic link"):
        run(recipe, overwrite=True)
    assert (elsewhere / "keep.txt").read_text() == "precious"


KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from openretina_data import convert_io, convert
    from openretina_data.recipe import load_recipe
    convert_io.SLAB_BYTES = 4096          # many small slabs ...
    convert.RESPONSE_SLAB_FRAMES = 1
    for step in convert.convert(load_recipe(sys.argv[1]), overwrite=True):
        print(step.step, flush=True)
        time.sleep(0.01)                  # ... slowly, so the kill lands mid-way
    """
)


@pytest.mark.parametrize("previous", [False, True])
def test_sigkill_leaves_the_target_as_it_was(tmp_path: Path, previous: bool) -> None:
    recipe = binned_recording(tmp_path, n_sessions=2, train_frames=300)
    if previous:
        run(recipe)
        before = {p.name: p.read_bytes() for p in (tmp_path / "dataset").glob("*.hdf5")}
    child = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(tmp_path / "recipe.yaml")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    seen = []
    for line in child.stdout:
        seen.append(line.strip())
        if line.startswith("session s0") and len(seen) > 40:
            break
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stdout.close()
    assert any(s.startswith("session") for s in seen), seen
    assert any(".tmp-" in p.name for p in tmp_path.iterdir()), "the kill should land mid-write"
    if previous:
        assert {p.name: p.read_bytes() for p in (tmp_path / "dataset").glob("*.hdf5")} == before
    else:
        assert not (tmp_path / "dataset").exists()
    time.sleep(0.05)
    run(recipe, overwrite=True)  # the next run removes the stale temporary folder and lock
    assert _leftovers(tmp_path) == []
    assert not any(p.name.endswith(".lock") for p in tmp_path.iterdir())
    assert check(tmp_path / "dataset").ok


def test_convert_does_not_import_torch(tmp_path: Path) -> None:
    binned_recording(tmp_path)
    code = (
        "import sys, json; from openretina_data.convert import run; "
        "from openretina_data.recipe import load_recipe; "
        f"run(load_recipe({str(tmp_path / 'recipe.yaml')!r})); "
        "print(json.dumps('torch' in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) is False


def test_session_specific_stimulus_goes_into_the_session_file(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path, n_sessions=2, train_frames=40, test_frames=10, repeats=1)
    movies = {}
    for index in range(2):
        movies[f"s{index}"] = np.full((20, 8, 6), index + 1, np.float32)
        np.save(tmp_path / "raw" / f"s{index}_local.npy", movies[f"s{index}"])
        raw = np.load(tmp_path / "raw" / f"s{index}.npy")
        np.save(tmp_path / "raw" / f"s{index}.npy", np.concatenate([raw, raw[:, :20]], axis=1))
        recipe.sessions[index].responses[0].epochs.append(Epoch(stimulus="local"))
    recipe.stimuli.append(StimulusSpec(name="local", path="raw/{session}_local.npy", shared=False))
    run(recipe)
    out = tmp_path / "dataset"
    assert not (out / "stimuli" / "local.npy").exists()
    for name, movie in movies.items():
        with h5py.File(out / f"{name}.hdf5") as f:
            np.testing.assert_array_equal(f["stimulus_local"][()], movie[np.newaxis])
            assert f["responses_local"].shape == (5, 20)
    assert check(out).ok


def test_uint8_output_keeps_whole_numbers_and_refuses_fractions(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path, n_sessions=1)
    recipe.dtype = "uint8"
    with pytest.raises(ShapeError, match="uint8"):
        run(recipe)
    assert not (tmp_path / "dataset").exists() and _leftovers(tmp_path) == []
    movie = np.random.default_rng(0).integers(0, 256, (120, 8, 6)).astype(np.float32)
    np.save(tmp_path / "stimuli" / "train.npy", movie)
    np.save(tmp_path / "stimuli" / "test.npy", movie[:30])
    run(recipe)
    written = np.load(tmp_path / "dataset" / "stimuli" / "train.npy")
    assert written.dtype == np.uint8
    np.testing.assert_array_equal(written[0], movie)


def test_closing_a_parallel_conversion_leaves_nothing(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path, n_sessions=4)
    steps = convert(recipe, jobs=2)
    for step in steps:
        if step.step.startswith("session"):
            break
    steps.close()
    assert not (tmp_path / "dataset").exists()
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("container", ["hdf5", "mat-v7.3"])
def test_movies_from_hdf5_and_matlab_files(tmp_path: Path, container: str) -> None:
    recipe = binned_recording(tmp_path, n_sessions=1, train_frames=40, test_frames=10, repeats=1)
    movie = np.random.default_rng(1).random((40, 8, 6, 2), dtype=np.float32)  # (t, h, w, c)
    if container == "hdf5":
        with h5py.File(tmp_path / "movie.h5", "w") as f:
            f.create_dataset("group/movie", data=movie)
        recipe.stimuli[0].path, recipe.stimuli[0].key = "movie.h5", "group/movie"
    else:
        import hdf5storage

        hdf5storage.savemat(str(tmp_path / "movie.mat"), {"movie": movie}, format="7.3")
        recipe.stimuli[0].path, recipe.stimuli[0].key = "movie.mat", "movie"
    recipe.stimuli[0].axes = "thwc"
    np.save(tmp_path / "stimuli" / "test.npy", np.zeros((10, 8, 6, 2), np.float32))
    recipe.stimuli[1].axes = "thwc"
    run(recipe)
    written = np.load(tmp_path / "dataset" / "stimuli" / "train.npy")
    np.testing.assert_array_equal(written, movie.transpose(3, 0, 1, 2))


def test_spike_times_from_an_nwb_units_table(tmp_path: Path) -> None:
    from openretina_data.testing.formats import write_nwb

    nwb, _ = write_nwb(tmp_path / "rec.nwb")
    np.save(tmp_path / "movie.npy", np.zeros((270, 4, 4), np.float32))  # 9 s at 30 Hz
    source = ResponseSource(
        path="rec.nwb",
        kind="spike_times",
        unit="s",
        unit_filter=["good"],
        epochs=[Epoch(stimulus="movie")],
        frame_times=FrameTimes(kind="rate", start_s=0.5),
    )
    recipe = Recipe(
        output="out",
        frame_rate_hz=30.0,
        stimuli=[StimulusSpec(name="movie", path="movie.npy")],
        sessions=[SessionSpec(name="a", responses=[source])],
        base_dir=tmp_path,
    )
    run(recipe)
    with h5py.File(nwb) as f:  # the Units table as stored: ragged spike times + labels
        flat = f["units/spike_times"][()]
        ends = f["units/spike_times_index"][()]
        quality = [q.decode() if isinstance(q, bytes) else q for q in f["units/quality"][()]]
    trains = np.split(flat, ends[:-1])
    edges = 0.5 + np.arange(271) / 30.0
    expected = [
        np.histogram(t, edges)[0] for t, q in zip(trains, quality, strict=True) if q == "good"
    ]
    with h5py.File(tmp_path / "out" / "a.hdf5") as f:
        np.testing.assert_array_equal(f["responses_movie"][()], np.stack(expected))
    source.unit = "samples"
    assert any("seconds" in p.message for p in plan(recipe, overwrite=True).errors)


_KILLED_PARENT = """
import multiprocessing, os, time
from concurrent.futures import ProcessPoolExecutor
from openretina_data.convert_sessions import _start_worker

if __name__ == "__main__":
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        1, mp_context=context, initializer=_start_worker, initargs=(os.getpid(), context.Event())
    ) as pool:
        print(pool.submit(os.getpid).result(), flush=True)
        pool.submit(time.sleep, 120)
        time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited (only its parent-to-be has not reaped it)


def test_session_workers_leave_when_their_conversion_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(_KILLED_PARENT)
    with subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True
    ) as parent:
        assert parent.stdout is not None
        worker = int(parent.stdout.readline())
        assert _alive(worker)
        parent.kill()  # SIGKILL: the parent cannot tell its workers anything
        parent.wait()
    deadline = time.monotonic() + 30
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(worker)


def test_a_worker_stops_between_slabs_once_the_parent_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    halt = threading.Event()
    monkeypatch.setattr(convert_sessions, "_STOP", halt)
    convert_sessions._go_on()
    halt.set()
    with pytest.raises(CancelledError):
        convert_sessions._go_on()
