"""Probe files in a separate process, so a library that hangs or crashes cannot take us along.

libhdf5 can loop forever and scipy's MAT v5 reader can crash on some damaged files
(see :mod:`openretina_data.sources`). Callers that probe files they have never seen
(the wizard, ``openretina-data inspect``) use these functions:

* :func:`probe_isolated` probes one file in a fresh Python process with a time limit;
  a hang or crash becomes an ``UnreadableSourceError`` naming the file. Costs one
  interpreter start (about half a second).
* :func:`probe_guarded` picks the reader in this process (reading a few header bytes)
  and isolates only readers with :attr:`~openretina_data.sources.SourceReader.native_risk`.
* :func:`probe_folder_guarded` probes a whole folder in one child process; only if that
  child hangs or crashes is each entry probed on its own, to name the culprit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from openretina_data.errors import UnreadableSourceError, error_from_dict
from openretina_data.sources.base import SourceInfo, choose_reader, probe
from openretina_data.sources.folder import FolderProbe, folder_entries, probe_folder

_CHILD = """
import json, sys
from openretina_data.errors import OpenRetinaDataError
from openretina_data.sources import probe, probe_folder
try:
    if sys.argv[1] == "folder":
        print(json.dumps({"ok": probe_folder(sys.argv[2]).to_dict()}))
    else:
        print(json.dumps({"ok": probe(sys.argv[2], sys.argv[3] or None).to_dict()}))
except OpenRetinaDataError as error:
    print(json.dumps({"error": error.to_dict()}))
"""


def probe_isolated(
    path: str | os.PathLike[str], format: str | None = None, timeout_s: float = 30.0
) -> SourceInfo:
    """:func:`~openretina_data.sources.probe` in a child process with a time limit.

    Raises
    ------
    UnreadableSourceError
        The probe ran past ``timeout_s`` seconds or the child process crashed.
    OpenRetinaDataError
        Whatever :func:`probe` raised in the child (same class, message and hint).
    """
    return SourceInfo.from_dict(_in_child(["file", os.fspath(path), format or ""], path, timeout_s))


def probe_guarded(
    path: str | os.PathLike[str], format: str | None = None, timeout_s: float = 30.0
) -> SourceInfo:
    """:func:`probe` in this process, or in a child process (:func:`probe_isolated`) when
    the reader for ``path`` relies on a native library that damaged files can hang or crash."""
    reader = choose_reader(path, format)
    if reader.native_risk:
        return probe_isolated(path, reader.name, timeout_s)
    return probe(path, reader.name)


def probe_folder_guarded(folder: str | os.PathLike[str], timeout_s: float = 30.0) -> FolderProbe:
    """:func:`~openretina_data.sources.probe_folder` in one child process (``timeout_s``
    per entry); if the child hangs or crashes, every entry is probed with
    :func:`probe_guarded`, so the file at fault lands in ``errors`` and the rest are listed."""
    folder = Path(folder)
    limit = timeout_s * max(1, len(folder_entries(folder))) if folder.is_dir() else timeout_s
    try:
        return FolderProbe.from_dict(_in_child(["folder", os.fspath(folder)], folder, limit))
    except _ChildFailed:
        pass
    return probe_folder(folder, lambda entry: probe_guarded(entry, timeout_s=timeout_s))


class _ChildFailed(UnreadableSourceError):
    """The probe child hung (and was stopped) or crashed."""


def _in_child(arguments: list[str], path: str | os.PathLike[str], timeout_s: float) -> Any:
    """Run the probe child with ``arguments``; its answer (``"ok"``) or its error raised."""
    command = [sys.executable, "-c", _CHILD, *arguments]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as error:
        raise _ChildFailed(
            f"probing took longer than {timeout_s:g} s and was stopped",
            path=path,
            hint="The file is probably damaged (some damaged HDF5 files make libhdf5 loop); "
            "re-export or re-copy it.",
        ) from error
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise _ChildFailed(
            f"the reader crashed (exit status {done.returncode})",
            path=path,
            hint="The file is probably damaged; re-export or re-copy it.",
        )
    answer = json.loads(lines[-1])
    if "error" in answer:
        raise error_from_dict(answer["error"])
    return answer["ok"]
