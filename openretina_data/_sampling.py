"""Where training chunks start: random shifts, boundaries they must not cross, rank shards.

All positions are frame numbers of the movie a dataloader serves (for the training
split: the training clips laid end to end, as openretina numbers them). Numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from openretina_data.errors import ShapeError


class RandomSource(Protocol):
    """``np.random`` (the global state openretina draws from) or a ``RandomState``."""

    def randint(self, low: int, high: int, size: int) -> np.ndarray: ...

    def permutation(self, x: int) -> np.ndarray: ...


def gen_shifts_with_boundaries(
    clip_bounds: Sequence[int] | np.ndarray,
    start_indices: Sequence[int] | np.ndarray,
    clip_chunk_size: int = 50,
    rng: RandomSource | None = None,
) -> list[int]:
    """Shift each start by a random amount while keeping its chunk before the next bound.

    Parameters
    ----------
    clip_bounds : (n_bounds,) int, ascending
        Frame numbers of clip boundaries, the movie's end last.
    start_indices : (n_starts,) int
        Unshifted chunk starts, each inside the clip it belongs to.
    clip_chunk_size
        Frames per chunk.
    rng
        Where the shifts come from; default the global ``np.random`` state, drawn
        as openretina 1.1.1 draws them (one ``randint(0, chunk // 2)`` per start).

    Returns
    -------
    list[int]
        Shifted starts: ``start + shift`` when that chunk still ends before the next
        bound, else the latest start that ends on the bound (or the start itself).
    """
    source: RandomSource = np.random if rng is None else rng
    bounds = np.asarray(clip_bounds, dtype=np.int64)
    starts = np.asarray(start_indices, dtype=np.int64)
    shifts = source.randint(0, max(1, clip_chunk_size // 2), len(starts))
    if len(starts) == 0:
        return []
    following = np.minimum(np.searchsorted(bounds, starts, side="right"), len(bounds) - 1)
    next_bound = bounds[following]
    shifted = np.where(
        starts + shifts + clip_chunk_size < next_bound,
        starts + shifts,
        np.where(starts + clip_chunk_size > next_bound, next_bound - clip_chunk_size, starts),
    )
    if shifted[-1] + clip_chunk_size > bounds[-1]:
        shifted[-1] = bounds[-1] - clip_chunk_size
    return [int(s) for s in shifted]


def allowed_runs(
    n_frames: int, hard_bounds: Sequence[int], excluded: np.ndarray | None = None
) -> list[tuple[int, int]]:
    """Stretches ``[start, stop)`` of the movie that a chunk may lie in.

    Parameters
    ----------
    n_frames
        Frames in the movie.
    hard_bounds
        Frame numbers no chunk may straddle (a removed validation clip, a stimulus join).
    excluded : (n_frames,) bool, optional
        Frames no chunk may contain (responses with NaN, when asked to leave them out).
    """
    edges = sorted({0, n_frames, *(int(b) for b in hard_bounds if 0 < b < n_frames)})
    runs = list(zip(edges[:-1], edges[1:], strict=True))
    if excluded is None or not excluded.any():
        return runs
    kept: list[tuple[int, int]] = []
    for start, stop in runs:
        flags = np.concatenate(([True], excluded[start:stop], [True]))
        change = np.flatnonzero(np.diff(flags.astype(np.int8)))
        kept.extend(
            (start + int(a), start + int(b)) for a, b in zip(change[::2], change[1::2], strict=True)
        )
    return kept


def fit_into_runs(
    starts: np.ndarray, chunk_size: int, runs: Sequence[tuple[int, int]]
) -> np.ndarray:
    """Move each chunk ``[s, s + chunk_size)`` the least needed to lie inside one run.

    A chunk that straddles a run's end is pulled back to end on it; one that starts
    in a hole (or in a run shorter than a chunk) goes to the start of the next run that
    holds a chunk, or to the end of the previous one.
    """
    usable = [(a, b) for a, b in runs if b - a >= chunk_size]
    if not usable:
        raise ShapeError(
            f"no stretch of the movie holds a chunk of {chunk_size} frames",
            hint="Use a smaller chunk_size or fewer validation clips.",
        )
    run_starts = np.array([a for a, _ in usable], dtype=np.int64)
    run_stops = np.array([b for _, b in usable], dtype=np.int64)
    starts = np.asarray(starts, dtype=np.int64)
    index = np.searchsorted(run_starts, starts, side="right") - 1
    before_first = index < 0
    index = index.clip(min=0)
    stop = run_stops[index]
    fits = starts + chunk_size <= stop
    pull_back = starts < stop
    is_last = index + 1 == len(usable)
    next_start = run_starts[(index + 1).clip(max=len(usable) - 1)]
    moved = np.where(pull_back | is_last, stop - chunk_size, next_start)
    fitted = np.where(fits, starts, moved)
    return np.where(before_first, run_starts[0], fitted)


def draw_training_starts(
    start_indices: Sequence[int] | np.ndarray,
    chunk_size: int,
    movie_length: int,
    scene_length: int,
    allow_over_boundaries: bool,
    runs: Sequence[tuple[int, int]],
    rng: RandomSource,
) -> np.ndarray:
    """One epoch of training chunk starts, shuffled, as openretina 1.1.1 draws them.

    With ``allow_over_boundaries`` every start moves right by ``randint(0, chunk)``
    (capped at the movie's end); without, by ``randint(0, chunk // 2)`` within its
    scene (:func:`gen_shifts_with_boundaries`). Chunks that would then straddle the
    edge of a run (a removed validation clip, a stimulus join the caller forbids)
    are moved inside it. The order is a random permutation drawn after the shifts.
    """
    starts = np.asarray(start_indices, dtype=np.int64)
    if allow_over_boundaries:
        shifts = rng.randint(0, chunk_size, len(starts))
        shifted = np.minimum(starts + shifts, movie_length - chunk_size)
    else:
        run_edges = [edge for run in runs for edge in run]
        bounds = np.union1d(np.arange(0, movie_length + 1, scene_length), run_edges)
        shifted = np.asarray(
            gen_shifts_with_boundaries(bounds, starts, chunk_size, rng=rng), dtype=np.int64
        )
    if len(runs) != 1 or runs[0] != (0, movie_length):
        shifted = fit_into_runs(shifted, chunk_size, runs)
    order = rng.permutation(len(starts))
    return shifted[order]


def shard(indices: np.ndarray, rank: int, num_replicas: int, drop_last: bool = False) -> np.ndarray:
    """This rank's share of ``indices``: every ``num_replicas``-th one, from ``rank``.

    Every rank gets the same number: without ``drop_last`` the list is padded by
    repeating its first entries (as ``torch.utils.data.DistributedSampler`` does);
    with it the tail that does not divide evenly is left out.
    """
    if drop_last:
        total = (len(indices) // num_replicas) * num_replicas
        return indices[:total][rank::num_replicas]
    total = math.ceil(len(indices) / num_replicas) * num_replicas
    if total > len(indices) and len(indices) > 0:
        repeats = math.ceil(total / len(indices))
        indices = np.tile(indices, repeats)[:total]
    return indices[rank:total:num_replicas]
