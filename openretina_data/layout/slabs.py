"""Fill one array along its time axis, slab by slab, keeping running statistics.

A :class:`SlabWriter` wraps a writable array (a ``.npy`` memory map or an HDF5
dataset) created with its final shape. Callers write consecutive or random time
ranges; the writer checks shapes, refuses NaN/Inf (unless allowed), and accumulates
min/max/mean/std in float64 so the dataset card needs no second pass over the data.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from openretina_data.errors import DataValidationError, NonFiniteError, ShapeError
from openretina_data.layout.card import ArrayCheck
from openretina_data.layout.reading import time_chunks

# Statistics are computed on pieces of at most this many elements (bounded memory).
_STATS_PIECE = 8 * 1024 * 1024
# A big slab is cast, checked and stored in time-pieces of at most this many bytes.
WRITE_BUDGET_BYTES = 64 * 1024 * 1024


class RunningStats:
    """Count, min, max, mean and variance merged piece by piece (Chan et al.)."""

    def __init__(self) -> None:
        self.count = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.min = math.inf
        self.max = -math.inf
        self.all_finite = True

    def add(self, values: np.ndarray) -> None:
        """Fold ``values`` (any shape) in; NaN/Inf only clear ``all_finite``."""
        flat = np.asarray(values).reshape(-1)
        for start in range(0, flat.size, _STATS_PIECE):
            self._add_piece(flat[start : start + _STATS_PIECE].astype(np.float64, copy=False))

    def _add_piece(self, piece: np.ndarray) -> None:
        finite = np.isfinite(piece)
        if not finite.all():
            self.all_finite = False
            piece = piece[finite]
        if piece.size == 0:
            return
        mean = float(piece.mean())
        m2 = float(((piece - mean) ** 2).sum())
        self._combine(piece.size, mean, m2, float(piece.min()), float(piece.max()))

    def _combine(self, count: int, mean: float, m2: float, low: float, high: float) -> None:
        """Merge the moments of ``count`` more values into these (Chan et al.)."""
        total = self.count + count
        delta = mean - self.mean
        self.mean += delta * count / total
        self.m2 += m2 + delta * delta * self.count * count / total
        self.count = total
        self.min = min(self.min, low)
        self.max = max(self.max, high)

    def merge(self, other: RunningStats) -> None:
        """Fold in the statistics of another piece of the same array."""
        if other.count:
            self._combine(other.count, other.mean, other.m2, other.min, other.max)
        self.all_finite = self.all_finite and other.all_finite

    @property
    def std(self) -> float:
        """Population standard deviation (ddof=0) of the finite values; 0 when there are none."""
        return math.sqrt(self.m2 / self.count) if self.count else 0.0

    def to_check(self) -> ArrayCheck:
        """These statistics as the dataset card's :class:`ArrayCheck`."""
        known = self.count > 0
        return ArrayCheck(
            all_finite=self.all_finite,
            min=self.min if known else None,
            max=self.max if known else None,
            mean=self.mean if known else None,
            std=self.std if known else None,
            count=self.count,
        )


class SlabWriter:
    """Writes time-slabs of one array and remembers which frames are filled.

    Parameters
    ----------
    array
        Writable target with ``shape`` and ``__setitem__`` (``np.memmap``, ``h5py.Dataset``).
    time_axis
        Axis of time: 1 for stimuli ``(channels, time, h, w)``, 1 for responses
        ``(neurons, time)``, 2 for test_by_trial ``(trials, neurons, time)``.
    label
        ``"<file>/<key>"``, used in messages and as the key of the card's checks.
    allow_nonfinite
        Accept NaN/Inf (recorded in the card) instead of raising.
    """

    def __init__(
        self, array: Any, *, time_axis: int, label: str, allow_nonfinite: bool = False
    ) -> None:
        self.array = array
        self.shape: tuple[int, ...] = tuple(array.shape)
        self.dtype = np.dtype(array.dtype)
        self.time_axis = time_axis
        self.label = label
        self.allow_nonfinite = allow_nonfinite
        self.stats = RunningStats()
        self._filled: list[tuple[int, int]] = []
        self._cursor = 0

    @property
    def n_frames(self) -> int:
        """Length of the time axis."""
        return self.shape[self.time_axis]

    def write(self, slab: Any, start: int | None = None) -> None:
        """Write ``slab`` at frames ``start:start+len`` (default: right after the last slab).

        ``slab`` has the array's shape except along the time axis. Values are cast to the
        array's dtype; casting floats into an integer array is refused.
        """
        data = np.asarray(slab)
        if data.ndim != len(self.shape):
            raise ShapeError(
                f"slab has {data.ndim} dimensions, {self.label} has {len(self.shape)} {self.shape}",
                key=self.label,
                hint="Pass a slab with the same axes as the array, cut along time only.",
            )
        length = data.shape[self.time_axis]
        other = [s for i, s in enumerate(data.shape) if i != self.time_axis]
        expected = [s for i, s in enumerate(self.shape) if i != self.time_axis]
        start = self._cursor if start is None else int(start)
        if other != expected or start < 0 or start + length > self.n_frames:
            raise ShapeError(
                f"slab of shape {data.shape} at frame {start} does not fit {self.label} "
                f"of shape {self.shape}",
                key=self.label,
                hint="Check the slab's non-time axes and that start + length stays within the frames.",
            )
        if data.dtype.kind in "fc" and self.dtype.kind in "iu":
            raise DataValidationError(
                f"float values cannot be written into the {self.dtype} array {self.label}",
                key=self.label,
                hint="Round and cast to the integer type first, or create the array as float32.",
            )
        frame_bytes = (data.size // max(1, length)) * max(data.dtype.itemsize, self.dtype.itemsize)
        for window in time_chunks(length, frame_bytes, WRITE_BUDGET_BYTES):
            index: list[slice] = [slice(None)] * len(self.shape)
            index[self.time_axis] = window
            self._write_piece(data[tuple(index)], start + window.start)
        self._cursor = start + length

    def _write_piece(self, data: np.ndarray, start: int) -> None:
        """Cast, check and store one bounded piece (big slabs are split so memory stays bounded)."""
        data = data.astype(self.dtype, copy=False)
        length = data.shape[self.time_axis]
        piece = RunningStats()
        piece.add(data)
        if not piece.all_finite and not self.allow_nonfinite:
            raise NonFiniteError(
                f"{self.label} frames {start}..{start + length} contain NaN or Inf",
                key=self.label,
            )
        self.stats.merge(piece)
        index: list[slice] = [slice(None)] * len(self.shape)
        index[self.time_axis] = slice(start, start + length)
        self.array[tuple(index)] = data
        self._mark(start, start + length)

    def _mark(self, start: int, stop: int) -> None:
        if stop <= start:
            return
        merged: list[tuple[int, int]] = []
        for a, b in sorted([*self._filled, (start, stop)]):
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
            else:
                merged.append((a, b))
        self._filled = merged

    @property
    def complete(self) -> bool:
        """Every frame has been written (an array with zero frames is never complete)."""
        return self._filled == [(0, self.n_frames)] and self.n_frames > 0

    def missing(self) -> str:
        """Human description of the frames not yet written."""
        gaps, position = [], 0
        for a, b in self._filled:
            if a > position:
                gaps.append(f"{position}..{a}")
            position = b
        if position < self.n_frames or self.n_frames == 0:
            gaps.append(f"{position}..{self.n_frames}")
        return ", ".join(gaps)
