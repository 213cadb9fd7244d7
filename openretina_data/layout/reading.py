"""Reading layout files safely: ``.npy`` headers without loading data, bounded chunks."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

# A full pass over an array reads it in time-chunks of at most this many bytes.
CHUNK_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class NpyHeader:
    """What a ``.npy`` file's header says."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    data_offset: int

    @property
    def expected_size(self) -> int:
        """File size in bytes that header + data need."""
        return self.data_offset + int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


def read_npy_header(path: str | os.PathLike[str]) -> NpyHeader:
    """Parse the header of a ``.npy`` file without reading its data.

    Raises
    ------
    ValueError
        Not a ``.npy`` file, unknown version, or an object dtype (would need pickle).
    OSError
        The file cannot be opened.
    """
    with open(path, "rb") as handle:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
        else:
            reader = getattr(np.lib.format, "_read_array_header", None)
            if reader is None:
                raise ValueError(f"unsupported .npy version {version}")
            shape, fortran, dtype = reader(handle, version)
        offset = handle.tell()
    dtype = np.dtype(dtype)
    if dtype.hasobject:
        raise ValueError("the array holds Python objects (it would need pickle to load)")
    return NpyHeader(tuple(int(s) for s in shape), dtype, bool(fortran), offset)


def time_chunks(n_frames: int, bytes_per_frame: int, budget: int = CHUNK_BYTES) -> Iterator[slice]:
    """Slices over ``range(n_frames)`` whose data stays under ``budget`` bytes each."""
    step = max(1, budget // max(1, bytes_per_frame))
    for start in range(0, n_frames, step):
        yield slice(start, min(n_frames, start + step))


def all_finite(array: Any, time_axis: int, *, budget: int = CHUNK_BYTES) -> tuple[bool, int]:
    """Whether every value is finite, reading ``array`` in time-chunks.

    Works on anything sliceable with ``shape`` and ``dtype`` (memory map, HDF5 dataset).
    Returns ``(all finite, index of the first chunk start with a NaN/Inf or -1)``.
    """
    shape = tuple(array.shape)
    dtype = np.dtype(array.dtype)
    if dtype.kind not in "fc" or 0 in shape:
        return True, -1
    per_frame = int(np.prod([s for i, s in enumerate(shape) if i != time_axis], dtype=np.int64))
    for window in time_chunks(shape[time_axis], per_frame * dtype.itemsize, budget):
        index: list[slice] = [slice(None)] * len(shape)
        index[time_axis] = window
        chunk = np.asarray(array[tuple(index)])
        if not np.isfinite(chunk).all():
            return False, window.start
    return True, -1
