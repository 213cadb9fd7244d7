"""Probe every file of a plain folder (one that is not itself a format, like a Kilosort folder)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openretina_data.errors import (
    OpenRetinaDataError,
    SourceNotFoundError,
    UnsupportedFormatError,
    error_from_dict,
)
from openretina_data.sources.base import NO, SourceInfo, probe, readers


@dataclass
class FolderProbe:
    """What :func:`probe_folder` found.

    Attributes
    ----------
    sources
        One :class:`SourceInfo` per readable file or recognised sub-folder, by name.
    skipped
        Files no reader recognises (name → reason); not an error in a mixed folder.
    errors
        Files a reader recognised but could not read (name → our error).
    """

    folder: str
    sources: list[SourceInfo] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    errors: dict[str, OpenRetinaDataError] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: sources as :meth:`SourceInfo.to_dict`, errors as ``error.to_dict()``."""
        return {
            "folder": self.folder,
            "sources": [info.to_dict() for info in self.sources],
            "skipped": dict(self.skipped),
            "errors": {name: error.to_dict() for name, error in self.errors.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FolderProbe:
        """Inverse of :meth:`to_dict` (errors come back as the same error classes)."""
        return cls(
            str(data["folder"]),
            [SourceInfo.from_dict(info) for info in data["sources"]],
            {str(k): str(v) for k, v in data["skipped"].items()},
            {str(k): error_from_dict(v) for k, v in data["errors"].items()},
        )


def folder_entries(folder: Path) -> list[Path]:
    """What :func:`probe_folder` probes: files and format folders, hidden names skipped."""
    return [
        entry
        for entry in sorted(folder.iterdir())
        if not entry.name.startswith(".") and (not entry.is_dir() or is_format_folder(entry))
    ]


def is_format_folder(path: str | os.PathLike[str]) -> bool:
    """Whether a folder reader (Kilosort, suite2p, the archive ...) recognises ``path`` itself."""
    path = Path(path)
    return path.is_dir() and any(r.folders and r.sniff(path, b"") > NO for r in readers())


def probe_folder(
    folder: str | os.PathLike[str],
    probe_one: Callable[[Path], SourceInfo] = probe,
) -> FolderProbe:
    """Probe each entry of ``folder`` (not recursive; hidden names skipped).

    Sub-folders are probed only when a folder reader recognises them. Nothing is
    raised for a single bad file: it lands in ``errors`` or ``skipped``. ``probe_one``
    probes one entry (:func:`~openretina_data.sources.probe_guarded` isolates the risky ones).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SourceNotFoundError("no such folder", path=folder)
    result = FolderProbe(str(folder))
    for entry in folder_entries(folder):
        try:
            result.sources.append(probe_one(entry))
        except UnsupportedFormatError:
            result.skipped[entry.name] = "not a format we read"
        except OpenRetinaDataError as error:
            result.errors[entry.name] = error
    return result
