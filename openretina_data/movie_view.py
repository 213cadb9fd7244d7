"""The movie ``load_stimuli(..., mmap=True)`` returns: on disk, normalised where it is read.

:class:`NormalizedMovie` is a :class:`~openretina_data.frames.LazyMovie` (the
dataloaders' lazy movie: parts opened per process, pickled as file names) that
also knows its stimulus names and accepts every numpy index on the time axis
(negative steps, integers, index arrays). Each ``movie[:, t0:t1]`` reads those
frames only and returns exactly the float32 values openretina's reader would
have stored there, ``(float32(x) - float32(norm_mean)) / float32(norm_std)``;
``np.asarray(movie)`` reads the whole movie — the one operation that does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from openretina_data.frames import LazyMovie


class NormalizedMovie(LazyMovie):
    """Stimuli joined on time, z-scored on read.

    Parameters
    ----------
    parts : sequence of (channels, time_i, height, width) arrays
        The stimuli in order; memory maps stay memory maps. All share channels and frame size.
    norm_mean, norm_std : float or None
        Every value read is ``(float32(value) - norm_mean) / norm_std``; None means 0 and 1.
    names : sequence of str, optional
        The stimulus name of each part.

    Attributes
    ----------
    names : tuple[str, ...]
        Stimulus names, one per part (empty when not given).
    boundaries : tuple[int, ...]
        Frame where each part starts, then the total number of frames (derived from the parts).
    """

    def __init__(
        self,
        parts: Sequence[Any],
        norm_mean: float | None = None,
        norm_std: float | None = None,
        names: Sequence[str] | None = None,
    ) -> None:
        super().__init__(parts, norm_mean, norm_std)
        self.names: tuple[str, ...] = tuple(names) if names is not None else ()
        for part, name in zip(self.parts, self.names, strict=False):
            part.name = part.name or name  # for messages about its frames

    @property
    def boundaries(self) -> tuple[int, ...]:
        """Frame where each part starts, then the total number of frames."""
        return tuple(self._part_starts)

    @property
    def size(self) -> int:
        """Number of values, as for a numpy array."""
        return int(np.prod(self.shape))

    def __repr__(self) -> str:
        names = f", names={list(self.names)}" if self.names else ""
        return (
            f"NormalizedMovie(shape={self.shape}, norm_mean={self.norm_mean}, "
            f"norm_std={self.norm_std}{names})"
        )

    def __getitem__(self, key: Any) -> np.ndarray:
        index = _full_index(key)
        time_key, frames = index[1], self.shape[1]
        local: Any
        if isinstance(time_key, slice):
            start, stop, step = time_key.indices(frames)
            lo, hi = (start, max(start, stop)) if step > 0 else (stop + 1, start + 1)
            lo, local = min(lo, hi), slice(None, None, step)
        elif isinstance(time_key, int | np.integer):
            position = int(time_key) + (frames if time_key < 0 else 0)
            if not 0 <= position < frames:
                raise IndexError(f"frame {int(time_key)} out of range for {frames} frames")
            lo, hi, local = position, position + 1, 0
        else:
            positions = np.asarray(time_key)
            if positions.dtype == bool:
                positions = np.flatnonzero(positions)
            positions = np.where(positions < 0, positions + frames, positions)
            if positions.size and (positions.min() < 0 or positions.max() >= frames):
                raise IndexError(f"frame index out of range for {frames} frames")
            lo = int(positions.min()) if positions.size else 0
            hi = int(positions.max()) + 1 if positions.size else 0
            local = positions - lo
        return self.read(lo, hi)[(index[0], local, index[2], index[3])]


def _full_index(key: Any) -> tuple[Any, Any, Any, Any]:
    """Expand ``key`` (with Ellipsis, fewer entries) into one entry per axis."""
    items = list(key) if isinstance(key, tuple) else [key]
    if any(item is None for item in items):
        raise IndexError("NormalizedMovie does not support np.newaxis; index np.asarray(movie)")
    ellipses = [i for i, item in enumerate(items) if item is Ellipsis]
    if ellipses:
        at = ellipses[0]
        items[at : at + 1] = [slice(None)] * (4 - len(items) + 1)
    if len(items) > 4:
        raise IndexError(f"too many indices for a 4-dimensional movie: {len(items)}")
    items += [slice(None)] * (4 - len(items))
    return items[0], items[1], items[2], items[3]
