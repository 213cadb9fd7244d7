"""The public preview API reads a recipe's stimuli and responses lazily, as the converter stores them."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from openretina_data.convert import run
from openretina_data.errors import RecipeError
from openretina_data.example import create_example
from openretina_data.preview import StimulusView, open_responses, open_stimulus, stimulus_frames
from openretina_data.recipe import Recipe, expand_sessions, load_recipe


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[Recipe, Path]:
    root = tmp_path_factory.mktemp("preview")
    recipe = load_recipe(create_example(root))
    return recipe, run(recipe)


def test_a_stimulus_view_reads_any_axis_order_as_channels_time_height_width() -> None:
    movie = np.random.default_rng(0).random((2, 30, 5, 4)).astype(np.float32)  # c t h w
    stored = np.ascontiguousarray(movie.transpose(1, 3, 2, 0))  # t w h c
    view = StimulusView(stored, "twhc")
    assert view.shape == (2, 30, 5, 4) and view.axes == "twhc"
    np.testing.assert_array_equal(view[1, 7], movie[1, 7])
    np.testing.assert_array_equal(view.frame(7, channel=1), movie[1, 7])
    np.testing.assert_array_equal(view[:, 3:9], movie[:, 3:9])
    assert StimulusView(stored, "twhc", stop=20).shape[1] == 20


def test_open_stimulus_gives_the_movie_the_dataset_stores(example: tuple[Recipe, Path]) -> None:
    recipe, dataset = example
    view = open_stimulus(recipe, "test_clip")  # stored as (t, w, h)
    try:
        stored = np.load(dataset / "stimuli" / "test_clip.npy")  # (c, t, h, w)
        assert view.shape == stored.shape
        np.testing.assert_allclose(view[:, 0 : view.shape[1]], stored, rtol=1e-6)
        np.testing.assert_allclose(view[0, 5], stored[0, 5], rtol=1e-6)
    finally:
        view.close()
    with pytest.raises(RecipeError):
        open_stimulus(recipe, "no_such_stimulus")


def test_open_responses_reads_the_frames_the_converter_writes(
    example: tuple[Recipe, Path],
) -> None:
    recipe, dataset = example
    session = expand_sessions(recipe)[0]
    frames = stimulus_frames(recipe)
    reader = open_responses(recipe, session, 0, frames=frames)
    try:
        with h5py.File(dataset / f"{session.name}.hdf5") as f:
            natural = f["responses_natural"][()]  # the first epoch: (neurons, frames)
        assert reader.n_neurons == natural.shape[0]
        np.testing.assert_allclose(reader.read(0, frames["natural"]), natural, rtol=1e-6)
    finally:
        reader.close()
    with pytest.raises(RecipeError, match="no source 1"):
        open_responses(recipe, session, 1, frames=frames)
