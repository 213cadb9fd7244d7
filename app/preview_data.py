"""Adapters that give the linked preview lazy ``(c, t, h, w)`` movies and ``(neurons, t)`` responses.

Both read through ``openretina_data``: a stored movie with any axis order is viewed
as ``(channels, time, height, width)`` one frame at a time, and responses are read one
window at a time from the core's response readers (binned on the recipe's frame times)
or from a written dataset's HDF5 session file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from app.sources_cache import axis_length, movie_frame


class MovieView:
    """A stored movie (any axis order) seen as ``(channels, time, height, width)``.

    Only ``view[c, t]`` (one frame) and ``view[c, t0:t1]`` are supported: that is all
    the preview asks for.
    """

    def __init__(self, array: Any, axes: str) -> None:
        self.array = array
        self.axes = axes
        shape = tuple(array.shape)
        self.shape = tuple(axis_length(shape, axes, a) for a in "cthw")
        self.dtype = np.dtype(getattr(array, "dtype", np.float32))

    def __getitem__(self, index: tuple[int, Any]) -> np.ndarray:
        channel, t = index
        if isinstance(t, slice):
            return np.stack(
                [
                    movie_frame(self.array, self.axes, i, channel)
                    for i in range(*t.indices(self.shape[1]))
                ]
            )
        return movie_frame(self.array, self.axes, int(t), channel)


class ResponseView:
    """Responses ``(neurons, frames)`` of one stimulus epoch, read window by window.

    Parameters
    ----------
    read
        ``read(start, stop) -> (neurons, stop - start)`` on the recording's frame clock.
    n_neurons, n_frames
        Shape of the epoch.
    offset
        First recording frame of the epoch, plus the lag being tried.
    """

    def __init__(self, read: Any, n_neurons: int, n_frames: int, offset: int) -> None:
        self.read = read
        self.shape = (n_neurons, n_frames)
        self.offset = offset

    def __getitem__(self, index: tuple[Any, slice]) -> np.ndarray:
        rows, frames = index
        start, stop, _ = frames.indices(self.shape[1])
        block = np.asarray(self.read(self.offset + start, self.offset + stop), dtype=np.float32)
        return block[rows]


def dataset_session_file(folder: Path, session: str) -> Path:
    """The session file of ``session`` in a native dataset (``.hdf5`` or ``.h5``)."""
    from openretina_data.layout import SESSION_SUFFIXES

    for suffix in SESSION_SUFFIXES:
        candidate = folder / f"{session}{suffix}"
        if candidate.exists():
            return candidate
    return folder / f"{session}.hdf5"
