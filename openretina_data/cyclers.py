"""Iterate the per-session dataloaders of a multi-session dataset as one: a drop-in for
``openretina.data_io.cyclers``.

openretina's training loop wraps ``dataloaders["train"]`` (``{session: DataLoader}``) in
:class:`LongCycler` and validates over :class:`ShortCycler`; both are iterable datasets
that yield ``(session, batch)`` pairs, so they also go through an outer
``DataLoader(cycler, batch_size=None, num_workers=...)``.

Same behaviour as openretina 1.1.1 (measured: ``tests/interop/test_cyclers.py`` compares the
sequences both yield on the same loaders):

* :class:`LongCycler` serves one batch per session per step, sessions in sorted order
  (``shuffle=True``: one ``random.shuffle`` of that order per epoch, drawn from Python's
  ``random`` as openretina does). An epoch is ``sessions × longest`` steps; a session
  that runs out starts its loader again (a fresh pass, reshuffled by its sampler).
* :class:`ShortCycler` serves every batch of every session once, session after session
  in sorted order; with ``num_workers`` the sessions are split into contiguous blocks of
  ``ceil(sessions / workers)``, one per worker.

What openretina's lack:

* :class:`LongCycler` works with ``num_workers > 0`` (openretina raises
  ``NotImplementedError``): the epoch's plan (which batch of which session each step
  serves, as index lists) is drawn once, identically in every worker from a shared seed,
  and each worker reads only its own steps, so every step is served exactly once, in the
  single-process order. With unshuffled loaders the sequence equals ``num_workers=0``'s.
* Under ``torch.distributed`` (``distributed=None`` detects a process group), when the
  session loaders are not sharded themselves (ours shard by default, openretina's do not),
  the steps are split across ranks: each rank serves ``ceil(steps / ranks)`` of them, none
  twice (the last few wrap around so that every rank takes the same number of steps, as
  ``DistributedSampler`` pads). Every rank draws the plan from ``seed`` and the epoch:
  call :meth:`LongCycler.set_epoch` each epoch (it also reaches the loaders' samplers).
* ``proportional=True`` samples sessions in proportion to their size instead of
  oversampling the small ones: an epoch serves every batch of every session exactly
  once (``len`` = the sum of the loaders' lengths), sessions interleaved evenly
  (randomly with ``shuffle=True``).
* :class:`ShortCycler` has a ``len`` and leaves surplus workers idle instead of failing.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from openretina_data.errors import DataValidationError

__all__ = ["LongCycler", "ShortCycler"]

Batch = tuple[str, Any]


def _check_loaders(loaders: Mapping[str, Any], kind: str) -> None:
    if not isinstance(loaders, Mapping) or not loaders:
        raise DataValidationError(
            f"{kind} needs a non-empty dict {{session: DataLoader}}, got {type(loaders).__name__}"
            + ("" if not isinstance(loaders, Mapping) else " with no sessions"),
            hint='Pass one split of multiple_movies_dataloaders, e.g. dataloaders["train"].',
        )


def _worker() -> tuple[int, int, Any]:
    """``(worker id, number of workers, worker info)`` of this process (``(0, 1, None)`` in
    the main process)."""
    info = get_worker_info()
    return (0, 1, None) if info is None else (info.id, info.num_workers, info)


def _batch_indices(loader: DataLoader) -> Iterable[Any]:
    """What a fresh pass over ``loader`` would read: its index lists (one per batch), or
    single indices without automatic batching. Draws from the RNGs as iterating it would."""
    return loader.batch_sampler if loader.batch_sampler is not None else loader.sampler


def _fetch(loader: DataLoader, indices: Any) -> Any:
    """The batch ``loader`` builds from ``indices`` (as its own fetcher would)."""
    dataset = loader.dataset
    if loader.batch_sampler is None:
        return loader.collate_fn(dataset[indices])
    getitems = getattr(dataset, "__getitems__", None)
    items = getitems(list(indices)) if getitems is not None else [dataset[i] for i in indices]
    return loader.collate_fn(items)


def _map_style(loader: Any) -> bool:
    return (
        isinstance(loader, DataLoader)
        and not isinstance(loader.dataset, IterableDataset)
        and hasattr(loader.dataset, "__getitem__")
    )


def _is_sharded(loader: Any) -> bool:
    """The loader already serves one rank's share (our sharded sampler, DistributedSampler)."""
    sampler = getattr(loader, "sampler", None)
    replicas = getattr(sampler, "num_replicas", None)
    return replicas is not None and replicas > 1


class _SeededRandomness:
    """Seed Python's, numpy's and torch's global generators for a block, then put back what
    was there: the plan is drawn identically everywhere without disturbing the caller."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __enter__(self) -> None:
        self.saved = (random.getstate(), np.random.get_state(), torch.random.get_rng_state())
        random.seed(self.seed)
        np.random.seed(self.seed % 2**32)
        torch.manual_seed(self.seed)

    def __exit__(self, *exc: object) -> None:
        python_state, numpy_state, torch_state = self.saved
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        torch.random.set_rng_state(torch_state)


def split_steps(n_steps: int, rank: int, ranks: int, worker: int, workers: int) -> list[int]:
    """The steps (numbers into an epoch of ``n_steps``) one worker of one rank serves.

    Rank ``r`` takes steps ``r, r + ranks, ...`` of the epoch padded by wrapping around
    to a multiple of ``ranks`` (so every rank serves ``ceil(n_steps / ranks)``); its
    workers take turns over those. A ``DataLoader`` reading the workers in turn gives
    back the rank's steps in order.
    """
    per_rank = math.ceil(n_steps / ranks) if n_steps else 0
    rank_steps = [(rank + ranks * i) % n_steps for i in range(per_rank)]
    return rank_steps[worker::workers]


class LongCycler(IterableDataset):
    """One batch per session per step until the longest session is through.

    Parameters
    ----------
    loaders
        ``{session: DataLoader}``, e.g. ``dataloaders["train"]``.
    shuffle
        Shuffle the order of the sessions once per epoch (openretina's default).
    proportional
        Serve every batch of every session exactly once per epoch, sessions interleaved
        in proportion to their size, instead of cycling the shorter ones.
    seed
        Base of the plan's seed under ``torch.distributed`` (every rank must agree);
        the epoch number (:meth:`set_epoch`) is added.
    distributed
        Split the steps across ranks; None (default): when a process group is initialised
        and the loaders are not sharded themselves.

    Yields
    ------
    (session, batch)
        The session's name and the batch its loader gives.
    """

    def __init__(
        self,
        loaders: Mapping[str, DataLoader],
        shuffle: bool = True,
        *,
        proportional: bool = False,
        seed: int = 0,
        distributed: bool | None = None,
    ) -> None:
        _check_loaders(loaders, "LongCycler")
        self.loaders = dict(loaders)
        self.shuffle = shuffle
        self.proportional = proportional
        self.seed = seed
        self.distributed = distributed
        self.epoch = 0
        self.max_batches = max(len(loader) for loader in self.loaders.values())

    def set_epoch(self, epoch: int) -> None:
        """The epoch the next pass serves (and its loaders' samplers, where they take one)."""
        self.epoch = epoch
        for loader in self.loaders.values():
            set_sampler_epoch = getattr(getattr(loader, "sampler", None), "set_epoch", None)
            if callable(set_sampler_epoch):
                set_sampler_epoch(epoch)

    def _ranks(self) -> tuple[int, int]:
        """``(rank, ranks)`` the steps are split over (``(0, 1)``: not split)."""
        initialised = torch.distributed.is_available() and torch.distributed.is_initialized()
        wanted = self.distributed
        if wanted is None:
            wanted = initialised and not any(_is_sharded(x) for x in self.loaders.values())
        if not wanted:
            return 0, 1
        if not initialised:
            raise DataValidationError(
                "LongCycler(distributed=True) but torch.distributed has no initialised "
                "process group",
                hint="Call torch.distributed.init_process_group() first (torchrun sets it "
                "up), or pass distributed=False.",
            )
        return torch.distributed.get_rank(), torch.distributed.get_world_size()

    def _n_steps(self) -> int:
        if self.proportional:
            return sum(len(loader) for loader in self.loaders.values())
        return len(self.loaders) * self.max_batches

    def __len__(self) -> int:
        _, ranks = self._ranks()
        return math.ceil(self._n_steps() / ranks)

    def _session_order(self) -> list[str]:
        """The session of every step of an epoch (draws from Python's ``random``)."""
        keys = sorted(self.loaders)
        if not self.proportional:
            if self.shuffle:
                random.shuffle(keys)
            return keys * self.max_batches
        if self.shuffle:
            order = [k for k in keys for _ in range(len(self.loaders[k]))]
            random.shuffle(order)
            return order
        # evenly: batch j of a session with n batches sits at (j + 1/2) / n of the epoch
        slots = [
            ((j + 0.5) / len(self.loaders[k]), k) for k in keys for j in range(len(self.loaders[k]))
        ]
        return [k for _, k in sorted(slots)]

    def __iter__(self) -> Iterator[Batch]:
        worker, workers, info = _worker()
        rank, ranks = self._ranks()
        if workers == 1 and ranks == 1:
            yield from self._iterate_loaders()
            return
        seed = self.seed + self.epoch if ranks > 1 else int(info.seed) - int(info.id)
        with _SeededRandomness(seed):
            plan = self._plan()
        self.epoch += 1
        for step in split_steps(len(plan), rank, ranks, worker, workers):
            session, indices = plan[step]
            loader = self.loaders[session]
            if indices is None:  # an iterable-style loader: read up to the batch wanted
                yield session, self._nth_batch(session, step, plan)
            else:
                yield session, _fetch(loader, indices)

    def _iterate_loaders(self) -> Iterator[Batch]:
        """One process, no ranks: iterate the loaders themselves (their own workers and
        pinning apply), restarting one that runs out."""
        order = self._session_order()
        passes = {key: iter(self.loaders[key]) for key in sorted(self.loaders)}
        for session in order:
            try:
                batch = next(passes[session])
            except StopIteration:
                passes[session] = iter(self.loaders[session])
                batch = next(passes[session])
            yield session, batch

    def _plan(self) -> list[tuple[str, Any]]:
        """``(session, index list)`` of every step, drawn in the order iterating the loaders
        would draw them (None for loaders that cannot be read by index)."""
        order = self._session_order()
        passes = {
            key: iter(_batch_indices(self.loaders[key]))
            for key in sorted(self.loaders)
            if _map_style(self.loaders[key])
        }
        plan: list[tuple[str, Any]] = []
        for session in order:
            if session not in passes:
                plan.append((session, None))
                continue
            try:
                indices = next(passes[session])
            except StopIteration:
                passes[session] = iter(_batch_indices(self.loaders[session]))
                indices = next(passes[session])
            plan.append((session, list(indices) if not isinstance(indices, int) else indices))
        return plan

    def _nth_batch(self, session: str, step: int, plan: list[tuple[str, Any]]) -> Any:
        """The batch of an iterable-style loader that ``step`` serves, read by iterating."""
        occurrence = sum(1 for s, _ in plan[:step] if s == session)
        loader = self.loaders[session]
        position = occurrence % len(loader)
        for number, batch in enumerate(loader):
            if number == position:
                return batch
        raise DataValidationError(  # pragma: no cover - a loader shorter than its len()
            f"session {session!r}'s loader ended before batch {position}",
            session=session,
            hint="Give loaders whose len() is the number of batches they yield.",
        )


class ShortCycler(IterableDataset):
    """Every batch of every session once, session after session in sorted order.

    With ``num_workers`` the sorted sessions are split into contiguous blocks of
    ``ceil(sessions / workers)``, one per worker, as in openretina; workers beyond the
    blocks serve nothing (openretina raises ``ValueError``).

    Yields
    ------
    (session, batch)
    """

    def __init__(self, loaders: Mapping[str, DataLoader]) -> None:
        _check_loaders(loaders, "ShortCycler")
        self.loaders = dict(loaders)

    def __len__(self) -> int:
        return sum(len(loader) for loader in self.loaders.values())

    def __iter__(self) -> Iterator[Batch]:
        worker, workers, _ = _worker()
        keys = sorted(self.loaders)
        block = math.ceil(len(keys) / workers)
        for session in keys[worker * block : (worker + 1) * block]:
            for batch in self.loaders[session]:
                yield session, batch
