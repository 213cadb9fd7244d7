"""Look at a path before opening it: only regular files and folders are ever read.

Opening a FIFO blocks until something writes to it, a character device such as
``/dev/zero`` never ends, and a socket cannot be read at all; each would hang or
exhaust memory in whatever reader got it. :func:`require_regular` stats first (symlinks
followed) and refuses anything else with one of our errors, naming the file and what
it is; with ``max_bytes`` it also refuses a file too big to be what it claims before a
byte is read. :func:`read_bounded` reads at most that many bytes even if the file grows.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from openretina_data.errors import (
    OpenRetinaDataError,
    SourceNotFoundError,
    UnreadableSourceError,
)

_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def special_kind(mode: int) -> str | None:
    """``"a named pipe (FIFO)"`` etc. for anything that is neither a file nor a folder."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return next((words for test, words in _KINDS if test(mode)), "not a regular file")


def require_regular(
    path: str | os.PathLike[str],
    *,
    what: str = "source",
    folders: bool = True,
    max_bytes: int | None = None,
    error: type[OpenRetinaDataError] = UnreadableSourceError,
) -> os.stat_result:
    """``os.stat(path)`` if ``path`` is a regular file (or, with ``folders``, a folder).

    Raises
    ------
    SourceNotFoundError
        Nothing is there.
    UnreadableSourceError (or ``error``)
        It is a FIFO, device or socket, a folder where ``folders`` is False, it cannot
        be looked at, or it is larger than ``max_bytes``.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise SourceNotFoundError(
            f"{what} not found", path=path, hint="Check the path (it is relative to the recipe)."
        ) from None
    except (OSError, ValueError) as problem:  # ValueError: a NUL byte in the path
        raise error(
            f"the {what} cannot be looked at ({_reason(problem)})",
            path=os.fspath(path).replace("\x00", "\\x00"),
            hint="Check the path and its permissions.",
        ) from None
    kind = special_kind(info.st_mode)
    if kind is not None:
        raise error(
            f"the {what} is {kind}, not a file: reading it could wait forever",
            path=path,
            hint=f"Point the {what} at a regular file (copy the data into one first).",
        )
    if stat.S_ISDIR(info.st_mode) and not folders:
        raise error(
            f"the {what} is a folder, not a file",
            path=path,
            hint="Point it at a file inside that folder.",
        )
    if max_bytes is not None and info.st_size > max_bytes:
        raise error(
            f"the {what} is {info.st_size} bytes, more than the {max_bytes} it may be",
            path=path,
            hint="Is this the right file?",
        )
    return info


def read_bounded(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """The file's bytes, refusing (``UnreadableSourceError``) more than ``max_bytes``."""
    with Path(path).open("rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UnreadableSourceError(
            f"the file is larger than {max_bytes} bytes", path=path, hint="Is this the right file?"
        )
    return data


def _reason(problem: BaseException) -> str:
    if isinstance(problem, OSError) and problem.strerror:
        return problem.strerror
    return str(problem).replace("\x00", "\\x00")
