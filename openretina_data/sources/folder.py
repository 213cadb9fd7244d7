"""Probe every file of a plain folder (one that is not itself a format, like a Kilosort folder)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from openretina_data.errors import (
    OpenRetinaDataError,
    SourceNotFoundError,
    UnsupportedFormatError,
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


def is_format_folder(path: str | os.PathLike[str]) -> bool:
    """Whether a folder reader (Kilosort, suite2p, the archive ...) recognises ``path`` itself."""
    path = Path(path)
    return path.is_dir() and any(r.folders and r.sniff(path, b"") > NO for r in readers())


def probe_folder(folder: str | os.PathLike[str]) -> FolderProbe:
    """Probe each entry of ``folder`` (not recursive; hidden names skipped).

    Sub-folders are probed only when a folder reader recognises them. Nothing is
    raised for a single bad file: it lands in ``errors`` or ``skipped``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SourceNotFoundError("no such folder", path=folder)
    result = FolderProbe(str(folder))
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or (entry.is_dir() and not is_format_folder(entry)):
            continue
        try:
            result.sources.append(probe(entry))
        except UnsupportedFormatError:
            result.skipped[entry.name] = "not a format we read"
        except OpenRetinaDataError as error:
            result.errors[entry.name] = error
    return result
