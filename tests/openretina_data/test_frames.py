"""openretina_data.frames: lazy frames on disk are checked for NaN/Inf block by block."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from openretina_data._movie_dataset import _read_rows
from openretina_data.errors import NonFiniteError, ShapeError
from openretina_data.frames import FramePart, LazyMovie


def movie_with(bad_frame: int | None, value: float = np.inf, frames: int = 40) -> np.ndarray:
    movie = np.random.default_rng(0).random((2, frames, 3, 4)).astype(np.float32)
    if bad_frame is not None:
        movie[1, bad_frame, 2, 0] = value
    return movie


def mapped(tmp_path: Path, movie: np.ndarray) -> np.ndarray:
    np.save(tmp_path / "train.npy", movie)
    return np.load(tmp_path / "train.npy", mmap_mode="r")


def test_frames_on_disk_are_checked_by_default_and_in_memory_ones_are_not(tmp_path: Path) -> None:
    assert FramePart(mapped(tmp_path, movie_with(None))).verify_finite
    with h5py.File(tmp_path / "s0.hdf5", "w") as file:
        file["stimulus_x"] = movie_with(None)
    with h5py.File(tmp_path / "s0.hdf5", "r") as file:
        assert FramePart(file["stimulus_x"]).verify_finite
    assert not FramePart(movie_with(None)).verify_finite


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_a_memory_mapped_nan_or_inf_names_file_stimulus_and_frames(
    tmp_path: Path, bad: float
) -> None:
    movie = LazyMovie([FramePart(mapped(tmp_path, movie_with(23, bad)), name="train")], 0.5, 2.0)
    movie.read(0, 20)  # frames before the bad one read fine
    with pytest.raises(NonFiniteError) as caught:
        movie.read(20, 30)
    error = caught.value
    assert error.path == str(tmp_path / "train.npy") and error.key == "train"
    assert "frames 20 to 29" in error.message and "first at frame 23" in error.message
    assert "openretina-data check" in (error.hint or "")


def test_the_check_reports_frames_of_the_file_not_of_a_view(tmp_path: Path) -> None:
    """A training view that skips clips still names the frame numbers in the stimulus file."""
    movie = LazyMovie([mapped(tmp_path, movie_with(33))]).select([(0, 10), (30, 40)])
    with pytest.raises(NonFiniteError, match="frames 30 to 39 .first at frame 33"):
        movie.read(5, 20)


def test_an_hdf5_stimulus_is_checked_and_named_by_its_key(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "s0.hdf5", "w") as file:
        file["stimulus_x"] = movie_with(4, np.nan).astype(np.float64)
    with h5py.File(tmp_path / "s0.hdf5", "r") as file:
        movie = LazyMovie([file["stimulus_x"]])
        with pytest.raises(NonFiniteError) as caught:
            movie.read(0, 8)
    assert caught.value.path == str(tmp_path / "s0.hdf5") and caught.value.key == "/stimulus_x"


def test_finite_values_whose_sum_overflows_are_not_an_error(tmp_path: Path) -> None:
    movie = np.full((1, 10, 4, 4), 3e38, dtype=np.float32)
    np.testing.assert_array_equal(LazyMovie([mapped(tmp_path, movie)]).read(0, 10), movie)


def test_a_trusted_part_is_not_scanned(tmp_path: Path) -> None:
    """verify_finite=False (a matching dataset card vouches for the file) reads without a check."""
    part = FramePart(mapped(tmp_path, movie_with(3)), verify_finite=False)
    assert np.isinf(LazyMovie([part]).read(0, 5)).any()


def test_the_check_survives_pickling_into_a_worker(tmp_path: Path) -> None:
    movie = LazyMovie([FramePart(mapped(tmp_path, movie_with(2)), name="train")])
    copy = pickle.loads(pickle.dumps(movie))
    with pytest.raises(NonFiniteError, match="stimulus 'train'"):
        copy.read(0, 4)


def test_frames_seen_finite_are_remembered_but_new_ones_are_checked(tmp_path: Path) -> None:
    """Later epochs skip the pass over frames already seen finite, never over unseen ones."""
    part = FramePart(mapped(tmp_path, movie_with(23)))
    movie = LazyMovie([part])
    movie.read(0, 20)
    assert part._seen_finite is not None and part._seen_finite[:20].all()
    assert not part._seen_finite[20:].any()
    with pytest.raises(NonFiniteError, match="frames 10 to 24"):
        movie.read(10, 25)  # overlaps the seen frames and reaches the bad one
    assert not part._seen_finite[20:].any()


def test_joins_inside_one_part_are_kept_by_views() -> None:
    frames = np.arange(300, dtype=np.float32)[None, :, None, None]
    movie = LazyMovie([frames], joins=[120])
    assert movie.joins == [120]
    view = movie.select([(0, 30), (90, 150)])
    assert view.breaks == [30] and view.joins == [60]
    assert movie.select([(0, 100)]).joins == []


@pytest.mark.parametrize("join", [0, 300])
def test_a_join_outside_the_movie_is_refused(join: int) -> None:
    with pytest.raises(ShapeError, match="outside the movie's 300 frames"):
        LazyMovie([np.zeros((1, 300, 1, 1), np.float32)], joins=[join])


@pytest.fixture
def two_threads() -> Iterator[None]:
    """Batches read on two threads (torch's intra-op count), restored afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


@pytest.mark.usefixtures("two_threads")
def test_a_batch_read_in_threads_equals_chunk_by_chunk_reads(tmp_path: Path) -> None:
    # Three parts (one memory-mapped), a view without two clips: chunks inside one part,
    # across a part boundary and across a removed clip all read the same frames either way.
    rng = np.random.default_rng(3)
    parts = [rng.random((1, n, 3, 4)).astype(np.float32) for n in (70, 55, 90)]
    movie = LazyMovie(
        [parts[0], mapped(tmp_path, parts[1]), parts[2]], norm_mean=0.25, norm_std=0.5
    ).select([(0, 40), (50, 120), (130, 215)])
    starts = rng.integers(0, movie.n_frames - 12, size=64).tolist() + [35, 60, 110]
    assert None in movie.locate(starts, 12) and (0, 0) in movie.locate([0], 12)
    frames = np.empty((len(starts), 1, 12, 3, 4), np.float32)
    _read_rows(movie, frames, starts)
    for row, start in enumerate(starts):
        np.testing.assert_array_equal(frames[row], movie.read(start, start + 12))


@pytest.mark.usefixtures("two_threads")
def test_a_bad_frame_in_any_row_of_a_threaded_batch_is_raised(tmp_path: Path) -> None:
    movie = LazyMovie([mapped(tmp_path, movie_with(37, frames=80))])
    frames = np.empty((8, 2, 5, 3, 4), np.float32)
    with pytest.raises(NonFiniteError, match="frame 37"):
        _read_rows(movie, frames, [0, 10, 20, 30, 40, 50, 60, 35])
