"""NormalizedMovie: indexes like the float32 array it stands for, reads only what is asked."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openretina_data.movie_view import NormalizedMovie

MEAN, STD = 100.0, 40.0


def parts(tmp_path: Path) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (2, n, 3, 4)).astype(np.uint8) for n in (7, 5, 6)]
    mapped = []
    for index, array in enumerate(arrays):
        np.save(tmp_path / f"p{index}.npy", array)
        mapped.append(np.load(tmp_path / f"p{index}.npy", mmap_mode="r"))
    return mapped


def expected(arrays: list[np.ndarray]) -> np.ndarray:
    joined = np.concatenate(arrays, axis=1)
    return np.subtract(joined, np.float32(MEAN), dtype=np.float32) / np.float32(STD)


@pytest.mark.parametrize(
    "key",
    [
        (slice(None), slice(5, 9)),
        (slice(None), slice(None, None, -1)),
        (slice(None), slice(15, 2, -3)),
        (slice(None), slice(9, 3)),
        (0, slice(2, 16, 2), 1),
        (Ellipsis, 2),
        (slice(None), -1),
        (slice(None), 7),
        (slice(None), np.array([0, 17, 6, 6])),
        (1, [3, 12], slice(0, 2), 3),
        0,
        (slice(None), np.arange(18) % 2 == 0),
    ],
)
def test_indexing_matches_the_normalised_array(tmp_path: Path, key: Any) -> None:
    arrays = parts(tmp_path)
    movie = NormalizedMovie(arrays, MEAN, STD, names=["a", "b", "c"])
    result = movie[key]
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, expected(arrays)[key])


def test_structure_and_whole_read(tmp_path: Path) -> None:
    arrays = parts(tmp_path)
    movie = NormalizedMovie(arrays, MEAN, STD, names=["a", "b", "c"])
    assert movie.shape == (2, 18, 3, 4) and movie.ndim == 4 and len(movie) == 2
    assert movie.boundaries == (0, 7, 12, 18) and movie.names == ("a", "b", "c")
    assert movie.size == 2 * 18 * 12
    np.testing.assert_array_equal(np.asarray(movie), expected(arrays))
    assert "names=['a', 'b', 'c']" in repr(movie)


def test_pickles_as_file_names_not_frames(tmp_path: Path) -> None:
    np.save(
        tmp_path / "big.npy", np.arange(2 * 500 * 8 * 8, dtype=np.float32).reshape(2, 500, 8, 8)
    )
    arrays = [np.load(tmp_path / "big.npy", mmap_mode="r")]
    movie = NormalizedMovie(arrays, MEAN, STD)
    shipped = pickle.dumps(movie)
    assert len(shipped) < 2000 < arrays[0].nbytes
    np.testing.assert_array_equal(pickle.loads(shipped)[:, 3:140], expected(arrays)[:, 3:140])


def test_out_of_range_and_newaxis_are_index_errors(tmp_path: Path) -> None:
    movie = NormalizedMovie(parts(tmp_path), MEAN, STD)
    with pytest.raises(IndexError):
        movie[:, 18]
    with pytest.raises(IndexError):
        movie[:, [0, 18]]
    with pytest.raises(IndexError):
        movie[None]
    with pytest.raises(IndexError):
        movie[0, 0, 0, 0, 0]


@settings(max_examples=150, deadline=None)
@given(
    start=st.integers(-25, 25) | st.none(),
    stop=st.integers(-25, 25) | st.none(),
    step=st.sampled_from([None, 1, 2, 3, -1, -2, -5]),
    channel=st.sampled_from([slice(None), 0, 1, slice(1, 2)]),
)
def test_any_time_slice_matches_the_normalised_array(
    start: int | None, stop: int | None, step: int | None, channel: Any
) -> None:
    rng = np.random.default_rng(5)
    arrays = [rng.integers(0, 256, (2, n, 3, 4)).astype(np.uint8) for n in (7, 5, 6)]
    movie = NormalizedMovie(arrays, MEAN, STD)
    key = (channel, slice(start, stop, step))
    np.testing.assert_array_equal(movie[key], expected(arrays)[key])
