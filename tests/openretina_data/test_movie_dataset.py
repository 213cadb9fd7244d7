"""Batch buffers and threaded reads of :mod:`openretina_data._movie_dataset`."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from openretina_data._movie_dataset import BatchBuffers, MovieDataSet
from openretina_data.base_dataloader import multiple_movies_dataloaders
from openretina_data.errors import NonFiniteError
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
