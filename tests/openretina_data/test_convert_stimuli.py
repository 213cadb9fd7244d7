"""Stimulus dtype: ``dtype: auto`` writes 8-bit movies as uint8, everything else as float32."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from openretina_data.convert import convert
from openretina_data.convert_stimuli import holds_bytes
from openretina_data.errors import ShapeError
from openretina_data.recipe import Recipe
from openretina_data.testing.recipes import binned_recording


def _rewrite_stimuli(root: Path, make: object) -> dict[str, np.ndarray]:
    """Replace both source movies (t, h, w) with ``make(shape, rng)``; returns them."""
    rng = np.random.default_rng(1)
    movies = {}
    for name in ("train", "test"):
        path = root / "stimuli" / f"{name}.npy"
        shape = np.load(path, mmap_mode="r").shape
        movies[name] = make(shape, rng)  # type: ignore[operator]
        np.save(path, movies[name])
    return movies


def _with(movie: np.ndarray, value: float) -> np.ndarray:
    movie.flat[movie.size // 2] = value
    return movie


def _written(recipe: Recipe, root: Path) -> dict[str, np.ndarray]:
    for _ in convert(recipe):
        pass
    return {n: np.load(root / "dataset" / "stimuli" / f"{n}.npy") for n in ("train", "test")}


def test_auto_is_the_default() -> None:
    assert Recipe.__dataclass_fields__["dtype"].default == "auto"


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda shape, rng: rng.integers(0, 256, shape).astype(np.uint8), np.uint8),
        (lambda shape, rng: rng.integers(0, 256, shape).astype(np.float32), np.uint8),
        (lambda shape, rng: rng.integers(0, 256, shape).astype(np.int64), np.uint8),
        (lambda shape, rng: rng.random(shape, dtype=np.float32), np.float32),
        (lambda shape, rng: _with(rng.integers(0, 255, shape).astype(np.int16), -1), np.float32),
        (lambda shape, rng: _with(rng.integers(0, 256, shape).astype(np.float64), 256), np.float32),
    ],
    ids=["uint8", "whole-float32", "whole-int64", "fractions", "negative", "above-255"],
)
def test_auto_writes_uint8_only_for_whole_numbers_0_to_255(
    tmp_path: Path, make: object, expected: type
) -> None:
    recipe = binned_recording(tmp_path, n_sessions=1, train_frames=60, test_frames=10)
    sources = _rewrite_stimuli(tmp_path, make)
    written = _written(recipe, tmp_path)
    for name, movie in written.items():
        assert movie.dtype == expected
        # Same values as the source (float32 rounding aside for float64 sources).
        np.testing.assert_array_equal(movie[0], sources[name].astype(np.float32))


def test_a_value_that_does_not_fit_in_the_last_slab_still_means_float32(tmp_path: Path) -> None:
    """The scan looks at every frame, not only the first slab."""
    recipe = binned_recording(tmp_path, n_sessions=1, train_frames=60, test_frames=10)

    def make(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        movie = rng.integers(0, 256, shape).astype(np.float32)
        if shape[0] == 60:  # the training movie only
            movie[-1, -1, -1] = 0.5
        return movie

    _rewrite_stimuli(tmp_path, make)
    import openretina_data.convert_io as convert_io

    original = convert_io.MovieAxes.slab_frames
    try:  # slabs of 7 frames: the odd value sits in the last one
        convert_io.MovieAxes.slab_frames = lambda self, itemsize: 7  # type: ignore[method-assign]
        written = _written(recipe, tmp_path)
    finally:
        convert_io.MovieAxes.slab_frames = original  # type: ignore[method-assign]
    assert written["train"].dtype == np.float32
    assert written["train"][0, -1, -1, -1] == np.float32(0.5)
    assert written["test"].dtype == np.uint8


def test_float32_is_still_forced_on_request(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path, n_sessions=1, train_frames=60, test_frames=10)
    _rewrite_stimuli(tmp_path, lambda shape, rng: rng.integers(0, 256, shape).astype(np.uint8))
    written = _written(dataclasses.replace(recipe, dtype="float32"), tmp_path)
    assert {m.dtype for m in written.values()} == {np.dtype(np.float32)}


def test_uint8_on_request_refuses_values_it_cannot_hold(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path, n_sessions=1, train_frames=60, test_frames=10)
    with pytest.raises(ShapeError, match="do not fit uint8"):
        _written(dataclasses.replace(recipe, dtype="uint8"), tmp_path)
    assert not (tmp_path / "dataset").exists()


def _fits_by_arithmetic(values: np.ndarray) -> bool:
    return all(
        float(v) == float(v) and float(v).is_integer() and 0 <= float(v) <= 255
        for v in values.ravel().tolist()
    )


def _arrays(dtype: type) -> st.SearchStrategy[np.ndarray]:
    shape = hnp.array_shapes(min_dims=1, max_dims=3, max_side=5)
    if np.issubdtype(dtype, np.floating):
        values = st.one_of(
            st.integers(-3, 258).map(float),  # whole numbers around the edges
            st.floats(-300, 300, width=32),
            st.sampled_from([np.nan, np.inf, -np.inf, 255.5, -0.0]),
        )
    else:
        info = np.iinfo(dtype)
        values = st.integers(max(info.min, -300), min(info.max, 300))
    return hnp.arrays(dtype, shape, elements=values)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([np.float32, np.float64, np.int16, np.uint8, np.int64]).flatmap(_arrays))
def test_holds_bytes_matches_arithmetic(values: np.ndarray) -> None:
    assert holds_bytes(values) == _fits_by_arithmetic(values)
