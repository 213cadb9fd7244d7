"""What every source reader is, how readers register, and how one is chosen.

A reader class declares what it can open (:meth:`SourceReader.sniff`), lists what
is inside without reading data (:meth:`SourceReader.probe`) and hands out lazy
arrays (:meth:`SourceReader.array`). :func:`choose_reader` asks every registered
reader to sniff a path — magic bytes beat the file name — and keeps the surest.
"""

from __future__ import annotations

import importlib.util
import os
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Literal

from openretina_data._files import require_regular
from openretina_data.errors import (
    MissingDependencyError,
    MissingKeyError,
    SourceNotFoundError,
    UnreadableSourceError,
    UnsupportedFormatError,
)
from openretina_data.sources.lazy import LazyArray

Role = Literal[
    "stimulus",
    "binned_responses",
    "spike_times",
    "traces",
    "triggers",
    "cell_metadata",
    "timestamps",
    "unknown",
]
ROLES: tuple[str, ...] = Role.__args__  # type: ignore[attr-defined]

#: How sure a sniff is: no, the file name fits, the magic bytes fit, the format's own marker fits.
NO, BY_SUFFIX, BY_MAGIC, BY_MARKER = 0, 1, 2, 3
HEADER_BYTES = 2056  # enough for an HDF5 signature behind a 512/1024/2048-byte user block


def sniff_folder(path: Path, marker: str, one_of: tuple[str, ...]) -> int:
    """Sniff a format folder by the files it holds.

    Returns ``BY_MARKER`` when ``path`` is a folder holding the file ``marker`` and at
    least one of the files ``one_of``, else ``NO``.
    """
    if path.is_dir() and (path / marker).is_file():
        if any((path / name).is_file() for name in one_of):
            return BY_MARKER
    return NO


@dataclass(frozen=True)
class Variable:
    """One array (or column, or per-unit collection) inside a source.

    Attributes
    ----------
    key
        How to ask the reader for it (``reader.array(key)``); nested keys use ``/``.
    shape, dtype
        As :meth:`SourceReader.array` will return it (MATLAB axis order for MAT files).
    role
        Plausible meaning, one of :data:`ROLES`; ``confidence`` in 0..1 says how plausible.
    unit
        A guess (``"s"``, ``"samples"``, ``"Hz"``, ``"spikes/bin"``, ``"dF/F"``, ``"a.u."``)
        or ``None``; the recipe always states the real unit, this only suggests.
    reason
        One line saying why the role was guessed.
    attrs
        Format metadata (HDF5 attributes, a column's origin, a frame rate ...).
    """

    key: str
    shape: tuple[int, ...]
    dtype: str
    role: Role = "unknown"
    confidence: float = 0.0
    unit: str | None = None
    reason: str = ""
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceInfo:
    """What a probe found in one file or folder; no array data was read."""

    path: str
    format: str
    variables: tuple[Variable, ...]
    attrs: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def keys(self) -> list[str]:
        return [v.key for v in self.variables]

    def variable(self, key: str) -> Variable:
        """The variable named ``key``; :class:`MissingKeyError` lists the others."""
        for v in self.variables:
            if v.key == key:
                return v
        raise missing_key(key, self.keys, self.path)

    def by_role(self, role: Role) -> list[Variable]:
        """Variables guessed to have ``role``, surest first."""
        return sorted((v for v in self.variables if v.role == role), key=lambda v: -v.confidence)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``inspect --json``, the wizard)."""
        out = asdict(self)
        for v in out["variables"]:
            v["shape"] = list(v["shape"])
            v["attrs"] = {k: _jsonable(a) for k, a in v["attrs"].items()}
        out["attrs"] = {k: _jsonable(a) for k, a in self.attrs.items()}
        out["notes"] = list(self.notes)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceInfo:
        """The inverse of :meth:`to_dict` (attributes come back as JSON types)."""
        variables = tuple(
            Variable(**{**v, "shape": tuple(v["shape"]), "attrs": dict(v.get("attrs", {}))})
            for v in data["variables"]
        )
        return cls(
            data["path"], data["format"], variables, dict(data.get("attrs", {})),
            tuple(data.get("notes", ())),
        )  # fmt: skip


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def missing_key(key: str, available: list[str], path: str | os.PathLike[str]) -> MissingKeyError:
    shown = ", ".join(repr(k) for k in available[:30]) + (" ..." if len(available) > 30 else "")
    return MissingKeyError(
        f"no variable {key!r}; available: {shown or 'none'}",
        path=path,
        key=key,
        hint="Pick one of the available keys (`openretina-data inspect FILE` lists them).",
    )


class SourceReader(ABC):
    """Base class of every format reader. Use as a context manager.

    Subclasses set the class attributes, implement :meth:`sniff`, :meth:`probe`
    and :meth:`array`, and are added with :func:`register`.
    """

    #: Short stable name (``"hdf5"``, ``"mat-v7.3"``); recipes and ``--format`` use it.
    name: ClassVar[str]
    #: What a person calls it, with typical suffixes.
    description: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]] = ()
    #: The pip extra that provides :attr:`requires` (``None`` = core).
    extra: ClassVar[str | None] = None
    requires: ClassVar[tuple[str, ...]] = ()
    folders: ClassVar[bool] = False
    #: The reader's native library (libhdf5, scipy's MAT v5 parser) can hang or crash the
    #: whole process on some damaged files: :func:`~openretina_data.sources.probe_guarded`
    #: then probes in a child process.
    native_risk: ClassVar[bool] = False

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @classmethod
    def sniff(cls, path: Path, header: bytes) -> int:
        """How sure this reader is that it opens ``path`` (:data:`NO` .. :data:`BY_MARKER`).

        ``header`` is the file's first bytes (empty for a folder). Must be cheap.
        """
        if not cls.folders and path.suffix.lower() in cls.suffixes:
            return BY_SUFFIX
        return NO

    @abstractmethod
    def probe(self) -> SourceInfo:
        """List the variables with shapes, dtypes and guessed roles; read no array data."""

    @abstractmethod
    def array(self, key: str) -> LazyArray:
        """A lazy view of variable ``key``; :class:`MissingKeyError` lists the keys."""

    def keys(self) -> list[str]:
        return self.probe().keys

    def close(self) -> None:
        """Release open file handles; arrays handed out stop working."""
        return None

    def __enter__(self) -> SourceReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def unreadable(self, what: str, error: BaseException | None = None) -> UnreadableSourceError:
        """Our error for a file that is truncated/corrupt, with the library's words."""
        detail = f": {error}" if error is not None else ""
        return UnreadableSourceError(
            f"cannot read {self.description} {what}{detail}", path=self.path
        )


_REGISTRY: dict[str, type[SourceReader]] = {}


def register(reader: type[SourceReader]) -> type[SourceReader]:
    """Class decorator: make ``reader`` available to :func:`probe`/:func:`open_source`."""
    _REGISTRY[reader.name] = reader
    return reader


def readers() -> list[type[SourceReader]]:
    """Every registered reader class, in registration order."""
    return list(_REGISTRY.values())


def formats_text() -> str:
    """One line per format we read, with the extra to install where one is needed."""
    lines = []
    for reader in readers():
        extra = f'  (pip install "openretina-data[{reader.extra}]")' if reader.extra else ""
        lines.append(f"  {reader.name}: {reader.description}{extra}")
    return "\n".join(lines)


def read_header(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(HEADER_BYTES)
    except OSError as error:
        raise UnreadableSourceError(f"cannot open the file: {error}", path=path) from error


def choose_reader(path: str | os.PathLike[str], format: str | None = None) -> type[SourceReader]:
    """The reader for ``path``: the one whose sniff is surest (content beats name).

    Raises
    ------
    SourceNotFoundError
        ``path`` does not exist.
    UnreadableSourceError
        The file is empty, or it is a FIFO, device or socket (never opened).
    UnsupportedFormatError
        No reader fits; the message lists the formats we read.
    MissingDependencyError
        The fitting reader needs an optional extra that is not installed.
    """
    path = Path(path)
    if not path.exists():
        raise SourceNotFoundError("no such file or folder", path=path)
    require_regular(path)  # a FIFO, device or socket would block or never end
    if format is not None:
        if format not in _REGISTRY:
            raise UnsupportedFormatError(
                f"unknown format {format!r}; known: {', '.join(_REGISTRY)}",
                path=path,
                hint="Leave the format out to detect it, or use one of the known names.",
            )
        chosen = _REGISTRY[format]
    else:
        header = b""
        if path.is_file():
            if path.stat().st_size == 0:
                raise UnreadableSourceError(
                    "the file is empty (0 bytes)",
                    path=path,
                    hint="Copy or export the file again; it has no content.",
                )
            header = read_header(path)
        scored = [(reader.sniff(path, header), i, reader) for i, reader in enumerate(readers())]
        best = max(scored, key=lambda s: (s[0], -s[1]), default=(NO, 0, None))
        if best[0] == NO or best[2] is None:
            kind = "folder" if path.is_dir() else "file"
            raise UnsupportedFormatError(
                f"no reader recognises this {kind}. We read:\n{formats_text()}",
                path=path,
                hint="Convert it to one of these formats, or install the extra the format needs.",
            )
        chosen = best[2]
    missing = [m for m in chosen.requires if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingDependencyError(
            f"reading {chosen.description} needs {', '.join(missing)}, which is not installed",
            path=path,
            hint=f'Install it with: pip install "openretina-data[{chosen.extra}]"',
        )
    return chosen


def open_source(path: str | os.PathLike[str], format: str | None = None) -> SourceReader:
    """Open ``path`` with the reader :func:`choose_reader` picks (or the one named)."""
    return choose_reader(path, format)(path)


def probe(path: str | os.PathLike[str], format: str | None = None) -> SourceInfo:
    """What is inside ``path`` (file or folder), without reading array data."""
    with open_source(path, format) as reader:
        return reader.probe()
