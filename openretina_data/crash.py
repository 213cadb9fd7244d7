"""The last line of defence: an exception that is not ours becomes one clear message.

Every entry point (the CLI's subcommands, the wizard's workers, ``--jobs`` workers)
ends in :func:`explain`: one of our errors is printed as it is; anything else is a
bug (or the machine ran out of memory or disk) and gets a short message saying so,
which session and file were being processed (:func:`working_on` marks them on the
exception as it passes), and the path of a crash report with the traceback, versions,
the command line, the recipe and the platform. Nobody is shown a raw traceback.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import os
import platform
import sys
import tempfile
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path

from openretina_data import __version__
from openretina_data.errors import OpenRetinaDataError

_WHERE = "_openretina_data_where"
_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG}


@contextlib.contextmanager
def working_on(
    *, session: str | None = None, path: str | os.PathLike[str] | None = None
) -> Iterator[None]:
    """Mark an exception leaving this block with the session / file being processed."""
    try:
        yield
    except Exception as error:
        if not isinstance(error, OpenRetinaDataError) and not hasattr(error, _WHERE):
            with contextlib.suppress(AttributeError, TypeError):
                setattr(error, _WHERE, (session, None if path is None else os.fspath(path)))
        raise


def where(error: BaseException) -> str:
    """``session 's0', file 'x.h5'`` as marked by :func:`working_on`, or ``""``."""
    session, path = getattr(error, _WHERE, (None, None))
    parts = []
    if session is not None:
        parts.append(f"session {session!r}")
    if path is not None:
        parts.append(f"file {path!r}")
    return ", ".join(parts)


def crash_folder() -> Path:
    """Where crash reports go: ``$OPENRETINA_DATA_CRASH_DIR``, else the temporary folder."""
    return Path(os.environ.get("OPENRETINA_DATA_CRASH_DIR") or tempfile.gettempdir())


def _versions() -> list[str]:
    lines = [f"openretina-data {__version__}", f"python {sys.version.split()[0]}"]
    for name in ("numpy", "h5py", "scipy", "yaml", "torch"):
        module = sys.modules.get(name)
        if module is not None:
            lines.append(f"{name} {getattr(module, '__version__', '?')}")
    return lines


def _recipe_text(argv: Sequence[str]) -> str:
    for argument in argv:
        if argument.lower().endswith((".yaml", ".yml", ".json")):
            with contextlib.suppress(OSError, ValueError):
                path = Path(argument)
                if path.is_file() and path.stat().st_size < 1_000_000:
                    return f"--- recipe {argument} ---\n" + path.read_text(errors="replace")
    return ""


def write_report(error: BaseException, argv: Sequence[str]) -> Path | None:
    """Write a crash report for ``error``; its path (None where nothing could be written)."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    text = "\n".join(
        [
            f"openretina-data crash report {stamp}",
            f"command: openretina-data {' '.join(argv)}",
            f"platform: {platform.platform()}",
            *_versions(),
            f"where: {where(error) or 'unknown'}",
            "",
            "".join(traceback.format_exception(error)),
            _recipe_text(argv),
        ]
    )
    try:
        folder = crash_folder()
        folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(
            prefix=f"openretina-data-crash-{stamp}-", suffix=".txt", dir=folder
        )
        with os.fdopen(handle, "w", encoding="utf-8", errors="replace") as out:
            out.write(text)
        return Path(name)
    except OSError:
        return None


def explain(error: BaseException, argv: Sequence[str] = ()) -> str:
    """The message a user sees for ``error`` (a crash report is written for a bug)."""
    if isinstance(error, OpenRetinaDataError):
        return f"error: {error}"
    at = where(error)
    place = f" [{at}]" if at else ""
    if isinstance(error, MemoryError):
        return (
            f"error: ran out of memory{place}\n"
            "  hint: Close other programs, convert fewer sessions at once (--jobs), or use a "
            "machine with more memory; nothing half-written was left behind."
        )
    if isinstance(error, OSError) and error.errno in _FULL:
        return (
            f"error: the disk is full ({error.strerror}){place}\n"
            "  hint: Free disk space (or write elsewhere) and run again; nothing half-written "
            "was left behind."
        )
    report = write_report(error, argv)
    saved = (
        f"A crash report was written to {report}."
        if report
        else "No crash report could be written."
    )
    summary = f"{type(error).__name__}: {error}".splitlines()[0][:300]
    return (
        f"error: this is a bug in openretina-data ({summary}){place}\n"
        f"  hint: {saved} Please send it with a bug report; nothing half-written was left behind."
    )
