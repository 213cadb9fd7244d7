"""Batch buffers and threaded reads of :mod:`openretina_data._movie_dataset`."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from openretina_data._movie_dataset import BatchBuffers, DataPoint, MovieDataSet, RawDataPoint
from openretina_data.base_dataloader import get_movie_dataloader, multiple_movies_dataloaders
from openretina_data.device_batches import to_device
from openretina_data.errors import DataValidationError, NonFiniteError
from openretina_data.frames import FramePart, LazyMovie
from openretina_data.testing.movie_sessions import frame_stamped_session

SMALL = {"train_chunk_size": 20, "batch_size": 4, "clip_length": 30, "num_val_clips": 5}


@pytest.fixture(params=[1, 2], ids=["one thread", "two threads"])
def threads(request: pytest.FixtureRequest) -> Iterator[int]:
    before = torch.get_num_threads()
    torch.set_num_threads(request.param)
    yield request.param
    torch.set_num_threads(before)


def stamped_loaders() -> dict:
    responses, movies = frame_stamped_session(900)
    return multiple_movies_dataloaders({"s": responses}, {"s": movies}, **SMALL)


def test_batches_kept_by_the_caller_are_never_overwritten(threads: int) -> None:
    loader = stamped_loaders()["train"]["s"]
    kept: list[tuple[object, torch.Tensor]] = []
    for epoch in range(3):
        for index, batch in enumerate(loader):
            # Every way of holding on to a batch: the batch, a view, an array, the storage.
            holder = [
                batch,
                batch.inputs[1:],
                batch.inputs.numpy(),
                batch.inputs.untyped_storage(),
            ][(index + epoch) % 4]
            kept.append((holder, batch.inputs.clone()))
            del batch
    for holder, copy in kept:
        if isinstance(holder, torch.UntypedStorage):
            now = torch.tensor([], dtype=torch.float32).set_(holder).reshape(copy.shape)
        elif isinstance(holder, np.ndarray):
            now = torch.from_numpy(holder)
        elif isinstance(holder, torch.Tensor):
            now, copy = holder, copy[1:]
        else:
            now = holder.inputs  # type: ignore[attr-defined]
        assert torch.equal(now, copy)


def test_a_batch_nobody_holds_is_reused() -> None:
    buffers = BatchBuffers(size=2)
    first = buffers.take((2, 3))
    pointer = first.data_ptr()
    view = first[1]
    assert buffers.take((2, 3)).data_ptr() != pointer  # a view keeps it busy
    del first, view
    assert buffers.take((2, 3)).data_ptr() == pointer


def test_threaded_batches_equal_serial_ones() -> None:
    frames = np.random.default_rng(3).normal(size=(1, 400, 3, 5)).astype(np.float32)
    dataset = MovieDataSet(
        LazyMovie([frames], norm_mean=0.25, norm_std=1.5),
        np.zeros((400, 2), np.float32),
        None,
        None,
        None,
        "train",
        20,
    )
    starts = [0, 17, 380, 101, 250]
    expected = np.stack(
        [(frames[:, s : s + 20] - np.float32(0.25)) / np.float32(1.5) for s in starts]
    )
    before = torch.get_num_threads()
    try:
        for n_threads in (1, 2, 3):
            torch.set_num_threads(n_threads)
            batch = dataset.__getitems__(starts).stacked
            np.testing.assert_array_equal(batch.inputs.numpy(), expected)
    finally:
        torch.set_num_threads(before)


def test_a_nan_read_by_a_thread_names_its_frames(threads: int) -> None:
    frames = np.zeros((1, 400, 3, 5), np.float32)
    frames[0, 310] = np.nan
    movie = LazyMovie([FramePart(frames, verify_finite=True)])
    dataset = MovieDataSet(
        movie, np.zeros((400, 2), np.float32), None, None, None, "train", 20, session="s7"
    )
    with pytest.raises(NonFiniteError, match="frame 310") as caught:
        dataset.__getitems__([0, 40, 80, 300, 120, 160])
    assert caught.value.session == "s7"


# --- normalize_on="device" ------------------------------------------------------------


def _movie_loaders(dtype: str, normalize_on: str, **kwargs: object) -> dict:
    rng = np.random.default_rng(11)
    movie = rng.integers(0, 256, (2, 900, 3, 4)).astype(dtype)
    frames = LazyMovie([movie], norm_mean=121.7, norm_std=64.3)
    responses = rng.random((900, 3)).astype(np.float32)
    common = {"scene_length": 30, "chunk_size": 20, "batch_size": 4, "normalize_on": normalize_on}
    return {
        split: get_movie_dataloader(frames, responses, split=split, **common, **kwargs)
        for split in ("train", "validation", "test")
    }


@pytest.mark.parametrize("dtype", ["uint8", "float32", "int16"])
def test_device_batches_normalised_by_to_device_equal_the_cpu_path(
    dtype: str, threads: int
) -> None:
    cpu, device = _movie_loaders(dtype, "cpu"), _movie_loaders(dtype, "device")
    for split in cpu:
        np.random.seed(5)
        expected = list(cpu[split])
        np.random.seed(5)
        raw = list(device[split])
        assert len(raw) == len(expected) > 0
        for x, r in zip(expected, raw, strict=True):
            assert isinstance(r, RawDataPoint) and r.inputs.dtype == getattr(torch, dtype)
            assert (r.norm_mean, r.norm_std) == (121.7, 64.3)
            by_hand = (r.inputs.numpy().astype(np.float32) - np.float32(121.7)) / np.float32(64.3)
            y = to_device(r, "cpu")
            assert isinstance(y, DataPoint) and y.inputs.dtype == torch.float32
            torch.testing.assert_close(y.inputs, x.inputs, rtol=0, atol=0)
            torch.testing.assert_close(y.targets, x.targets, rtol=0, atol=0)
            np.testing.assert_array_equal(y.inputs.numpy().view(np.uint32), by_hand.view(np.uint32))


def test_device_batches_cross_worker_processes() -> None:
    loaders = _movie_loaders("uint8", "device", num_workers=2)
    expected = _movie_loaders("uint8", "cpu")
    for split in ("validation", "test"):  # in order: comparable across processes
        raw = list(loaders[split])
        assert all(isinstance(r, RawDataPoint) and r.inputs.dtype == torch.uint8 for r in raw)
        for x, r in zip(expected[split], raw, strict=True):
            torch.testing.assert_close(to_device(r, "cpu").inputs, x.inputs, rtol=0, atol=0)


def test_to_device_never_overwrites_the_batch_it_was_given() -> None:
    raw = RawDataPoint(torch.full((2, 1, 3, 2, 2), 5.0), torch.zeros(2, 3, 1), 1.0, 2.0)
    moved = to_device(raw, "cpu")
    assert (raw.inputs == 5.0).all() and (moved.inputs == 2.0).all()


def test_to_device_moves_a_normalised_batch_as_it_is() -> None:
    batch = DataPoint(torch.arange(6.0).reshape(1, 1, 3, 2, 1), torch.ones(1, 3, 2))
    moved = to_device(batch, torch.device("cpu"))
    assert torch.equal(moved.inputs, batch.inputs) and torch.equal(moved.targets, batch.targets)


def test_an_unknown_normalize_on_is_refused() -> None:
    with pytest.raises(DataValidationError, match="normalize_on='gpu'") as caught:
        _movie_loaders("uint8", "gpu")
    assert "device" in (caught.value.hint or "")


def test_batch_buffers_keep_dtypes_apart() -> None:
    buffers = BatchBuffers(size=3)
    as_float = buffers.take((2, 3))
    pointer = as_float.data_ptr()
    del as_float
    as_bytes = buffers.take((2, 3), np.uint8)
    assert as_bytes.dtype == torch.uint8 and as_bytes.data_ptr() != pointer
    assert buffers.take((2, 3)).data_ptr() == pointer
