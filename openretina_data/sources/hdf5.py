"""HDF5 files (``.h5``, ``.hdf5``): every dataset, at any depth, read lazily with h5py.

Keys are dataset paths without the leading slash (``"train/response/firing_rate_10ms"``).
Attributes of each dataset are listed in ``Variable.attrs``; the file's root
attributes in ``SourceInfo.attrs``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from openretina_data.errors import OpenRetinaDataError, UnreadableSourceError
from openretina_data.sources.base import (
    BY_MAGIC,
    SourceInfo,
    SourceReader,
    Variable,
    missing_key,
    register,
)
from openretina_data.sources.lazy import BasicKey, LazyArray
from openretina_data.sources.roles import guess_variable

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
MAX_ATTR_ITEMS = 64


def hdf5_signature_at(header: bytes) -> int | None:
    """Byte offset of the HDF5 signature (0 or behind a user block), or ``None``."""
    for offset in (0, 512, 1024, 2048):
        if header[offset : offset + 8] == HDF5_MAGIC:
            return offset
    return None


def attr_value(value: Any) -> Any:
    """An HDF5 attribute as plain Python: text decoded, small arrays as lists."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        if value.size > MAX_ATTR_ITEMS:
            return f"<array {value.shape} {value.dtype}>"
        return (
            [attr_value(v) for v in value.tolist()] if value.dtype.kind in "OS" else value.tolist()
        )
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, h5py.Reference):
        return "<reference>"
    return value


def read_attrs(obj: h5py.HLObject) -> dict[str, Any]:
    try:
        return {str(k): attr_value(v) for k, v in obj.attrs.items()}
    except (OSError, TypeError, ValueError):
        return {}


class H5Array(LazyArray):
    """An ``h5py.Dataset`` as a :class:`LazyArray`; read errors become our errors."""

    def __init__(
        self, dataset: h5py.Dataset, path: Path, key: str, transpose: bool = False
    ) -> None:
        self._text = h5py.check_string_dtype(dataset.dtype) is not None
        dtype = np.dtype(object) if self._text else dataset.dtype
        shape = tuple(reversed(dataset.shape)) if transpose else dataset.shape
        super().__init__(shape, dtype)
        self._dataset = dataset.asstr() if self._text else dataset
        self._transpose = transpose
        self._path, self._key = path, key

    def _read(self, key: BasicKey) -> np.ndarray:
        try:
            if self._transpose:
                return np.array(self._dataset[tuple(reversed(key))]).T
            return np.array(self._dataset[key])
        except (OSError, RuntimeError, ValueError) as error:
            raise UnreadableSourceError(
                f"reading failed: {error}",
                path=self._path,
                key=self._key,
                hint="Re-export or re-copy the file; it looks truncated or corrupt.",
            ) from error


#: What h5py raises on corrupt files (a damaged object header surfaces as KeyError).
H5_CORRUPT = (OSError, KeyError, RuntimeError, ValueError, TypeError)


@contextmanager
def h5_guard(path: Path, what: str, key: str | None = None) -> Iterator[None]:
    """Turn h5py's errors on corrupt content into :class:`UnreadableSourceError`; ours pass."""
    try:
        yield
    except OpenRetinaDataError:
        raise
    except H5_CORRUPT as error:
        raise UnreadableSourceError(f"cannot read {what}: {error}", path=path, key=key) from error


def open_h5(path: Path, description: str = "HDF5 file") -> h5py.File:
    """``h5py.File(path, "r")``; a truncated or corrupt file raises our error."""
    try:
        return h5py.File(path, "r")
    except (OSError, ValueError) as error:
        raise UnreadableSourceError(f"cannot read {description}: {error}", path=path) from error


def list_datasets(root: h5py.Group) -> list[tuple[str, h5py.Dataset]]:
    """Every dataset below ``root`` as ``(key, dataset)``, in file order."""
    found: list[tuple[str, h5py.Dataset]] = []

    def visit(name: str | bytes, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset):  # a name that is not UTF-8 comes back as bytes
            text = name if isinstance(name, str) else name.decode("utf-8", "replace")
            found.append((text, obj))

    root.visititems(visit)
    return found


@register
class Hdf5Reader(SourceReader):
    name = "hdf5"
    native_risk = True
    description = "HDF5 file (.h5, .hdf5)"
    suffixes = (".h5", ".hdf5", ".hdf", ".he5")

    @classmethod
    def sniff(cls, path: Path, header: bytes) -> int:
        if hdf5_signature_at(header) is not None:
            return BY_MAGIC
        return super().sniff(path, header)

    def __init__(self, path: Any) -> None:
        super().__init__(path)
        self.file = open_h5(self.path, self.description)

    def probe(self) -> SourceInfo:
        with h5_guard(self.path, "the file's structure"):
            variables = [variable_of(key, ds) for key, ds in list_datasets(self.file)]
            attrs = read_attrs(self.file)
        return SourceInfo(str(self.path), self.name, tuple(variables), attrs)

    def array(self, key: str) -> LazyArray:
        with h5_guard(self.path, "the object", key):  # a missing key gives None, not KeyError
            obj = self.file.get(key.strip("/"))
        if not isinstance(obj, h5py.Dataset):
            raise missing_key(key, [k for k, _ in list_datasets(self.file)], self.path)
        return H5Array(obj, self.path, key)

    def group_keys(self) -> list[str]:
        """Every group path (for a key picker that shows the tree)."""
        groups: list[str] = []
        self.file.visititems(lambda n, o: groups.append(n) if isinstance(o, h5py.Group) else None)
        return groups

    def close(self) -> None:
        self.file.close()


def _dtype(dataset: h5py.Dataset) -> np.dtype[Any]:
    return np.dtype(object) if h5py.check_string_dtype(dataset.dtype) else dataset.dtype


def variable_of(key: str, dataset: h5py.Dataset, **kwargs: Any) -> Variable:
    """:func:`guess_variable` for an h5py dataset."""
    return guess_variable(key, dataset.shape, _dtype(dataset), attrs=read_attrs(dataset), **kwargs)
