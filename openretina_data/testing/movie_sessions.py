"""Sessions of movie + responses for dataloader tests and benchmarks.

``frame_stamped_session`` makes a session whose frames carry their own frame number
and whose responses carry it too, so a test can tell from any batch which frames it
holds and whether inputs and targets line up; ``write_frame_stamped_dataset`` writes
one as a native dataset whose training frames come from several stimuli (to see
chunks that cross a join). ``write_native_dataset`` writes a
native-layout folder of any size in bounded memory (the benchmark's 3.4 GiB
sessions), readable by openretina 1.1.1's ``h5_dataset_reader`` and by ours.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Any

import h5py
import numpy as np

#: Response of neuron ``n`` at frame ``t`` in a frame-stamped session.
NEURON_STRIDE = 1_000_000


def frame_stamped_session(
    n_frames: int,
    n_neurons: int = 3,
    test_frames: int = 120,
    frame_size: tuple[int, int] = (4, 4),
    channels: int = 1,
    dtype: str = "float32",
    base: ModuleType | None = None,
    test_names: tuple[str, ...] = ("test",),
) -> tuple[Any, Any]:
    """A ``(ResponsesTrainTestSplit, MoviesTrainTestSplit)`` pair that stamps frame numbers.

    Every pixel of training frame ``t`` equals ``t`` (``t % 256`` for uint8) and
    training response ``(n, t)`` equals ``t + n * NEURON_STRIDE``; test stimulus ``i``
    uses ``-(t + 1) - i * NEURON_STRIDE`` (float) so it never looks like training data.

    Parameters
    ----------
    base
        Module with ``MoviesTrainTestSplit``/``ResponsesTrainTestSplit``: ours by
        default, or ``openretina.data_io.base`` for side-by-side runs.
    """
    if base is None:
        from openretina_data import base as base_module

        base = base_module
    height, width = frame_size
    frame_numbers = np.arange(n_frames)
    movie = np.broadcast_to(
        frame_numbers[None, :, None, None], (channels, n_frames, height, width)
    ).astype(dtype)
    neurons = np.arange(n_neurons)[:, None] * NEURON_STRIDE
    responses = (frame_numbers[None, :] + neurons).astype(np.float32)
    test_movies, test_responses = {}, {}
    for index, name in enumerate(test_names):
        stamp = -(np.arange(test_frames) + 1.0) - index * NEURON_STRIDE
        test_movies[name] = np.broadcast_to(
            stamp[None, :, None, None], (channels, test_frames, height, width)
        ).astype(np.float32 if dtype == "uint8" else dtype)
        test_responses[name] = (stamp[None, :] + neurons).astype(np.float32)
    return (
        base.ResponsesTrainTestSplit(train=responses, test_dict=test_responses),
        base.MoviesTrainTestSplit(train=movie, test_dict=test_movies),
    )


def write_frame_stamped_dataset(
    folder: str | os.PathLike[str],
    train_lengths: tuple[int, ...] = (455, 445),
    test_frames: int = 60,
    n_neurons: int = 2,
    frame_size: tuple[int, int] = (1, 1),
) -> Path:
    """Write a one-session native dataset whose training frames carry their frame number.

    Training stimulus ``i`` is ``stimuli/movie_<i>.npy`` (float32, one channel) with
    ``train_lengths[i]`` frames; a reader that joins them in sorted name order gets a
    training movie whose frame ``t`` equals ``t`` everywhere, so the first joins lie at
    ``cumsum(train_lengths)[:-1]``. ``stimuli/test.npy`` holds ``-(t + 1)``. The session
    ``s.hdf5`` has ``responses_<stim>`` (neurons, time) with neuron ``n`` at training frame
    ``t`` equal to ``t + n * NEURON_STRIDE`` (test: stamped like its movie). Returns the folder.
    """
    root = Path(folder)
    (root / "stimuli").mkdir(parents=True, exist_ok=True)
    neurons = np.arange(n_neurons)[:, None] * NEURON_STRIDE
    stamps: dict[str, np.ndarray] = {}
    start = 0
    for index, length in enumerate(train_lengths):
        stamps[f"movie_{index}"] = np.arange(start, start + length, dtype=np.float64)
        start += length
    stamps["test"] = -(np.arange(test_frames) + 1.0)
    with h5py.File(root / "s.hdf5", "w") as session:
        for name, stamp in stamps.items():
            movie = np.broadcast_to(stamp[None, :, None, None], (1, stamp.size, *frame_size))
            np.save(root / "stimuli" / f"{name}.npy", movie.astype(np.float32))
            session[f"responses_{name}"] = (stamp[None, :] + neurons).astype(np.float32)
    return root


def random_session(
    n_frames: int,
    n_neurons: int = 5,
    test_frames: int = 150,
    frame_size: tuple[int, int] = (6, 6),
    seed: int = 0,
    base: ModuleType | None = None,
) -> tuple[Any, Any]:
    """A ``(responses, movies)`` pair of random float32 values (gaussian movie, uniform rates)."""
    if base is None:
        from openretina_data import base as base_module

        base = base_module
    rng = np.random.default_rng(seed)
    movie = rng.normal(size=(1, n_frames, *frame_size)).astype(np.float32)
    test = rng.normal(size=(1, test_frames, *frame_size)).astype(np.float32)
    return (
        base.ResponsesTrainTestSplit(
            train=rng.random((n_neurons, n_frames)).astype(np.float32),
            test=rng.random((n_neurons, test_frames)).astype(np.float32),
        ),
        base.MoviesTrainTestSplit(train=movie, test=test),
    )


def write_native_dataset(
    folder: str | os.PathLike[str],
    n_sessions: int = 1,
    n_frames: int = 2000,
    test_frames: int = 300,
    frame_size: tuple[int, int] = (50, 50),
    n_neurons: int = 9,
    dtype: str = "float32",
    seed: int = 0,
    slab_frames: int = 4096,
) -> Path:
    """Write a native dataset: ``stimuli/train.npy``, ``stimuli/test.npy``, ``s<i>.hdf5``.

    Every session saw the same two stimuli (as in the Maheswaranathan sessions) and
    has ``responses_train`` (neurons, n_frames) and ``responses_test`` (neurons,
    test_frames). Stimuli are written ``slab_frames`` frames at a time, so memory
    stays small whatever ``n_frames`` is. Returns the folder.
    """
    root = Path(folder)
    (root / "stimuli").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name, length in (("train", n_frames), ("test", test_frames)):
        shape = (1, length, *frame_size)
        movie = np.lib.format.open_memmap(
            root / "stimuli" / f"{name}.npy", mode="w+", dtype=dtype, shape=shape
        )
        for start in range(0, length, slab_frames):
            stop = min(length, start + slab_frames)
            values = rng.integers(0, 256, size=(1, stop - start, *frame_size))
            movie[:, start:stop] = values.astype(dtype)
        movie.flush()
        del movie
    for index in range(n_sessions):
        with h5py.File(root / f"s{index}.hdf5", "w") as session:
            session["responses_train"] = rng.random((n_neurons, n_frames), dtype=np.float32)
            session["responses_test"] = rng.random((n_neurons, test_frames), dtype=np.float32)
            session["session_info/cell_types"] = np.arange(n_neurons)
    return root
