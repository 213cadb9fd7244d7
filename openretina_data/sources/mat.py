"""MATLAB ``.mat`` files: v5 through scipy, v7.3 (an HDF5 file) through h5py.

Shapes are MATLAB's (a row vector is ``(1, n)``). Structs and cells become nested
keys: ``params/fs``, ``cells/0`` (cell elements numbered in MATLAB's linear,
column-major order). Char arrays are text: an object array of ``str``, one per row.

v7.3 arrays are read lazily, slice by slice, in MATLAB's axis order (h5py sees
them reversed). v5 files cannot be sliced on disk: a variable is loaded whole on
first access (scipy's ``variable_names``), never before. Structs and cells of v5
files are loaded when probed, to list their fields, if the file is at most
:data:`EXPAND_LIMIT_BYTES`; in bigger files they are listed whole and
``Mat5Reader.keys_of(name)`` lists their fields. A v5 variable whose bytes run past
the end of the file (truncated) or whose header claims more values than the file
could hold (see :mod:`~openretina_data.sources._mat5_elements`) is noted by ``probe``
and refused by ``array`` before anything is allocated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np

from openretina_data.errors import UnreadableSourceError
from openretina_data.sources._mat5_elements import (
    Element,
    absurd_claim,
    available_memory_bytes,
    top_level_elements,
    truncation,
)
from openretina_data.sources.base import (
    BY_MARKER,
    SourceInfo,
    SourceReader,
    Variable,
    missing_key,
    register,
)
from openretina_data.sources.hdf5 import H5Array, h5_guard, hdf5_signature_at, open_h5
from openretina_data.sources.lazy import DeferredArray, IndexableArray, LazyArray
from openretina_data.sources.roles import guess_variable

MAT5_MARKER = b"MATLAB 5.0 MAT-file"
MAT73_MARKER = b"MATLAB 7.3 MAT-file"
MAX_LEAVES = 2000  # cells/structs beyond this many elements are not expanded
#: A MAT v5 file cannot be read in parts: its structs/cells are loaded to list their
#: fields only when the file is at most this big.
EXPAND_LIMIT_BYTES = 64 << 20

_CLASS_DTYPES = {
    "double": "f8", "single": "f4", "logical": "?", "sparse": "f8",
    "int8": "i1", "uint8": "u1", "int16": "i2", "uint16": "u2",
    "int32": "i4", "uint32": "u4", "int64": "i8", "uint64": "u8",
}  # fmt: skip


def _text_rows(chars: np.ndarray) -> np.ndarray:
    """A MATLAB char matrix (rows, cols) of code points → object array of ``str`` (rows,)."""
    chars = np.atleast_2d(chars)
    rows = ["".join(map(chr, row)) for row in chars.astype(np.int64)]
    out = np.empty(len(rows), dtype=object)
    out[:] = rows
    return out


# --- v7.3 --------------------------------------------------------------------------


def _matlab_class(obj: h5py.HLObject) -> str:
    value = obj.attrs.get("MATLAB_class", b"")
    return value.decode() if isinstance(value, bytes) else str(value)


@register
class Mat73Reader(SourceReader):
    name = "mat-v7.3"
    native_risk = True
    description = "MATLAB v7.3 file (.mat, HDF5 inside)"
    suffixes = (".mat",)

    @classmethod
    def sniff(cls, path: Path, header: bytes) -> int:
        if header.startswith(MAT73_MARKER) and hdf5_signature_at(header) == 512:
            return BY_MARKER
        return 0

    def __init__(self, path: Any) -> None:
        super().__init__(path)
        self.file = open_h5(self.path, self.description)
        self._leaves: dict[str, tuple[h5py.Dataset, str]] | None = None
        self._notes: list[str] = []

    @property
    def leaves(self) -> dict[str, tuple[h5py.Dataset, str]]:
        """``key -> (dataset, kind)`` with kind in numeric/char/empty; walks refs once."""
        if self._leaves is None:
            self._leaves = {}
            with h5_guard(self.path, "the MATLAB variables"):
                for name, obj in self.file.items():
                    if not name.startswith("#"):
                        self._walk(name, obj)
        return self._leaves

    def _walk(self, key: str, obj: Any) -> None:
        assert self._leaves is not None
        if len(self._leaves) >= MAX_LEAVES:
            self._notes.append(f"more than {MAX_LEAVES} variables; {key!r} and later not listed")
            return
        if obj is None:  # h5py gives None for a link to nothing
            self._notes.append(f"{key!r} is a broken link; skipped")
        elif isinstance(obj, h5py.Group):
            for name, child in obj.items():
                self._walk(f"{key}/{name}", child)
        elif obj.attrs.get("MATLAB_empty", 0):
            self._leaves[key] = (obj, "empty")
        elif h5py.check_ref_dtype(obj.dtype) is not None:
            refs = obj[()]
            for i, ref in enumerate(np.asarray(refs).ravel()):
                target = self.file[ref] if ref else None
                if target is None:
                    raise self.unreadable(f"{key!r}: element {i} points nowhere")
                self._walk(f"{key}/{i}", target)
        elif _matlab_class(obj) == "char":
            self._leaves[key] = (obj, "char")
        else:
            self._leaves[key] = (obj, "numeric")

    def _shape_dtype(self, dataset: h5py.Dataset, kind: str) -> tuple[tuple[int, ...], Any]:
        if kind == "empty":
            return (0,), np.dtype(_CLASS_DTYPES.get(_matlab_class(dataset), "f8"))
        shape = tuple(reversed(dataset.shape))
        if kind == "char":
            return shape[:1], np.dtype(object)
        return shape, np.dtype(_CLASS_DTYPES.get(_matlab_class(dataset), dataset.dtype.str))

    def probe(self) -> SourceInfo:
        variables = []
        for key, (dataset, kind) in self.leaves.items():
            shape, dtype = self._shape_dtype(dataset, kind)
            attrs = {"matlab_class": _matlab_class(dataset) or None}
            variables.append(guess_variable(key, shape, dtype, attrs=attrs))
        return SourceInfo(str(self.path), self.name, tuple(variables), notes=tuple(self._notes))

    def array(self, key: str) -> LazyArray:
        if key not in self.leaves:
            raise missing_key(key, list(self.leaves), self.path)
        dataset, kind = self.leaves[key]
        shape, dtype = self._shape_dtype(dataset, kind)
        if kind == "empty":
            return IndexableArray(np.empty(shape, dtype))
        if kind == "char":
            return DeferredArray(shape, dtype, lambda: _text_rows(np.asarray(dataset[()]).T))
        view = H5Array(dataset, self.path, key, transpose=True)
        view.dtype = dtype  # logical is stored as uint8; reads are cast to bool
        return view

    def close(self) -> None:
        self.file.close()


# --- v5 ----------------------------------------------------------------------------


def _flatten(key: str, value: Any, out: dict[str, np.ndarray]) -> None:
    """Leaves of a scipy-loaded MAT v5 value (structured arrays, cells) under ``key``."""
    if len(out) >= MAX_LEAVES:
        return
    if isinstance(value, np.ndarray) and value.dtype.names:
        flat = value.ravel(order="F")
        for i, record in enumerate(flat):
            prefix = key if flat.size == 1 else f"{key}/{i}"
            for field in value.dtype.names:
                _flatten(f"{prefix}/{field}", record[field], out)
    elif isinstance(value, np.ndarray) and value.dtype.hasobject:
        for i, item in enumerate(value.ravel(order="F")):
            _flatten(f"{key}/{i}", item, out)
    elif isinstance(value, np.ndarray) and value.dtype.kind == "U":
        text = np.empty(value.shape, dtype=object)
        text[...] = value.tolist() if value.ndim else [value.item()]
        out[key] = text
    elif isinstance(value, np.ndarray):
        out[key] = value
    elif hasattr(value, "toarray"):  # a sparse matrix
        out[key] = np.asarray(value.toarray())
    else:
        out[key] = np.asarray(value)


@register
class Mat5Reader(SourceReader):
    name = "mat-v5"
    native_risk = True
    description = "MATLAB v5/v7 file (.mat)"
    suffixes = (".mat",)
    extra = "mat"
    requires = ("scipy",)

    @classmethod
    def sniff(cls, path: Path, header: bytes) -> int:
        if header.startswith(MAT5_MARKER):
            return BY_MARKER
        return super().sniff(path, header)

    def __init__(self, path: Any) -> None:
        super().__init__(path)
        import scipy.io

        self._scipy_io = scipy.io
        try:
            self._whos = [(n, tuple(s), c) for n, s, c in scipy.io.whosmat(self.path)]
        except Exception as error:  # scipy raises many types on corrupt files
            raise self.unreadable("variable list", error) from error
        try:
            elements, self._file_size = top_level_elements(self.path)
        except OSError as error:
            raise self.unreadable("variable list", error) from error
        # scipy lists one variable per element, in file order
        self._element: dict[str, Element] = {
            name: element for (name, _, _), element in zip(self._whos, elements, strict=False)
        }
        self._classes = {name: (shape, cls) for name, shape, cls in self._whos}
        self._loaded: dict[str, dict[str, np.ndarray]] = {}

    def _damage(self, name: str, available: int | None) -> str | None:
        """Why top-level variable ``name`` cannot be read, or None (reads only the tag walk)."""
        element = self._element.get(name)
        if element is not None and (reason := truncation(element, self._file_size)):
            return reason
        shape, cls = self._classes.get(name, ((), ""))
        if cls not in _CLASS_DTYPES:
            return None
        itemsize = np.dtype(_CLASS_DTYPES[cls]).itemsize
        stored = None if cls == "sparse" else element  # a sparse matrix is stored small
        return absurd_claim(shape, itemsize, stored, self._file_size, available)

    def _refuse_damaged(self, name: str) -> None:
        reason = self._damage(name, available_memory_bytes())
        if reason is not None:
            raise UnreadableSourceError(
                f"cannot read MATLAB variable {name!r}: {reason}",
                path=self.path,
                key=name,
                hint="Re-export the variable from MATLAB (save -v7.3 for big arrays), or pick "
                "another variable; reading this one would fail or exhaust memory.",
            )

    def _load(self, name: str) -> dict[str, np.ndarray]:
        """Every leaf of top-level variable ``name`` (loads that variable, once)."""
        if name not in self._loaded:
            try:
                content = self._scipy_io.loadmat(
                    self.path, variable_names=[name], chars_as_strings=True
                )
            except Exception as error:  # scipy raises many types on corrupt files
                raise self.unreadable(f"variable {name!r}", error) from error
            leaves: dict[str, np.ndarray] = {}
            _flatten(name, content[name], leaves)
            self._loaded[name] = leaves
        return self._loaded[name]

    def _entries(
        self, expand: bool | str = True
    ) -> dict[str, tuple[tuple[int, ...], np.dtype[Any], str]]:
        """``key -> (shape, dtype, top-level name)``; plain arrays are never loaded.

        ``expand``: load structs/cells to list their fields — all (``True``), none
        (``False``, they are listed whole with dtype object) or only the one named.
        """
        entries: dict[str, tuple[tuple[int, ...], np.dtype[Any], str]] = {}
        for name, shape, cls in self._whos:
            if cls in ("struct", "cell", "object"):
                if expand is True or expand == name:
                    for key, leaf in self._load(name).items():
                        entries[key] = (leaf.shape, leaf.dtype, name)
                else:
                    entries[name] = (shape, np.dtype(object), name)
            elif cls == "char":
                entries[name] = (shape, np.dtype(object), name)
            elif cls in _CLASS_DTYPES:
                entries[name] = (shape, np.dtype(_CLASS_DTYPES[cls]), name)
        return entries

    def probe(self) -> SourceInfo:
        small = self.path.stat().st_size <= EXPAND_LIMIT_BYTES
        variables: list[Variable] = []
        available = available_memory_bytes()
        damaged = {n: r for n, _, _ in self._whos if (r := self._damage(n, available))}
        notes = [f"{n!r} cannot be read: {r}" for n, r in damaged.items()]
        expand = small and not damaged  # a damaged file's structs are listed whole
        for key, (shape, dtype, name) in self._entries(expand=expand).items():
            cls = self._classes[name][1]
            if key == name and cls in ("struct", "cell"):
                notes.append(
                    f"{name!r} is a {cls}; its fields are listed by open_source(...).keys_of"
                    f"({name!r}) (not loaded here: the file is over {EXPAND_LIMIT_BYTES >> 20} MiB)"
                )
                variables.append(
                    Variable(key, shape, dtype.str, "unknown", 0.1, None, f"MATLAB {cls}")
                )
                continue
            variables.append(guess_variable(key, shape, dtype, attrs={"matlab_class": cls}))
        skipped = [
            n for n, _, c in self._whos if c not in (*_CLASS_DTYPES, "struct", "cell", "char")
        ]
        notes.extend(f"{n!r} is a MATLAB object that cannot be read" for n in skipped)
        return SourceInfo(str(self.path), self.name, tuple(variables), notes=tuple(notes))

    def keys_of(self, name: str) -> list[str]:
        """The keys inside top-level struct/cell ``name`` (loads that variable)."""
        self._refuse_damaged(name)
        return [k for k, (_, _, top) in self._entries(expand=name).items() if top == name]

    def array(self, key: str) -> LazyArray:
        name = key.split("/", 1)[0]
        if name in self._classes:
            self._refuse_damaged(name)
        entries = self._entries(expand=name)
        if key not in entries:
            raise missing_key(key, list(entries), self.path)
        shape, dtype, name = entries[key]
        return DeferredArray(shape, dtype, lambda: self._load(name)[key])
