"""Probe a file in a separate process, so a library that hangs or crashes cannot take us along.

libhdf5 can loop forever and scipy's MAT v5 reader can crash on some damaged files
(see :mod:`openretina_data.sources`). The wizard and batch jobs that probe files
they have never seen call :func:`probe_isolated`: the probe runs in a fresh Python
process with a time limit, and a hang or crash becomes an ``UnreadableSourceError``.
Costs one interpreter start (about half a second), so use it per file picked, not in
tight loops.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from openretina_data.errors import OpenRetinaDataError, UnreadableSourceError
from openretina_data.sources.base import SourceInfo

_CHILD = """
import json, sys
from openretina_data.errors import OpenRetinaDataError
from openretina_data.sources import probe
try:
    info = probe(sys.argv[1], sys.argv[2] or None)
    print(json.dumps({"ok": info.to_dict()}))
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
    path = Path(path)
    command = [sys.executable, "-c", _CHILD, os.fspath(path), format or ""]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as error:
        raise UnreadableSourceError(
            f"probing took longer than {timeout_s:g} s and was stopped",
            path=path,
            hint="The file is probably damaged (some damaged HDF5 files make libhdf5 loop); "
            "re-export or re-copy it.",
        ) from error
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise UnreadableSourceError(
            f"the reader crashed (exit status {done.returncode})",
            path=path,
            hint="The file is probably damaged; re-export or re-copy it.",
        )
    answer = json.loads(lines[-1])
    if "error" in answer:
        raise _rebuild(answer["error"])
    return SourceInfo.from_dict(answer["ok"])


def _rebuild(data: dict[str, str | None]) -> OpenRetinaDataError:
    from openretina_data import errors

    cls = getattr(errors, str(data["error"]), None)
    if not (isinstance(cls, type) and issubclass(cls, OpenRetinaDataError)):
        cls = UnreadableSourceError
    return cls(
        str(data["message"]),
        hint=data["hint"],
        path=data["path"],
        key=data["key"],
        session=data["session"],
    )
