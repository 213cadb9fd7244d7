"""openretina_data.frames: lazy frames on disk are checked for NaN/Inf block by block."""

from __future__ import annotations

import pickle
import sys
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from openretina_data import _kernels
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


# --- the compiled kernel (openretina_data._kernels) -------------------------------------

KERNEL_DTYPES = [np.uint8, np.int16, np.uint16, np.int64, np.float32, np.float64]


def _openretina_normalisation(raw: np.ndarray, mean: float, std: float) -> np.ndarray:
    """What openretina 1.1.1's TrainTestStimuliProcessor computes, written out with torch."""
    return ((torch.tensor(raw, dtype=torch.float32) - mean) / std).numpy()


@st.composite
def _movies(draw: st.DrawFn) -> tuple[np.ndarray, float, float, list[int], int]:
    dtype = draw(st.sampled_from(KERNEL_DTYPES))
    channels, frames = draw(st.integers(1, 3)), draw(st.integers(1, 40))
    height, width = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    shape = (channels, frames, height, width)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        raw = rng.integers(max(info.min, -(2**40)), min(info.max, 2**40), shape, dtype=dtype)
    else:
        raw = (rng.standard_normal(shape) * draw(st.sampled_from([1.0, 300.0, 1e30]))).astype(dtype)
    mean = draw(st.floats(-1e4, 1e4, allow_nan=False))
    std = draw(st.floats(1e-3, 1e4))
    chunk = draw(st.integers(1, frames))
    starts = draw(st.lists(st.integers(0, frames - chunk), min_size=1, max_size=8))
    return raw, mean, std, starts, chunk


@pytest.fixture(scope="module")
def kernel_ready() -> None:
    _kernels.prepare_kernel(*KERNEL_DTYPES)


@pytest.mark.usefixtures("kernel_ready")
@settings(max_examples=150, deadline=None)
@given(_movies())
def test_the_kernel_gives_openretinas_bits(case: tuple) -> None:
    raw, mean, std, starts, chunk = case
    batch = np.full((len(starts), raw.shape[0], chunk, *raw.shape[2:]), np.nan, np.float32)
    assert _kernels._LOADER.get(raw.dtype) is not None  # the compiled path, not numpy's
    _kernels.fill_chunks(raw, batch, range(len(starts)), starts, mean, std)
    for row, start in enumerate(starts):
        piece = raw[:, start : start + chunk]
        expected = _openretina_normalisation(piece, mean, std)
        np.testing.assert_array_equal(batch[row].view(np.uint32), expected.view(np.uint32))
        # ... and the same as float32 arithmetic written out with numpy
        by_hand = (piece.astype(np.float32) - np.float32(mean)) / np.float32(std)
        np.testing.assert_array_equal(batch[row].view(np.uint32), by_hand.view(np.uint32))


@pytest.mark.usefixtures("kernel_ready")
@settings(max_examples=60, deadline=None)
@given(_movies())
def test_the_kernel_and_numpy_agree_bit_for_bit(case: tuple) -> None:
    raw, mean, std, starts, chunk = case
    shape = (len(starts), raw.shape[0], chunk, *raw.shape[2:])
    compiled, numpy_path = np.empty(shape, np.float32), np.empty(shape, np.float32)
    _kernels.fill_chunks(raw, compiled, range(len(starts)), starts, mean, std)
    loader = _kernels._LOADER
    loader.enabled = False
    try:
        _kernels.fill_chunks(raw, numpy_path, range(len(starts)), starts, mean, std)
    finally:
        loader.enabled = True
    np.testing.assert_array_equal(compiled.view(np.uint32), numpy_path.view(np.uint32))


def test_the_kernel_fills_only_the_rows_asked_for() -> None:
    _kernels.prepare_kernel(np.uint8)
    raw = np.arange(2 * 30 * 2 * 2, dtype=np.uint8).reshape(2, 30, 2, 2)
    batch = np.full((4, 2, 5, 2, 2), -7.0, np.float32)
    _kernels.fill_chunks(raw, batch, [3, 1], [20, 2], 1.5, 2.0)
    assert (batch[[0, 2]] == -7.0).all()
    np.testing.assert_array_equal(batch[3], (raw[:, 20:25].astype(np.float32) - 1.5) / 2)
    np.testing.assert_array_equal(batch[1], (raw[:, 2:7].astype(np.float32) - 1.5) / 2)


def test_the_kernel_refuses_a_chunk_outside_the_frames() -> None:
    from openretina_data._kernel_numba import normalise_chunks

    raw = np.zeros((1, 10, 2, 2), np.uint8)
    batch = np.empty((1, 1, 5, 2, 2), np.float32)
    for start in (-1, 6):
        with pytest.raises(ValueError, match="outside the frames"):
            normalise_chunks(
                raw, batch, np.zeros(1), np.array([start]), np.float32(0), np.float32(1)
            )


def test_the_kernel_loads_in_the_background_and_numpy_serves_meanwhile() -> None:
    loader = _kernels._KernelLoader()
    assert loader.get(np.dtype(np.uint8)) is None  # not ready on the first ask: loading starts
    assert loader._loading is not None
    loader._loading.join(timeout=120)
    assert loader.get(np.dtype(np.uint8)) is not None
    assert loader.get(np.dtype(">f4")) is None and loader.get(np.dtype(np.float16)) is None


def test_without_numba_numpy_serves_every_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openretina_data._kernel_numba", None)  # import fails
    loader = _kernels._KernelLoader()
    monkeypatch.setattr(_kernels, "_LOADER", loader)
    assert loader.get(np.dtype(np.int8)) is None
    assert loader._loading is not None
    loader._loading.join(timeout=60)
    assert loader._failed is not None and loader.get(np.dtype(np.int8)) is None
    raw = np.arange(40, dtype=np.int8).reshape(1, 10, 2, 2)
    batch = np.empty((1, 1, 4, 2, 2), np.float32)
    _kernels.fill_chunks(raw, batch, [0], [3], 2.0, 4.0)
    np.testing.assert_array_equal(batch[0], (raw[:, 3:7].astype(np.float32) - 2) / 4)
    with pytest.raises(ImportError):
        loader.prepare([np.int8])


def test_a_non_contiguous_movie_and_big_endian_frames_take_numpys_path() -> None:
    _kernels.prepare_kernel(np.float32)
    rng = np.random.default_rng(5)
    for raw in (
        rng.random((2, 20, 3, 3)).astype(np.float32)[:, :, ::-1],
        rng.random((2, 20, 3, 3)).astype(">f4"),
    ):
        movie = LazyMovie([raw], 0.3, 0.7)
        expected = _openretina_normalisation(raw[:, 4:9].astype(np.float32), 0.3, 0.7)
        np.testing.assert_array_equal(movie.read(4, 9), expected)


def test_raw_reads_give_the_stored_values_and_dtype(tmp_path: Path) -> None:
    raw = np.random.default_rng(2).integers(0, 256, (1, 50, 3, 4)).astype(np.uint8)
    movie = LazyMovie([mapped(tmp_path, raw), raw[:, :20]], 100.0, 50.0).select([(10, 65)])
    assert movie.raw_dtype == np.uint8
    frames = movie.read(30, 50, raw=True)  # across the join of the two parts
    assert frames.dtype == np.uint8
    np.testing.assert_array_equal(frames, np.concatenate([raw, raw[:, :20]], axis=1)[:, 40:60])
    assert LazyMovie([raw, raw.astype(np.float32)]).raw_dtype == np.float32
