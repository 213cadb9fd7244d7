"""The example recording: converts headlessly, passes check, loads in openretina 1.1.1."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from openretina_data.convert import run
from openretina_data.example import (
    DROPPED_FRAME,
    SESSIONS,
    TEST_FRAMES,
    TEST_REPEATS,
    TRAIN_FRAMES,
    create_example,
)
from openretina_data.layout import check
from openretina_data.recipe import load_recipe


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("example")
    return run(load_recipe(create_example(root)))


def test_example_writes_a_raw_recording_and_a_recipe(tmp_path: Path) -> None:
    recipe_path = create_example(tmp_path)
    assert recipe_path == tmp_path / "recipe.yaml"
    for session in SESSIONS:
        phy = tmp_path / "raw" / session / "phy"
        assert (phy / "spike_times.npy").exists() and (phy / "cluster_group.tsv").exists()
        assert np.load(phy / "spike_times.npy").dtype == np.uint64
    ttl = np.load(tmp_path / "raw" / SESSIONS[1] / "ttl.npy")
    rising = np.flatnonzero((ttl[1:] > 2.5) & (ttl[:-1] <= 2.5))
    assert rising.size == TRAIN_FRAMES + TEST_REPEATS * TEST_FRAMES - 1  # one dropped pulse
    assert (tmp_path / "stimuli" / "natural.tif").exists()
    assert np.load(tmp_path / "stimuli" / "test_clip.npy").shape == (TEST_FRAMES, 16, 18)
    assert [s.name for s in load_recipe(recipe_path).sessions] == ["{session}"]


def test_example_is_seeded(tmp_path: Path) -> None:
    create_example(tmp_path / "a")
    create_example(tmp_path / "b")
    for relative in (
        "raw/session_01/phy/spike_times.npy",
        "raw/session_02/ttl.npy",
        "stimuli/test_clip.npy",
    ):
        assert (tmp_path / "a" / relative).read_bytes() == (tmp_path / "b" / relative).read_bytes()


def test_example_converts_and_passes_check(converted: Path) -> None:
    report = check(converted)
    assert report.ok, report
    card = json.loads((converted / "openretina_data.json").read_text())
    assert card["test_stimuli"] == ["test_clip"]
    assert card["response_unit"] == "spikes/bin"
    with h5py.File(converted / "session_02.hdf5") as f:
        assert f["responses_natural"].shape == (9, TRAIN_FRAMES)
        assert f["test_by_trial_test_clip"].shape == (TEST_REPEATS, 9, TEST_FRAMES)
        assert f["session_info/depth_um"].shape == (9,)
        assert str(DROPPED_FRAME) in f.attrs["timing_0"]
        assert f["responses_natural"][()].sum() > 100  # spikes landed in frames
        assert f.attrs["reliability_test_clip"].shape == (9,)
    # the model cells respond to the stimulus: their repeats agree well
    assert card["reliability"]["session_02"]["test_clip"] > 0.5


@pytest.mark.interop
def test_example_loads_in_openretina_and_gives_dataloaders(converted: Path) -> None:
    from openretina.data_io.base_dataloader import multiple_movies_dataloaders
    from openretina.data_io.h5_dataset_reader import load_responses, load_stimuli

    card = json.loads((converted / "openretina_data.json").read_text())
    stimuli = load_stimuli(
        str(converted), ["test_clip"], [1, 18, 16], card["norm_mean"], card["norm_std"]
    )
    responses = load_responses(str(converted), ["test_clip"])
    assert sorted(stimuli) == sorted(responses) == list(SESSIONS)
    movie = np.load(converted / "stimuli" / "natural.npy")
    expected = (movie - card["norm_mean"]) / card["norm_std"]
    np.testing.assert_allclose(stimuli["session_01"].train, expected, rtol=1e-5, atol=1e-5)
    with h5py.File(converted / "session_01.hdf5") as f:
        np.testing.assert_array_equal(
            responses["session_01"].test_response, f["responses_test_clip"][()]
        )
    loaders = multiple_movies_dataloaders(
        responses, stimuli, train_chunk_size=50, batch_size=4, clip_length=50, num_val_clips=2
    )
    inputs, targets = next(iter(loaders["train"]["session_01"]))
    assert inputs.shape[1:] == (1, 50, 18, 16)
    assert targets.shape[1:] == (50, 9)


@pytest.mark.interop
def test_example_gives_our_dataloaders_too(converted: Path) -> None:
    from openretina_data.base_dataloader import multiple_movies_dataloaders
    from openretina_data.h5_dataset_reader import load_responses, load_stimuli

    card = json.loads((converted / "openretina_data.json").read_text())
    stimuli = load_stimuli(
        str(converted), ["test_clip"], [1, 18, 16], card["norm_mean"], card["norm_std"]
    )
    responses = load_responses(str(converted), ["test_clip"])
    loaders = multiple_movies_dataloaders(
        responses, stimuli, train_chunk_size=50, batch_size=4, clip_length=50, num_val_clips=2
    )
    inputs, targets = next(iter(loaders["train"]["session_02"]))
    assert inputs.shape[1:] == (1, 50, 18, 16) and targets.shape[1:] == (50, 9)


def test_next_weeks_session_is_appended_by_the_same_recipe(tmp_path: Path) -> None:
    import shutil

    recipe_path = create_example(tmp_path)
    run(load_recipe(recipe_path))
    before = (tmp_path / "dataset" / "session_01.hdf5").stat().st_mtime_ns
    shutil.copytree(tmp_path / "raw" / "session_01", tmp_path / "raw" / "session_03")
    run(load_recipe(recipe_path), append=True)
    out = tmp_path / "dataset"
    assert sorted(p.stem for p in out.glob("*.hdf5")) == ["session_01", "session_02", "session_03"]
    assert (out / "session_01.hdf5").stat().st_mtime_ns == before
    with h5py.File(out / "session_01.hdf5") as a, h5py.File(out / "session_03.hdf5") as b:
        np.testing.assert_array_equal(a["responses_natural"][()], b["responses_natural"][()])
    assert check(out).ok


def test_the_commented_example_recipe_matches_create_example(tmp_path: Path) -> None:
    from openretina_data.recipe import to_dict
    from openretina_data.recipe_schema import SCHEMA_PATH

    published = load_recipe(SCHEMA_PATH.parent / "example-recipe.yaml")
    written = load_recipe(create_example(tmp_path))
    assert to_dict(published) == to_dict(written)
