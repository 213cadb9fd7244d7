"""Lazy, normalised access to stimulus movies that may live on disk.

A :class:`LazyMovie` looks like a ``(channels, time, height, width)`` float32 array
but never holds the whole movie: it reads frames on demand from one or more
*parts* (numpy arrays, ``np.memmap`` from ``np.load(mmap_mode="r")``, h5py
datasets or CPU torch tensors) laid end to end in time, casts them to float32 and
applies ``(x - norm_mean) / norm_std`` to what it reads. A movie can also be a
*view* that shows only some frame ranges of its parts, in a chosen order (the
training split without its validation clips, say): no frame is copied to make it.

Parts that are memory maps or HDF5 datasets are reopened lazily in each process
that reads them, so a movie pickles into a few bytes and ``DataLoader`` workers
(``num_workers > 0``) each open their own file handles.

This module needs numpy only (h5py when a part is an HDF5 dataset).
"""

from __future__ import annotations

import bisect
import mmap
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from openretina_data._kernels import fill_chunks
from openretina_data.array_checks import holds_values_in_memory
from openretina_data.errors import (
    DataValidationError,
    NonFiniteError,
    ShapeError,
    UnreadableSourceError,
)

__all__ = ["FramePart", "LazyMovie", "as_lazy_movie"]


class FramePart:
    """One array of frames, ``(channels, time, height, width)``, opened lazily per process.

    Parameters
    ----------
    array
        The frames: a numpy array or memmap, an h5py dataset or a CPU torch tensor.
        Raw values in any real dtype (float or integer); they are cast on read.
    verify_finite
        Check every block read (after normalisation) for NaN/Inf and raise
        :class:`~openretina_data.errors.NonFiniteError` naming the frames. Default: only
        for frames on disk (memory maps, HDF5 datasets), whose values nobody scanned
        when they were opened; pass False where a dataset card that matches the file
        vouches for them (DESIGN.md §6), True for in-memory frames nobody checked.
    name
        The stimulus name, for messages.
    """

    def __init__(
        self, array: Any, *, verify_finite: bool | None = None, name: str | None = None
    ) -> None:
        self._array: Any = _as_readable(array)
        if verify_finite is None:
            verify_finite = not holds_values_in_memory(self._array)
        self.verify_finite = verify_finite
        self.name = name
        self._seen_finite: np.ndarray | None = None  # (time,) bool, made on the first check
        self._pid = os.getpid()
        self._reopen: tuple[str, ...] | None = _reopen_recipe(self._array)
        self._values: Any = None  # what read_into slices: a plain ndarray view for numpy data
        self._values_pid = 0
        self._fd: int | None = None  # memory maps: the file, to notice it shrinking under the map
        self._file_bytes = 0  # memory maps: bytes the file must hold (header + every frame)
        self.shape: tuple[int, ...] = tuple(int(n) for n in self._array.shape)
        self.dtype = np.dtype(self._array.dtype)
        if self._reopen is not None and self._reopen[0] == "memmap":
            self._file_bytes = int(self._reopen[2]) + int(self._array.nbytes)
        if len(self.shape) != 4:
            raise ShapeError(
                f"a stimulus movie has shape {self.shape}; expected 4 axes "
                "(channels, time, height, width)",
                hint="Add the missing axes, e.g. movie[None] for a single-channel movie.",
            )
        if not (np.issubdtype(self.dtype, np.floating) or np.issubdtype(self.dtype, np.integer)):
            raise DataValidationError(
                f"a stimulus movie has dtype {self.dtype}; expected float or integer values",
                hint="Convert the movie to float32 or uint8.",
            )

    @property
    def array(self) -> Any:
        """The underlying array, reopened if this process did not open it."""
        if self._pid != os.getpid() or self._array is None:
            self._array = _open(self._reopen) if self._reopen is not None else self._array
            self._pid = os.getpid()
        return self._array

    def read(self, start: int, stop: int) -> np.ndarray:
        """Raw frames ``[start, stop)`` as a numpy array ``(channels, stop - start, h, w)``."""
        return np.asarray(self.array[:, start:stop])

    def read_into(
        self, target: np.ndarray, start: int, mean: float | None, std: float | None
    ) -> None:
        """Fill ``target`` (channels, n, h, w) with ``(float32(frames) - mean) / std``.

        ``mean`` None copies the raw values instead (cast to ``target``'s dtype).
        Memory-mapped and in-memory frames are normalised as they are copied out of the
        mapping; HDF5 frames are read by h5py first. Memory-mapped pages a process has
        read count in its resident set as file-backed page cache (``RssFile``), which
        the kernel can reclaim; no anonymous memory is spent on them.
        """
        self.read_many(target[None], [0], [start], mean, std)

    def read_many(
        self,
        batch: np.ndarray,
        rows: Sequence[int],
        starts: Sequence[int],
        mean: float | None,
        std: float | None,
    ) -> None:
        """Fill ``batch[rows[k]]`` (channels, n, h, w) with frames ``[starts[k], starts[k] + n)``.

        ``batch`` is (batch, channels, n, h, w): float32 normalised as in
        :meth:`read_into`, or with ``mean`` None any dtype that takes the raw values.
        The per-call work (finding the frames, checking the file) is done once; C-ordered
        numpy frames go through the compiled kernel (:mod:`openretina_data._kernels`).
        """
        values = self._sliceable()
        if self._fd is not None:
            self._require_whole_file()
        fill_chunks(values, batch, rows, starts, mean, std)
        if self.verify_finite and not np.issubdtype(self.dtype, np.integer):
            for row, start in zip(rows, starts, strict=True):
                self._require_finite(batch[row], start)

    def _sliceable(self) -> Any:
        """The frames to slice: numpy data as a plain ndarray view (a memmap subclass costs
        microseconds per slice), anything else as it is; made once per process."""
        if self._values_pid != os.getpid():
            array = self.array
            self._values = array.view(np.ndarray) if isinstance(array, np.ndarray) else array
            self._values_pid = os.getpid()
            if self._reopen is not None and self._reopen[0] == "memmap":
                try:
                    self._fd = os.open(self._reopen[1], os.O_RDONLY)
                except OSError:  # removed or renamed since it was mapped: the map still holds
                    self._fd = None
        return self._values

    def _require_whole_file(self) -> None:
        """Raise :class:`UnreadableSourceError` if the mapped file became shorter than the
        movie (truncated while in use): reading such pages would kill the process (SIGBUS)."""
        assert self._fd is not None and self._reopen is not None
        needed, size = self._file_bytes, os.fstat(self._fd).st_size
        if size < needed:
            raise UnreadableSourceError(
                f"the stimulus file ended early: it holds {size} bytes, the movie needs {needed}",
                path=self._reopen[1],
                hint="The file was truncated or rewritten while in use: restore it (or "
                "re-export the stimulus) and load the dataset again.",
            )

    def _require_finite(self, frames: np.ndarray, start: int) -> None:
        """Raise :class:`NonFiniteError` if ``frames`` (channels, n, h, w), read from
        ``start``, hold a NaN/Inf: one pass over the block while it is still in cache, the
        first time these frames are read (frames seen finite are remembered, so later
        epochs skip the pass)."""
        stop = start + frames.shape[1]
        if self._seen_finite is None:
            self._seen_finite = np.zeros(self.shape[1], dtype=bool)
        if self._seen_finite[start:stop].all():
            return
        if np.isfinite(frames).all():
            self._seen_finite[start:stop] = True
            return
        bad = ~np.isfinite(frames).all(axis=(0, 2, 3))
        first = start + int(np.flatnonzero(bad)[0])
        path = self._reopen[1] if self._reopen is not None else None
        key = self.name or (self._reopen[2] if self._reopen and self._reopen[0] == "hdf5" else None)
        what = f"stimulus {self.name!r}" if self.name else "the stimulus"
        raise NonFiniteError(
            f"{what} holds NaN/Inf in its frames {start} to {stop - 1} (first at frame "
            f"{first}; values as read and normalised). Stimuli on disk are checked batch by "
            "batch unless a dataset card that matches the files vouches for them",
            path=path,
            key=key,
            hint="Run `openretina-data check` on the dataset folder to list every bad frame, "
            "then fix the stimulus (replace the NaN/Inf values) or re-export it.",
        )

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_values"], state["_values_pid"], state["_fd"] = None, 0, None
        state["_seen_finite"] = None  # a per-process cache: each worker checks what it reads
        if self._reopen is not None:
            state["_array"] = None  # reopened from the file in the receiving process
        return state

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None and self._values_pid == os.getpid():
            os.close(fd)


def _as_readable(array: Any) -> Any:
    """Numpy arrays, memmaps and h5py datasets as they are; torch tensors as numpy views."""
    if type(array).__module__.startswith("torch"):
        return array.detach().cpu().numpy()
    if hasattr(array, "shape") and hasattr(array, "dtype") and hasattr(array, "__getitem__"):
        return array
    return np.asarray(array)


def _reopen_recipe(array: Any) -> tuple[str, ...] | None:
    """How to reopen a file-backed array in another process, or None for in-memory data."""
    if isinstance(array, np.memmap) and getattr(array, "filename", None):
        if not array.flags.c_contiguous or getattr(array, "_mmap", None) is None:
            return None
        # A slice of a memmap keeps its parent's ``offset``: locate its first byte instead.
        mapping_start = np.frombuffer(getattr(array, "_mmap"), dtype=np.uint8).ctypes.data  # noqa: B009
        mapped_from = array.offset - array.offset % mmap.ALLOCATIONGRANULARITY
        offset = mapped_from + array.ctypes.data - mapping_start
        shape = ",".join(str(n) for n in array.shape)
        return ("memmap", str(array.filename), str(offset), array.dtype.str, shape)
    if type(array).__module__.startswith("h5py"):
        return ("hdf5", str(array.file.filename), str(array.name))
    return None


def _open(recipe: tuple[str, ...]) -> Any:
    if recipe[0] == "memmap":
        _, filename, offset, descr, shape = recipe
        dims = tuple(int(n) for n in shape.split(","))
        dtype = np.dtype(descr)
        return np.memmap(filename, dtype=dtype, mode="r", offset=int(offset), shape=dims)
    import h5py

    _, filename, name = recipe
    return h5py.File(filename, "r")[name]


class LazyMovie:
    """A float32 ``(channels, time, height, width)`` movie read on demand and normalised.

    Parameters
    ----------
    parts
        Arrays ``(channels, time_i, height, width)`` laid end to end in time (the
        training stimuli of a session, say). Channels, height and width must agree.
    norm_mean, norm_std
        Applied to every frame read: ``(frame - norm_mean) / norm_std`` in float32.
        ``None`` means 0 and 1 (frames are only cast to float32).
    ranges
        Optional ``[(start, stop), ...]`` frame ranges of the parts laid end to end
        (in the time axis of all parts concatenated) that this movie shows, in order.
        Default: every frame once.
    joins
        Frames, in the time axis of all parts concatenated, where one stimulus ends and
        the next begins *inside* a part (a training movie whose stimuli were already
        joined into one array). The starts of the parts are joins anyway.

    Notes
    -----
    ``joins`` lists where one stimulus (part) ends and the next begins and ``breaks`` where
    two consecutive ranges are not neighbours in the parts (a removed clip), both
    in this movie's own frame numbers. ``movie[:, a:b]`` returns a new float32
    array; ``np.asarray(movie)`` reads the whole movie (avoid for large data).
    """

    def __init__(
        self,
        parts: Sequence[Any],
        norm_mean: float | None = None,
        norm_std: float | None = None,
        ranges: Sequence[tuple[int, int]] | None = None,
        *,
        joins: Sequence[int] = (),
    ) -> None:
        self.parts = [part if isinstance(part, FramePart) else FramePart(part) for part in parts]
        if not self.parts:
            raise ShapeError("a movie needs at least one part", hint="Pass one array per stimulus.")
        frame_shapes = {(p.shape[0], *p.shape[2:]) for p in self.parts}
        if len(frame_shapes) > 1:
            raise ShapeError(
                f"movie parts disagree in (channels, height, width): {sorted(frame_shapes)}",
                hint="All stimuli of a session need the same channels and frame size.",
            )
        self.norm_mean = 0.0 if norm_mean is None else float(norm_mean)
        self.norm_std = 1.0 if norm_std is None else float(norm_std)
        if self.norm_std == 0.0:
            raise DataValidationError(
                "norm_std is 0", hint="Give the standard deviation of the stimulus, not 0."
            )
        self._part_starts = np.cumsum([0] + [p.shape[1] for p in self.parts]).tolist()
        total = self._part_starts[-1]
        for join in joins:
            if not 0 < int(join) < total:
                raise ShapeError(
                    f"a stimulus join at frame {int(join)} lies outside the movie's {total} frames",
                    hint="Joins are frames where one stimulus ends and the next begins, "
                    f"between 1 and {total - 1}.",
                )
        self._stimulus_starts = sorted({*self._part_starts[1:-1], *(int(j) for j in joins)})
        if ranges is None:
            ranges = [(0, total)]
        self.ranges = _merged([(int(a), int(b)) for a, b in ranges if int(b) > int(a)])
        for start, stop in self.ranges:
            if start < 0 or stop > total:
                raise ShapeError(
                    f"frame range [{start}, {stop}) lies outside the movie's {total} frames",
                    hint="Choose clips inside the movie.",
                )
        self._range_starts = np.cumsum([0] + [b - a for a, b in self.ranges]).tolist()
        channels, _, height, width = self.parts[0].shape
        self.shape = (channels, self._range_starts[-1], height, width)
        self.dtype = np.dtype(np.float32)
        self.ndim = 4

    # --- structure -----------------------------------------------------------------

    @property
    def n_frames(self) -> int:
        """Frames in this movie (its time axis)."""
        return self.shape[1]

    @property
    def breaks(self) -> list[int]:
        """Frame numbers where this movie jumps over frames of its parts (a removed clip)."""
        return [
            self._range_starts[i + 1]
            for i in range(len(self.ranges) - 1)
            if self.ranges[i][1] != self.ranges[i + 1][0]
        ]

    @property
    def joins(self) -> list[int]:
        """Frame numbers where one stimulus (part, or given join) ends and the next begins."""
        found = []
        for (start, stop), offset in zip(self.ranges, self._range_starts, strict=False):
            for join in self._stimulus_starts:
                if start < join < stop:
                    found.append(offset + join - start)
            if start in self._stimulus_starts and offset > 0:
                found.append(offset)
        return sorted(set(found))

    def select(self, ranges: Sequence[tuple[int, int]]) -> LazyMovie:
        """A view showing frames ``[start, stop)`` of this movie for each range, in order."""
        physical: list[tuple[int, int]] = []
        for start, stop in ranges:
            if start < 0 or stop > self.n_frames:
                raise ShapeError(
                    f"frame range [{start}, {stop}) lies outside the movie's {self.n_frames} frames",
                    hint="Choose clips inside the movie.",
                )
            physical.extend(self._physical_pieces(start, stop - start))
        return LazyMovie(
            self.parts, self.norm_mean, self.norm_std, physical, joins=self._stimulus_starts
        )

    # --- reading -------------------------------------------------------------------

    def _physical_pieces(self, start: int, length: int) -> list[tuple[int, int]]:
        """Frames ``[start, start + length)`` of this movie as ranges of the parts' frames."""
        pieces = []
        index = bisect.bisect_right(self._range_starts, start) - 1
        while length > 0 and index < len(self.ranges):
            range_start, range_stop = self.ranges[index]
            begin = range_start + (start - self._range_starts[index])
            take = min(length, range_stop - begin)
            pieces.append((begin, begin + take))
            start, length, index = start + take, length - take, index + 1
        return pieces

    def locate(self, starts: Sequence[int], length: int) -> list[tuple[int, int] | None]:
        """Where each chunk ``[start, start + length)`` lies: ``(part index, first frame in
        that part)``, or None for a chunk that spans a removed clip or two parts (read
        those with :meth:`read_into`). One vectorised pass for a whole batch."""
        at = np.asarray(starts, dtype=np.int64)
        range_starts = np.asarray(self._range_starts, dtype=np.int64)
        bounds = np.asarray(self.ranges, dtype=np.int64).reshape(-1, 2)
        index = np.searchsorted(range_starts, at, side="right") - 1
        begin = bounds[index, 0] + at - range_starts[index]
        part_starts = np.asarray(self._part_starts, dtype=np.int64)
        part = np.searchsorted(part_starts, begin, side="right") - 1
        whole = (begin + length <= bounds[index, 1]) & (begin + length <= part_starts[part + 1])
        local = begin - part_starts[part]
        return [
            (p, first) if ok else None
            for p, first, ok in zip(part.tolist(), local.tolist(), whole.tolist(), strict=True)
        ]

    def read_into(self, out: np.ndarray, start: int, *, raw: bool = False) -> None:
        """Fill ``out`` (channels, n, height, width) float32 with frames ``[start, start + n)``.

        ``raw=True`` copies the values as stored instead, unnormalised (``out`` then has
        :attr:`raw_dtype`, say). Frames past the end of the movie are not read; ``out``
        must fit the movie.
        """
        mean, std = (None, None) if raw else (self.norm_mean, self.norm_std)
        length = out.shape[1]
        spot = self.locate([start], length)[0]
        if spot is not None:  # the usual case: one stretch of one part
            self.parts[spot[0]].read_into(out, spot[1], mean, std)
            return
        position = 0
        for begin, stop in self._physical_pieces(start, length):
            part_index = bisect.bisect_right(self._part_starts, begin) - 1
            while begin < stop:
                part_start = self._part_starts[part_index]
                part_stop = self._part_starts[part_index + 1]
                take = min(stop, part_stop) - begin
                self.parts[part_index].read_into(
                    out[:, position : position + take], begin - part_start, mean, std
                )
                position, begin, part_index = position + take, begin + take, part_index + 1

    def read(self, start: int, stop: int, *, raw: bool = False) -> np.ndarray:
        """Frames ``[start, stop)`` (clipped to the movie) as a new float32 array (or, with
        ``raw=True``, the stored values in :attr:`raw_dtype`, unnormalised)."""
        start, stop = max(0, start), min(self.n_frames, stop)
        dtype = self.raw_dtype if raw else np.dtype(np.float32)
        out = np.empty((self.shape[0], max(0, stop - start), *self.shape[2:]), dtype)
        if out.shape[1]:
            self.read_into(out, start, raw=raw)
        return out

    @property
    def raw_dtype(self) -> np.dtype[Any]:
        """The dtype that holds every part's stored values (uint8 for 8-bit movies)."""
        return np.dtype(np.result_type(*(part.dtype for part in self.parts)))

    def __getitem__(self, key: Any) -> np.ndarray:
        if not isinstance(key, tuple):
            key = (key,)
        time_key = key[1] if len(key) > 1 else slice(None)
        if isinstance(time_key, slice) and time_key.step in (None, 1):
            start, stop, _ = time_key.indices(self.n_frames)
            frames = self.read(start, stop)
            return frames[(key[0], slice(None), *key[2:])] if len(key) > 1 else frames[key[0]]
        if isinstance(time_key, int | np.integer):
            frame = int(time_key) + (self.n_frames if time_key < 0 else 0)
            if not 0 <= frame < self.n_frames:
                raise IndexError(f"frame {time_key} is outside the movie's {self.n_frames} frames")
            return self.read(frame, frame + 1)[(key[0], 0, *key[2:])]
        return np.asarray(self)[key]  # fancy or strided time index: reads the whole movie

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        frames = self.read(0, self.n_frames)
        return frames if dtype is None else frames.astype(dtype)

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return (
            f"LazyMovie(shape={self.shape}, parts={len(self.parts)}, "
            f"norm_mean={self.norm_mean}, norm_std={self.norm_std})"
        )


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``ranges`` with each range that starts where the previous one stops joined to it."""
    merged: list[tuple[int, int]] = []
    for start, stop in ranges:
        if merged and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], stop)
        else:
            merged.append((start, stop))
    return merged


def as_lazy_movie(
    movie: Any,
    norm_mean: float | None = None,
    norm_std: float | None = None,
    *,
    joins: Sequence[int] = (),
) -> LazyMovie:
    """``movie`` as a :class:`LazyMovie` (returned as is when it already is one).

    ``norm_mean``/``norm_std`` and ``joins`` (frames where one stimulus ends and the next
    begins) apply to a plain array only. A LazyMovie (such as the ``NormalizedMovie`` of
    ``h5_dataset_reader.load_stimuli(..., mmap=True)``) keeps its own normalisation and joins.
    """
    if isinstance(movie, LazyMovie):
        return movie
    return LazyMovie([movie], norm_mean, norm_std, joins=joins)
