"""Reading layout files safely: ``.npy`` headers without loading data, bounded chunks."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from openretina_data.errors import SourceNotFoundError

# A full pass over an array reads it in time-chunks of at most this many bytes.
CHUNK_BYTES = 64 * 1024 * 1024


DATASET_FOLDER_HINT = "Pass the dataset folder, the one holding stimuli/ and the .hdf5 files."


def dataset_folder_problem(path: str | os.PathLike[str]) -> SourceNotFoundError | None:
    """Why ``path`` cannot be opened as a dataset folder (missing, or a file), else ``None``.

    Only the folder itself is looked at; what is inside it is for :func:`check`.
    """
    if not os.path.exists(path):
        return SourceNotFoundError(
            "no such dataset folder: the path does not exist", path=path, hint=DATASET_FOLDER_HINT
        )
    if not os.path.isdir(path):
        return SourceNotFoundError(
            "this is a file, not a folder",
            path=path,
            hint="Pass the dataset folder (the one holding stimuli/ and the .hdf5 files), "
            "not a file in it.",
        )
    return None


def require_dataset_folder(path: str | os.PathLike[str]) -> None:
    """Raise :func:`dataset_folder_problem`'s error, if there is one."""
    problem = dataset_folder_problem(path)
    if problem is not None:
        raise problem


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
        return self.data_offset + math.prod(self.shape) * self.dtype.itemsize  # no overflow


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
        header = parse_npy_header(handle)
    if header.dtype.hasobject:
        raise ValueError("the array holds Python objects (it would need pickle to load)")
    return header


def parse_npy_header(handle: IO[bytes]) -> NpyHeader:
    """Parse the ``.npy`` header at the start of an open binary stream (a file, a zip member).

    Object dtypes are returned, not refused: callers that must refuse them check
    ``header.dtype.hasobject`` (as :func:`read_npy_header` does).

    Raises
    ------
    ValueError
        Not a ``.npy`` stream, or an unknown version.
    """
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
    return NpyHeader(tuple(int(s) for s in shape), np.dtype(dtype), bool(fortran), handle.tell())


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


class NpyTimeFile:
    """A C-order ``.npy`` array read or written by time-slabs with plain file I/O.

    Unlike a memory map, pages touched do not stay in the process's resident memory,
    so a full pass over a 100 GB movie keeps RSS at one slab. Supports exactly the
    indexing a slab pass needs: ``array[:, start:stop]`` (time is axis 1; any further
    axes whole).

    Parameters
    ----------
    path
        An existing ``.npy`` file (``create`` writes its header and sizes it first).
    writable
        Open for writing slabs.
    """

    def __init__(self, path: str | os.PathLike[str], *, writable: bool = False) -> None:
        header = read_npy_header(path)
        if header.fortran_order or len(header.shape) < 2:
            raise ValueError("only C-order arrays with a time axis 1 can be read by time-slabs")
        self.shape = header.shape
        self.dtype = header.dtype
        self._offset = header.data_offset
        self._frame = int(np.prod(self.shape[2:], dtype=np.int64))
        self._fd = os.open(path, os.O_RDWR if writable else os.O_RDONLY)

    @classmethod
    def create(
        cls, path: str | os.PathLike[str], shape: tuple[int, ...], dtype: Any
    ) -> NpyTimeFile:
        """Write a ``.npy`` header for ``shape``/``dtype`` and size the file (sparse)."""
        header = {
            "descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
            "fortran_order": False,
            "shape": shape,
        }
        with open(path, "wb") as handle:
            try:
                np.lib.format.write_array_header_1_0(handle, header)
            except ValueError:  # header too long for version 1.0
                handle.seek(0)
                np.lib.format.write_array_header_2_0(handle, header)
            offset = handle.tell()
            nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
            handle.truncate(offset + nbytes)
        return cls(path, writable=True)

    def _spans(self, index: Any) -> tuple[int, int]:
        if not isinstance(index, tuple) or len(index) != len(self.shape) or index[0] != slice(None):
            raise IndexError("NpyTimeFile supports only array[:, start:stop]")
        start, stop, step = index[1].indices(self.shape[1])
        if step != 1 or any(part != slice(None) for part in index[2:]):
            raise IndexError("NpyTimeFile supports only array[:, start:stop]")
        return start, max(start, stop)

    def _position(self, channel: int, frame: int) -> int:
        return self._offset + (channel * self.shape[1] + frame) * self._frame * self.dtype.itemsize

    def __getitem__(self, index: Any) -> np.ndarray:
        start, stop = self._spans(index)
        out = np.empty((self.shape[0], stop - start, *self.shape[2:]), dtype=self.dtype)
        for channel in range(self.shape[0]):
            wanted = out[channel].nbytes
            data = os.pread(self._fd, wanted, self._position(channel, start))
            if len(data) != wanted:
                raise OSError(f"the file ends early (wanted {wanted} bytes, got {len(data)})")
            out[channel] = np.frombuffer(data, dtype=self.dtype).reshape(out[channel].shape)
        return out

    def __setitem__(self, index: Any, value: Any) -> None:
        start, stop = self._spans(index)
        data = np.ascontiguousarray(value, dtype=self.dtype)
        for channel in range(self.shape[0]):
            os.pwrite(self._fd, data[channel].tobytes(), self._position(channel, start))

    def flush(self) -> None:
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
