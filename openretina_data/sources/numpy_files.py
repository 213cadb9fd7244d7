"""NumPy ``.npy`` and ``.npz`` files, memory-mapped; pickles are never loaded.

A ``.npy`` file holds one variable, named after the file stem (``spike_times.npy``
→ ``"spike_times"``). In a ``.npz`` each member is a variable; members stored
uncompressed (``np.savez``) are memory-mapped in place, compressed ones
(``np.savez_compressed``) are read whole on first access.
"""

from __future__ import annotations

import math
import struct
import tokenize
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from openretina_data.errors import UnsafeContentError
from openretina_data.layout.reading import NpyHeader, parse_npy_header
from openretina_data.sources.base import (
    BY_MAGIC,
    NO,
    SourceInfo,
    SourceReader,
    missing_key,
    register,
)
from openretina_data.sources.lazy import DeferredArray, IndexableArray, LazyArray
from openretina_data.sources.roles import guess_variable

NPY_MAGIC = b"\x93NUMPY"
#: What numpy's header parser and zipfile/zlib raise on corrupt bytes.
CORRUPT = (
    ValueError, OSError, EOFError, SyntaxError, TypeError, KeyError, MemoryError,
    NotImplementedError, tokenize.TokenError, zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error,
)  # fmt: skip
ZIP_MAGIC = b"PK\x03\x04"


def map_array(
    path: Path, dtype: np.dtype[Any], shape: tuple[int, ...], fortran: bool, offset: int
) -> np.memmap[Any, Any]:
    """A read-only memory map of raw array bytes at ``offset`` in ``path``."""
    return np.memmap(path, dtype, "r", offset, shape, "F" if fortran else "C")


def refuse_objects(dtype: np.dtype[Any], path: Path, key: str) -> None:
    if dtype.hasobject:
        raise UnsafeContentError(
            "the array holds Python objects (a pickle); loading it could run code, so it is refused",
            path=path,
            key=key,
        )


@register
class NpyReader(SourceReader):
    name = "npy"
    description = "NumPy array (.npy)"
    suffixes = (".npy",)

    @classmethod
    def sniff(cls, path: Path, header: bytes) -> int:
        if header.startswith(NPY_MAGIC):
            return BY_MAGIC
        return super().sniff(path, header)

    def __init__(self, path: Any) -> None:
        super().__init__(path)
        self.key = self.path.stem
        try:
            with self.path.open("rb") as handle:
                header = parse_npy_header(handle)
        except CORRUPT as error:
            raise self.unreadable("header", error) from error
        self.shape, self.dtype = header.shape, header.dtype
        self.fortran, self.offset = header.fortran_order, header.data_offset
        refuse_objects(self.dtype, self.path, self.key)
        expected = self.offset + math.prod(self.shape) * self.dtype.itemsize
        if self.path.stat().st_size < expected:
            raise self.unreadable(
                f"data: the file has {self.path.stat().st_size} bytes, its header promises "
                f"{expected} (truncated?)"
            )

    def probe(self) -> SourceInfo:
        variable = guess_variable(self.key, self.shape, self.dtype)
        return SourceInfo(str(self.path), self.name, (variable,))

    def array(self, key: str) -> LazyArray:
        if key != self.key:
            raise missing_key(key, [self.key], self.path)
        if int(np.prod(self.shape)) == 0:
            return IndexableArray(np.empty(self.shape, self.dtype))
        return IndexableArray(
            map_array(self.path, self.dtype, self.shape, self.fortran, self.offset)
        )


@register
class NpzReader(SourceReader):
    name = "npz"
    description = "NumPy archive (.npz)"
    suffixes = (".npz",)

    @classmethod
    def sniff(cls, path: Path, header: bytes) -> int:
        # A zip is an .npz only by name: .docx, .xlsx and friends are zips too.
        if header.startswith(ZIP_MAGIC) and path.suffix.lower() == ".npz":
            return BY_MAGIC
        return NO if header else super().sniff(path, header)

    def __init__(self, path: Any) -> None:
        super().__init__(path)
        self._members: dict[str, tuple[zipfile.ZipInfo, NpyHeader]] = {}
        try:
            with zipfile.ZipFile(self.path) as archive:
                for info in archive.infolist():
                    if not info.filename.endswith(".npy"):
                        continue
                    with archive.open(info) as handle:
                        header = parse_npy_header(handle)
                    self._members[info.filename[:-4]] = (info, header)
        except CORRUPT as error:
            raise self.unreadable("archive", error) from error

    def probe(self) -> SourceInfo:
        variables = []
        notes = []
        for key, (_, header) in self._members.items():
            if header.dtype.hasobject:
                notes.append(f"{key!r} holds Python objects and will not be loaded")
                continue
            variables.append(guess_variable(key, header.shape, header.dtype))
        return SourceInfo(str(self.path), self.name, tuple(variables), notes=tuple(notes))

    def array(self, key: str) -> LazyArray:
        if key not in self._members:
            raise missing_key(key, list(self._members), self.path)
        info, header = self._members[key]
        shape, dtype, header_size = header.shape, header.dtype, header.data_offset
        refuse_objects(dtype, self.path, key)
        if info.compress_type == zipfile.ZIP_STORED and int(np.prod(shape)) > 0:
            with self.path.open("rb") as raw:
                raw.seek(info.header_offset)
                local = raw.read(30)
            name_len, extra_len = struct.unpack("<HH", local[26:30])
            offset = info.header_offset + 30 + name_len + extra_len + header_size
            if offset + int(np.prod(shape)) * dtype.itemsize > self.path.stat().st_size:
                raise self.unreadable(f"member {key!r}: the file ends early (truncated?)")
            mapped = np.memmap(
                self.path,
                dtype,
                mode="r",
                shape=shape,
                order="F" if header.fortran_order else "C",
                offset=offset,
            )
            return IndexableArray(mapped)
        return DeferredArray(shape, dtype, lambda: self._load_member(info))

    def _load_member(self, info: zipfile.ZipInfo) -> np.ndarray:
        try:
            with zipfile.ZipFile(self.path) as archive, archive.open(info) as handle:
                return np.asarray(np.lib.format.read_array(handle, allow_pickle=False))
        except CORRUPT as error:
            raise self.unreadable(f"member {info.filename!r}", error) from error
