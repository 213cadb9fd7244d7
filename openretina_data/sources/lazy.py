"""Lazy array views: shape and dtype up front, data read only for the slice asked.

Every reader hands out a :class:`LazyArray`. Indexing with integers, slices (any
step) and ``...`` reads just that part of the file; ``np.asarray(view)`` reads all
of it. Fancy indexing (lists, boolean masks) falls back to a full read.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import numpy as np

BasicKey = tuple[int | slice, ...]


def normalize_index(key: Any, shape: tuple[int, ...]) -> tuple[BasicKey, tuple[Any, ...]] | None:
    """Split ``key`` into a positive-step read and a post-step that restores order.

    Returns ``None`` when the key is not basic (lists, masks, ``None``), so the
    caller falls back to a full read.

    Returns
    -------
    read_key
        One entry per axis: an ``int`` (in range, non-negative) or a
        ``slice(start, stop, step)`` with concrete bounds and ``step > 0``.
    post
        An index to apply to the array read with ``read_key`` (reverses the axes
        that were asked for with a negative step; integer axes are already gone).
    """
    if not isinstance(key, tuple):
        key = (key,)
    if any(k is None for k in key) or sum(k is Ellipsis for k in key) > 1:
        return None
    if Ellipsis in key:
        at = key.index(Ellipsis)
        fill = len(shape) - (len(key) - 1)
        key = key[:at] + (slice(None),) * fill + key[at + 1 :]
    if len(key) > len(shape):
        raise IndexError(f"too many indices: array is {len(shape)}-dimensional")
    key = key + (slice(None),) * (len(shape) - len(key))
    read: list[int | slice] = []
    post: list[Any] = []
    for k, n in zip(key, shape, strict=True):
        if isinstance(k, int | np.integer) and not isinstance(k, bool):
            i = int(k) + n if int(k) < 0 else int(k)
            if not 0 <= i < n:
                raise IndexError(f"index {int(k)} is out of bounds for an axis of size {n}")
            read.append(i)
        elif isinstance(k, slice):
            picked = range(*k.indices(n))
            if len(picked) == 0:
                read.append(slice(0, 0, 1))
                post.append(slice(None))
            elif picked.step > 0:
                read.append(slice(picked.start, picked[-1] + 1, picked.step))
                post.append(slice(None))
            else:
                read.append(slice(picked[-1], picked[0] + 1, -picked.step))
                post.append(slice(None, None, -1))
        else:
            return None
    return tuple(read), tuple(post)


def result_shape(read_key: BasicKey) -> tuple[int, ...]:
    """Shape of the array that ``read_key`` selects (integer axes dropped)."""
    return tuple(len(range(k.start, k.stop, k.step)) for k in read_key if isinstance(k, slice))


class LazyArray(ABC):
    """An array in a file: ``shape``, ``dtype`` known; data read by ``__getitem__``.

    Subclasses implement :meth:`_read` for positive-step basic keys only.
    """

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        split = normalize_index(key, self.shape)
        if split is None:
            return np.asarray(self)[key]
        read_key, post = split
        if any(n == 0 for n in result_shape(read_key)):
            return np.empty(result_shape(read_key), dtype=self.dtype)
        out = np.asarray(self._read(read_key), dtype=self.dtype)
        return out[post] if post else out

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        full = self[...] if self.size else np.empty(self.shape, dtype=self.dtype)
        return full if dtype is None else full.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} shape={self.shape} dtype={self.dtype}>"

    @abstractmethod
    def _read(self, key: BasicKey) -> np.ndarray:
        """Read the part ``key`` selects; every slice has concrete bounds and step > 0."""


class IndexableArray(LazyArray):
    """Wraps anything that reads on basic indexing (``np.memmap``, ``h5py.Dataset``)."""

    def __init__(
        self, target: Any, shape: tuple[int, ...] | None = None, dtype: Any = None
    ) -> None:
        super().__init__(
            target.shape if shape is None else shape, target.dtype if dtype is None else dtype
        )
        self._target = target

    def _read(self, key: BasicKey) -> np.ndarray:
        return np.array(self._target[key])


class TransposedArray(LazyArray):
    """A column-major (MATLAB v7.3) dataset seen with MATLAB's axis order.

    h5py reports a MATLAB ``(a, b, c)`` array as ``(c, b, a)``; this view reverses
    the axes back so ``view[i]`` indexes MATLAB's first axis.
    """

    def __init__(self, target: Any, dtype: Any = None) -> None:
        super().__init__(tuple(reversed(target.shape)), target.dtype if dtype is None else dtype)
        self._target = target

    def _read(self, key: BasicKey) -> np.ndarray:
        return np.array(self._target[tuple(reversed(key))]).T


class FrameArray(LazyArray):
    """An array read frame by frame along the first axis (TIFF pages, video frames).

    Parameters
    ----------
    read_frames
        ``read_frames(start, stop, step) -> (frames, *rest)`` for ``step > 0``.
    """

    def __init__(
        self,
        shape: tuple[int, ...],
        dtype: Any,
        read_frames: Callable[[int, int, int], np.ndarray],
    ) -> None:
        super().__init__(shape, dtype)
        self._read_frames = read_frames

    def _read(self, key: BasicKey) -> np.ndarray:
        first, rest = key[0], key[1:]
        if isinstance(first, int):
            return np.asarray(self._read_frames(first, first + 1, 1))[0][rest]
        frames = np.asarray(self._read_frames(first.start, first.stop, first.step))
        return frames[(slice(None), *rest)]


class DeferredArray(LazyArray):
    """An array whose format cannot be sliced on disk (MAT v5, compressed ``.npz``).

    The whole variable is loaded on first access and kept; nothing is read before.
    """

    def __init__(self, shape: tuple[int, ...], dtype: Any, load: Callable[[], np.ndarray]) -> None:
        super().__init__(shape, dtype)
        self._load = load
        self._cache: np.ndarray | None = None

    def _read(self, key: BasicKey) -> np.ndarray:
        if self._cache is None:
            self._cache = np.asarray(self._load())
        return np.array(self._cache[key])
