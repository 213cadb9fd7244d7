"""Reading sources in time-slabs for :mod:`openretina_data.convert` and :mod:`plan`.

Everything here works on bounded pieces: a stimulus is read a slab of frames at a
time and put into ``(channels, time, height, width)`` order; a ``.npy`` file is written
header first, then slab by slab, so memory does not grow with recording length.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from openretina_data.errors import (
    DataValidationError,
    MissingKeyError,
    RecipeError,
    ShapeError,
    SourceNotFoundError,
    UnreadableSourceError,
)
from openretina_data.sources.base import SourceReader, open_source
from openretina_data.sources.lazy import LazyArray

#: Target size of one slab read from a source (bytes).
SLAB_BYTES = 32 * 1024 * 1024


def open_array(
    path: Path,
    key: str | None,
    fmt: str | None,
    *,
    session: str | None = None,
    numeric: bool = True,
) -> tuple[SourceReader, LazyArray]:
    """Open ``path`` and the variable ``key`` in it (the only one when ``key`` is None).

    The reader is returned too; close it when done. ``numeric`` refuses arrays of
    anything but real numbers or booleans (complex, text, records) before a value is read.
    """
    reader, array = _open_any(path, key, fmt, session=session)
    if numeric and np.dtype(array.dtype).kind not in "biuf":
        reader.close()
        raise DataValidationError(
            f"the array holds {np.dtype(array.dtype)} values, not real numbers",
            path=path,
            key=key,
            session=session,
            hint="Save movies, responses and times as integer or float arrays.",
        )
    return reader, array


def _open_any(
    path: Path, key: str | None, fmt: str | None, *, session: str | None
) -> tuple[SourceReader, LazyArray]:
    if not path.exists():
        raise SourceNotFoundError("no such file or folder", path=path, session=session)
    reader = open_source(path, fmt)
    if reader.name == "npy" and key in (None, path.stem):
        try:
            return reader, NpyFileArray(path)
        except ValueError:
            pass  # Fortran order: the reader's own array handles it
    try:
        if key is None:
            keys = reader.keys()
            if len(keys) != 1:
                raise MissingKeyError(
                    f"the file holds {len(keys)} variables ({', '.join(keys[:8])}); which one?",
                    path=path,
                    session=session,
                    hint="Set `key:` in the recipe to one of them.",
                )
            key = keys[0]
        return reader, reader.array(key)
    except BaseException:
        reader.close()
        raise


@dataclass(frozen=True)
class MovieAxes:
    """How a stored movie maps onto ``(channels, time, height, width)``.

    ``axes`` holds one letter per stored axis from ``c t h w`` (``c`` optional).
    """

    axes: str
    shape: tuple[int, ...]

    @classmethod
    def check(cls, axes: str, shape: tuple[int, ...], *, where: str) -> MovieAxes:
        letters = set(axes)
        if (
            len(letters) != len(axes)
            or not letters <= set("cthw")
            or not {"t", "h", "w"} <= letters
        ):
            raise RecipeError(
                f"axes {axes!r} must use t, h, w once each and optionally c",
                key=where,
                hint="Write e.g. thw, cthw, twh or thwc.",
            )
        if len(axes) != len(shape):
            raise ShapeError(
                f"axes {axes!r} name {len(axes)} axes but the array has shape {shape}",
                key=where,
                hint=f"Give one letter per axis of the {len(shape)}-D array.",
            )
        return cls(axes, tuple(shape))

    def size(self, letter: str) -> int:
        return self.shape[self.axes.index(letter)] if letter in self.axes else 1

    @property
    def frames(self) -> int:
        return self.size("t")

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        return (self.size("c"), self.frames, self.size("h"), self.size("w"))

    def read(self, array: LazyArray, start: int, stop: int) -> np.ndarray:
        """Frames ``start:stop`` as ``(channels, stop - start, height, width)``."""
        index: list[Any] = [slice(None)] * len(self.axes)
        index[self.axes.index("t")] = slice(start, stop)
        block = np.asarray(array[tuple(index)])
        present = [letter for letter in "cthw" if letter in self.axes]
        block = np.transpose(block, [self.axes.index(letter) for letter in present])
        if "c" not in self.axes:
            block = block[np.newaxis]
        return block

    def slab_frames(self, itemsize: int) -> int:
        c, _, h, w = self.out_shape
        return max(1, SLAB_BYTES // max(1, c * h * w * itemsize))


def _npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype[Any], bool, int]:
    with path.open("rb") as handle:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
        return tuple(shape), np.dtype(dtype), bool(fortran), handle.tell()


class NpyFileArray(LazyArray):
    """A C-order ``.npy`` read by short-lived memory maps: pages are unmapped after each read.

    A long-lived ``np.memmap`` keeps every page it touched in the process's resident
    set; mapping per read keeps the resident set flat however big the file is.
    """

    def __init__(self, path: Path) -> None:
        shape, dtype, fortran, offset = _npy_header(path)
        if fortran or dtype.hasobject:
            raise ValueError("only C-order plain arrays")
        super().__init__(shape, dtype)
        self.path = path
        self.offset = offset
        stat = path.stat()
        self.fingerprint = (stat.st_size, stat.st_mtime_ns)

    def _read(self, key: Any) -> np.ndarray:
        with self.path.open("rb") as handle:
            # a file rewritten or truncated since it was opened: say so before mapping it
            # (a shrunk file cannot be mapped, and pages past its end would raise SIGBUS)
            stat = os.fstat(handle.fileno())
            if (stat.st_size, stat.st_mtime_ns) != self.fingerprint:
                raise UnreadableSourceError(
                    f"the file changed while it was being converted (it was "
                    f"{self.fingerprint[0]} bytes, it is now {stat.st_size})",
                    path=self.path,
                    hint="Let whatever writes to it finish (or convert a copy), then convert "
                    "again; nothing was written.",
                )
            mapped = np.memmap(handle, self.dtype, mode="r", shape=self.shape, offset=self.offset)
            try:
                return np.array(mapped[key])
            finally:
                mapped._mmap.close()  # type: ignore[attr-defined]
                del mapped


def read_slabs(
    axes: MovieAxes, array: LazyArray, frames: int, step: int
) -> Generator[tuple[int, np.ndarray], None, None]:
    """``(start, block)`` for frames ``0:frames`` in slabs of ``step``, read one ahead.

    A background thread reads the next slab while the caller writes this one (numpy
    copies, file reads and writes release the GIL), so reading and writing overlap.
    Close the iterator (or exhaust it) before closing the source.
    """
    starts = list(range(0, frames, step))
    with ThreadPoolExecutor(max_workers=1) as pool:

        def fetch(index: int) -> Future[np.ndarray]:
            start = starts[index]
            return pool.submit(axes.read, array, start, min(start + step, frames))

        pending = fetch(0) if starts else None
        for index, start in enumerate(starts):
            assert pending is not None
            block = pending.result()
            pending = fetch(index + 1) if index + 1 < len(starts) else None
            yield start, block


def source_files(path: Path) -> Iterator[Path]:
    """The files a source path stands for (a folder's files, one level deep)."""
    if path.is_dir():
        yield from sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    elif path.exists():
        yield path


def cast_frames(block: np.ndarray, dtype: np.dtype[Any], *, where: str) -> np.ndarray:
    """Cast a stimulus slab to the output dtype; uint8 refuses values it cannot hold."""
    if dtype == np.uint8 and block.dtype != np.uint8:
        if block.size and (
            block.min() < 0 or block.max() > 255 or not np.all(np.mod(block, 1) == 0)
        ):
            raise ShapeError(
                "stimulus values do not fit uint8 (whole numbers 0..255)",
                key=where,
                hint="Use dtype: float32 in the recipe.",
            )
    return block.astype(dtype, copy=False)
