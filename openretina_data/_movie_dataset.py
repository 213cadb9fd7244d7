"""The dataset and sampler behind :mod:`openretina_data.base_dataloader`.

:class:`MovieDataSet` serves chunks of a :class:`~openretina_data.frames.LazyMovie`
with the matching responses; whole batches are read straight into one float32
tensor (``__getitems__``) so a batch costs one pass over its frames.
:class:`MovieSampler` says where the chunks of an epoch start and, under
``torch.distributed``, which of them this rank serves.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections import namedtuple
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any, SupportsIndex

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler, default_collate

from openretina_data._sampling import draw_training_starts, fit_into_runs, shard
from openretina_data.errors import DataValidationError, OpenRetinaDataError
from openretina_data.frames import LazyMovie, as_lazy_movie

DataPoint = namedtuple("DataPoint", ["inputs", "targets"])
RawDataPoint = namedtuple("RawDataPoint", ["inputs", "targets", "norm_mean", "norm_std"])
RawDataPoint.__doc__ = """A batch (or sample) whose stimulus is not normalised yet (``normalize_on="device"``).

inputs : (batch, channels, chunk, h, w) tensor in the movie's stored dtype (uint8, float32 ...)
targets : (batch, chunk, neurons) float32 tensor
norm_mean, norm_std : float
    What :func:`openretina_data.device_batches.to_device` applies on the device:
    ``(float32(inputs) - norm_mean) / norm_std``.
"""

#: Where the stimulus is normalised: in the batch (``"cpu"``), or by ``to_device``.
NORMALIZE_ON = ("cpu", "device")


class _Batch(list):
    """Samples of one batch, plus the batch already stacked (used by :func:`collate_movie_batch`)."""

    stacked: DataPoint


def as_float32_tensor(values: Any) -> torch.Tensor:
    """``values`` (an array or tensor, any shape) as a float32 CPU tensor; no copy when it already is one."""
    if isinstance(values, torch.Tensor):
        return values.detach().to(torch.float32)
    return torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))


def collate_movie_batch(samples: Any) -> Any:
    """Return the pre-stacked batch that :meth:`MovieDataSet.__getitems__` made, else collate."""
    if isinstance(samples, _Batch):
        return samples.stacked
    if samples and isinstance(samples[0], RawDataPoint):
        first = samples[0]
        return RawDataPoint(
            torch.stack([s.inputs for s in samples]),
            torch.stack([s.targets for s in samples]),
            first.norm_mean,
            first.norm_std,
        )
    return default_collate(samples)


class MovieDataSet(Dataset):
    """Chunks of a movie and the responses to it, by start frame.

    Parameters
    ----------
    movies : (channels, time, height, width)
        Frames: numpy array or memmap, h5py dataset, torch tensor or LazyMovie. Read on
        demand as float32; a LazyMovie applies its own normalisation.
    responses : (time, neurons), or for ``split="test"`` a dict with "avg" (time,
        neurons) and optional "by_trial" (trials, time, neurons)
        Responses, one row per frame.
    roi_ids, roi_coords, group_assignment
        Per-neuron metadata, kept as attributes.
    split
        "train", "validation", "val" or "test".
    chunk_size
        Frames per sample.
    session
        Session name, filled into errors raised while reading frames (a NaN/Inf found in a
        stimulus on disk, say).
    normalize_on
        ``"cpu"`` (default): samples and batches are normalised float32 ``DataPoint``.
        ``"device"``: :class:`RawDataPoint` with the stored values (uint8 stays uint8)
        and the movie's ``norm_mean``/``norm_std``, for
        :func:`openretina_data.device_batches.to_device`.

    Notes
    -----
    ``dataset[start]`` is ``DataPoint(inputs (channels, chunk, h, w), targets (chunk,
    neurons))``, both float32 tensors; ``dataset[a:b]`` slices the time axis. ``samples``,
    ``movies``, ``responses``, ``mean_response`` and ``test_responses_by_trial`` are as
    in openretina 1.1.1 (``movies`` is a LazyMovie, not a tensor).
    """

    def __init__(
        self,
        movies: Any,
        responses: Any,
        roi_ids: np.ndarray | None,
        roi_coords: np.ndarray | None,
        group_assignment: np.ndarray | None,
        split: str,
        chunk_size: int,
        *,
        session: str | None = None,
        normalize_on: str = "cpu",
    ) -> None:
        if normalize_on not in NORMALIZE_ON:
            raise DataValidationError(
                f"normalize_on={normalize_on!r} is not one of {list(NORMALIZE_ON)}",
                session=session,
                hint='Pass normalize_on="cpu" (batches arrive normalised) or "device" '
                "(normalise them with openretina_data.device_batches.to_device).",
            )
        self.normalize_on = normalize_on
        self.session = session
        self.roi_ids = roi_ids
        self.roi_coords = roi_coords
        self.group_assignment = group_assignment
        self.test_responses_by_trial: torch.Tensor | None = None
        if split == "test" and isinstance(responses, dict):
            self.test_responses_by_trial = responses.get("by_trial")
            responses = responses["avg"]
        self.samples: tuple[LazyMovie, torch.Tensor] = (
            as_lazy_movie(movies),
            as_float32_tensor(responses),
        )
        self.chunk_size = chunk_size
        self._mean_response: torch.Tensor | None = None

    @property
    def mean_response(self) -> torch.Tensor:
        """(neurons,) mean response over time (computed on first use; models init biases from it)."""
        if self._mean_response is None:
            self._mean_response = torch.mean(self.responses, dim=0)
        return self._mean_response

    @property
    def movies(self) -> LazyMovie:
        """The frames, ``(channels, time, height, width)``, read on demand."""
        return self.samples[0]

    @property
    def responses(self) -> torch.Tensor:
        """``(time, neurons)`` float32 responses, one row per frame."""
        return self.samples[1]

    def _frames(self, start: int, stop: int) -> torch.Tensor:
        with self._located():
            frames = self.movies.read(start, stop, raw=self.normalize_on == "device")
        return torch.from_numpy(frames)

    def _point(self, inputs: torch.Tensor, targets: torch.Tensor) -> Any:
        if self.normalize_on == "device":
            return RawDataPoint(inputs, targets, self.movies.norm_mean, self.movies.norm_std)
        return DataPoint(inputs, targets)

    @contextlib.contextmanager
    def _located(self) -> Iterator[None]:
        """Name this dataset's session on our errors raised inside the block."""
        try:
            yield
        except OpenRetinaDataError as error:
            error.session = error.session or self.session
            raise

    def __getitem__(self, idx: SupportsIndex | slice) -> DataPoint:
        if isinstance(idx, slice):
            start, stop, _ = idx.indices(self.movies.n_frames)
            return self._point(self._frames(start, stop), self.responses[idx])
        start = int(idx)
        return self._point(
            self._frames(start, start + self.chunk_size),
            self.responses[start : start + self.chunk_size],
        )

    def __getitems__(self, indices: Sequence[int]) -> list:
        """The samples at ``indices``, read into one (batch, channels, chunk, h, w) tensor."""
        starts = [int(i) for i in indices]
        n_frames, chunk = self.movies.n_frames, self.chunk_size
        if any(s < 0 or s + chunk > n_frames for s in starts) or not starts:
            return [self[s] for s in starts]  # short chunks at the end: as openretina
        channels, _, height, width = self.movies.shape
        raw = self.normalize_on == "device"
        dtype = self.movies.raw_dtype if raw else np.dtype(np.float32)
        inputs = _BATCH_BUFFERS.take((len(starts), channels, chunk, height, width), dtype)
        frames = inputs.numpy()
        with self._located():
            _read_rows(self.movies, frames, starts, raw=raw)
        del frames
        # Gathered with numpy: torch's indexing kernel wakes its OpenMP threads, whose
        # spinning then takes the cores from the reading threads (2x slower batches).
        offsets = np.add.outer(np.asarray(starts), np.arange(chunk))
        targets = torch.from_numpy(self.responses.numpy()[offsets])
        batch = _Batch(map(self._point, inputs.unbind(0), targets.unbind(0)))
        batch.stacked = self._point(inputs, targets)
        return batch

    def __len__(self) -> int:
        return self.responses.shape[0] // self.chunk_size

    def __str__(self) -> str:
        return (
            f"MovieDataSet with {self.responses.shape[1]} neuron responses "
            f"to a movie of shape {list(self.movies.shape)}."
        )

    __repr__ = __str__


_threads: tuple[int, ThreadPoolExecutor] | None = None  # (pid, pool) of this process


def _read_rows(
    movie: LazyMovie, frames: np.ndarray, starts: list[int], *, raw: bool = False
) -> None:
    """Fill ``frames[row]`` (channels, chunk, h, w) with the chunk at ``starts[row]``
    (normalised float32, or with ``raw`` the stored values).

    Rows are split over torch's intra-op thread count (numpy releases the GIL while it
    copies and normalises), as ``torch.stack`` would, the calling thread reading the
    first share; one thread in DataLoader workers.
    """
    global _threads
    spots = movie.locate(starts, frames.shape[2])
    n_threads = min(torch.get_num_threads(), len(starts))
    if n_threads <= 1 or torch.utils.data.get_worker_info() is not None:
        _read_some(movie, frames, starts, spots, range(len(starts)), raw)
        return
    if _threads is None or _threads[0] != os.getpid() or _threads[1]._max_workers < n_threads:
        _threads = (os.getpid(), ThreadPoolExecutor(n_threads, "openretina-data-read"))
    step = -(-len(starts) // n_threads)
    groups = [range(i, min(i + step, len(starts))) for i in range(0, len(starts), step)]
    pending = [
        _threads[1].submit(_read_some, movie, frames, starts, spots, rows, raw)
        for rows in groups[1:]
    ]
    try:
        _read_some(movie, frames, starts, spots, groups[0], raw)
    finally:
        wait(pending)  # every thread is done with ``frames`` before anything is raised
    for done in pending:
        done.result()


def _read_some(
    movie: LazyMovie,
    frames: np.ndarray,
    starts: list[int],
    spots: list[tuple[int, int] | None],
    rows: range,
    raw: bool = False,
) -> None:
    """Read ``rows`` of a batch: chunks inside one part together, part by part."""
    mean, std = (None, None) if raw else (movie.norm_mean, movie.norm_std)
    by_part: dict[int, tuple[list[int], list[int]]] = {}
    for row in rows:
        spot = spots[row]
        if spot is None:
            movie.read_into(frames[row], starts[row], raw=raw)
        else:
            targets, firsts = by_part.setdefault(spot[0], ([], []))
            targets.append(row)
            firsts.append(spot[1])
    for part, (targets, firsts) in by_part.items():
        movie.parts[part].read_many(frames, targets, firsts, mean, std)


class BatchBuffers:
    """A few batch arrays, reused once nothing made from them is alive.

    A fresh 32 MB batch can cost more to fault in (the allocator hands such blocks back
    to the system when freed) than to fill, so :meth:`take` hands out a tensor over a kept
    array that no tensor still refers to: a tensor made with ``torch.from_numpy`` holds
    one reference to its array until its storage is freed, that is until no tensor,
    view, numpy array or storage object made from it is alive. In a ``DataLoader`` worker
    nothing is kept: a batch sent to the main process moves into shared memory.
    One pool serves every dataset of a process, so the memory kept is a few batches
    however many sessions there are.
    """

    def __init__(self, size: int = 3) -> None:
        self.size = size
        self._kept: list[np.ndarray] = []
        self._lock = threading.Lock()  # two loaders iterated from two threads never share one

    def take(self, shape: tuple[int, ...], dtype: Any = np.float32) -> torch.Tensor:
        """An uninitialised tensor of ``shape`` and ``dtype`` (numpy's) that no one else refers to."""
        dtype = np.dtype(dtype)
        if torch.utils.data.get_worker_info() is not None:
            return torch.from_numpy(np.empty(shape, dtype=dtype))
        with self._lock:
            return self._take(shape, dtype)

    def _take(self, shape: tuple[int, ...], dtype: np.dtype[Any]) -> torch.Tensor:
        for index in range(len(self._kept)):
            # References: the list and getrefcount's argument; a live tensor adds one.
            if (
                self._kept[index].shape == shape
                and self._kept[index].dtype == dtype
                and sys.getrefcount(self._kept[index]) == 2
            ):
                return torch.from_numpy(self._kept[index])
        fresh = np.empty(shape, dtype=dtype)
        if len(self._kept) == self.size:
            self._kept = [k for k in self._kept if k.shape == shape and k.dtype == dtype]
        if len(self._kept) < self.size:
            self._kept.append(fresh)
        return torch.from_numpy(fresh)


_BATCH_BUFFERS = BatchBuffers()  # shared by every dataset of this process: a few batches in all


def resolve_distributed(distributed: bool | None) -> tuple[int | None, int | None]:
    """``(num_replicas, rank)`` of the initialised process group, or ``(None, None)``."""
    initialised = torch.distributed.is_available() and torch.distributed.is_initialized()
    if distributed is None:
        distributed = initialised
    if not distributed:
        return None, None
    if not initialised:
        raise DataValidationError(
            "distributed=True but torch.distributed has no initialised process group",
            hint="Call torch.distributed.init_process_group() first (torchrun sets it up), "
            "or pass distributed=False.",
        )
    return torch.distributed.get_world_size(), torch.distributed.get_rank()


class MovieSampler(Sampler[int]):
    """Start frames of the chunks of one epoch.

    Parameters
    ----------
    start_indices
        Unshifted chunk starts.
    split
        Training starts are shifted and shuffled each epoch (unless ``scene_length ==
        chunk_size``, as in openretina); other splits are served in order.
    chunk_size, movie_length, scene_length, allow_over_boundaries
        As in openretina 1.1.1.
    runs
        ``[(start, stop), ...]`` stretches a training chunk must lie inside (default:
        the whole movie). Set by :func:`get_movie_dataloader` from removed validation
        clips, stimulus joins and excluded NaN frames.
    num_replicas, rank
        Shard every epoch across this many ranks (default: no sharding). Every rank
        draws the same shuffled epoch from ``seed`` and the epoch number and keeps
        every ``num_replicas``-th sample from ``rank``; :meth:`set_epoch` changes the
        epoch (as with ``DistributedSampler``; without calls, each pass counts one).
    seed
        Base seed of the shared shuffle when sharding. Unsharded training draws from
        the global ``np.random`` state, as openretina does.
    drop_last_shard
        Leave out the tail that does not divide evenly instead of padding.
    """

    def __init__(
        self,
        start_indices: Sequence[int],
        split: str,
        chunk_size: int,
        movie_length: int,
        scene_length: int,
        allow_over_boundaries: bool = False,
        *,
        runs: Sequence[tuple[int, int]] | None = None,
        num_replicas: int | None = None,
        rank: int | None = None,
        seed: int = 0,
        drop_last_shard: bool = False,
    ) -> None:
        super().__init__()
        self.indices = list(start_indices)
        self.split = split
        self.chunk_size = chunk_size
        self.movie_length = movie_length
        self.scene_length = scene_length
        self.allow_over_boundaries = allow_over_boundaries
        self.runs = list(runs) if runs is not None else [(0, movie_length)]
        self.num_replicas = num_replicas
        self.rank = 0 if rank is None else rank
        self.seed = seed
        self.drop_last_shard = drop_last_shard
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose shuffle the next pass serves (sharded sampling)."""
        self.epoch = epoch

    def _epoch_starts(self, rng: Any) -> np.ndarray:
        if self.split == "train" and self.scene_length != self.chunk_size:
            return draw_training_starts(
                self.indices,
                self.chunk_size,
                self.movie_length,
                self.scene_length,
                self.allow_over_boundaries,
                self.runs,
                rng,
            )
        starts = np.asarray(self.indices, dtype=np.int64)
        if self.split == "train" and self.runs != [(0, self.movie_length)]:
            starts = fit_into_runs(starts, self.chunk_size, self.runs)
        return starts

    def __iter__(self) -> Iterator[int]:
        if self.num_replicas is None:
            starts = self._epoch_starts(np.random)
        else:
            starts = self._epoch_starts(np.random.RandomState(self.seed + self.epoch))
            starts = shard(starts, self.rank, self.num_replicas, self.drop_last_shard)
            self.epoch += 1
        return iter(int(s) for s in starts)

    def __len__(self) -> int:
        if self.num_replicas is None:
            return len(self.indices)
        if self.drop_last_shard:
            return len(self.indices) // self.num_replicas
        return -(-len(self.indices) // self.num_replicas)
