"""Reading sources in time-slabs for :mod:`openretina_data.convert` and :mod:`plan`.

Everything here works on bounded pieces: a stimulus is read a slab of frames at a
time and put into ``(channels, time, height, width)`` order; a ``.npy`` file is written
header first, then slab by slab, so memory does not grow with recording length.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from openretina_data.errors import (
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
    path: Path, key: str | None, fmt: str | None, *, session: str | None = None
) -> tuple[SourceReader, LazyArray]:
    """Open ``path`` and the variable ``key`` in it (the only one when ``key`` is None).

    The reader is returned too; close it when done.
    """
    if not path.exists():
        raise SourceNotFoundError("no such file or folder", path=path, session=session)
    reader = open_source(path, fmt)
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


class NpyWriter:
    """Write a C-order ``(c, t, h, w)`` ``.npy`` file slab by slab along time."""

    def __init__(self, path: Path, shape: tuple[int, int, int, int], dtype: np.dtype[Any]) -> None:
        self.path = path
        self.shape = shape
        self.dtype = np.dtype(dtype)
        self.handle = path.open("wb")
        header = {
            "descr": np.lib.format.dtype_to_descr(self.dtype),
            "fortran_order": False,
            "shape": shape,
        }
        np.lib.format.write_array_header_2_0(self.handle, header)
        self.offset = self.handle.tell()
        total = int(np.prod(shape)) * self.dtype.itemsize
        self.handle.truncate(self.offset + total)

    def write(self, start: int, block: np.ndarray) -> None:
        """Frames ``start:start+block.shape[1]``; ``block`` is ``(c, frames, h, w)``."""
        c, t, h, w = self.shape
        frame_bytes = h * w * self.dtype.itemsize
        block = np.ascontiguousarray(block, dtype=self.dtype)
        for channel in range(c):
            self.handle.seek(self.offset + (channel * t + start) * frame_bytes)
            self.handle.write(memoryview(block[channel]).cast("B"))

    def close(self) -> None:
        if not self.handle.closed:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()


class RunningStats:
    """Streaming count, sum, sum of squares, min, max and finiteness (float64)."""

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.total_sq = 0.0
        self.min = float("inf")
        self.max = float("-inf")
        self.finite = True

    def add(self, block: np.ndarray) -> None:
        if block.size == 0:
            return
        values = block.astype(np.float64, copy=False)
        if not np.isfinite(values).all():
            self.finite = False
            values = values[np.isfinite(values)]
            if values.size == 0:
                return
        self.count += values.size
        self.total += float(values.sum())
        self.total_sq += float(np.square(values).sum())
        self.min = min(self.min, float(values.min()))
        self.max = max(self.max, float(values.max()))

    def merge(self, other: RunningStats) -> None:
        self.count += other.count
        self.total += other.total
        self.total_sq += other.total_sq
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        self.finite = self.finite and other.finite

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    @property
    def std(self) -> float | None:
        if not self.count:
            return None
        mean = self.total / self.count
        return float(np.sqrt(max(self.total_sq / self.count - mean * mean, 0.0)))

    def as_dict(self) -> dict[str, Any]:
        return {
            "all_finite": self.finite,
            "min": self.min if self.count else None,
            "max": self.max if self.count else None,
            "mean": self.mean,
            "std": self.std,
            "count": self.count,
        }


def file_sha256(path: Path, chunk: int = 8 * 1024 * 1024) -> str:
    """SHA-256 of a file (read in chunks)."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while block := handle.read(chunk):
                digest.update(block)
    except OSError as error:
        raise UnreadableSourceError(f"cannot read for the checksum: {error}", path=path) from error
    return digest.hexdigest()


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
