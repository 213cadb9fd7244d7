"""File-system steps of an atomic write: lock, temporary names, fsync, swap, stale clean-up."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import random
import re
import shutil
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from openretina_data.errors import OutputError


def temp_sibling(target: Path, tag: str = "tmp") -> Path:
    """``.<name>.<tag>-<pid>`` beside ``target`` (a name openretina never reads)."""
    return target.with_name(f".{target.name}.{tag}-{os.getpid()}")


def lock_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.lock")


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def this_host() -> str:
    """This machine's name, reduced to letters, digits and ``_`` (safe in file names)."""
    return re.sub(r"[^A-Za-z0-9]+", "_", socket.gethostname()) or "host"


#: A lock written on another host is stale only after this long (seconds): its PID
#: cannot be checked from here, and a conversion job rarely holds the lock for a day.
FOREIGN_LOCK_STALE_S = 24 * 3600.0
#: A lock file without a readable owner (being written, or damaged) is stale after this.
UNREADABLE_LOCK_STALE_S = 60.0


@dataclass(frozen=True)
class LockOwner:
    """Who holds a lock: ``host pid start`` as the lock file's one line says."""

    host: str
    pid: int
    started: float  # seconds since the epoch

    def describe(self) -> str:
        return f"process {self.pid} on {self.host}"

    def is_stale(self, now: float) -> bool:
        """Dead on this host, or held on another host for longer than a day."""
        if self.host == this_host():
            return not pid_alive(self.pid)
        return now - self.started > FOREIGN_LOCK_STALE_S


def read_owner(path: Path) -> LockOwner | None:
    """The owner written in lock file ``path``; None when unreadable or malformed.

    A bare PID (what older versions wrote) counts as this host's, its age the file's.
    """
    try:
        fields = path.read_text().split()
        if len(fields) == 1:
            return LockOwner(this_host(), int(fields[0]), path.stat().st_mtime)
        host, pid, started = fields
        return LockOwner(host, int(pid), float(started))
    except (OSError, ValueError):
        return None


class TargetLock:
    """A lock file beside the target naming its owner (``host pid start``).

    Safe on a file system shared by several hosts (a cluster's): the file is created
    with ``O_EXCL``. A lock is broken only when it is stale: its owner ran on this
    host and is gone, or ran on another host more than :data:`FOREIGN_LOCK_STALE_S`
    ago (another host's PID cannot be checked), or the file has held no readable
    owner for :data:`UNREADABLE_LOCK_STALE_S`.
    """

    def __init__(self, target: Path) -> None:
        self.path = lock_path(target)
        self.target = target
        self.held = False

    def acquire(self, wait_s: float = 0.0) -> None:
        """Take the lock, waiting up to ``wait_s`` seconds while a live writer holds it.

        Raises
        ------
        OutputError
            Another writer still holds it after the wait, or the lock cannot be created.
        """
        deadline = time.monotonic() + wait_s
        delay = 0.05
        while not self._try():
            if time.monotonic() >= deadline:
                owner = read_owner(self.path)
                who = owner.describe() if owner else "another process"
                raise OutputError(
                    f"another writer ({who}) is writing this dataset",
                    path=os.fspath(self.target),
                    hint=f"Wait for it to finish, or delete {self.path.name} if {who} is not yours.",
                )
            time.sleep(min(delay * (1 + random.random()), max(deadline - time.monotonic(), 0)))
            delay = min(2 * delay, 1.0)

    def _try(self) -> bool:
        """One attempt: True when taken; a stale lock is removed and retried at once."""
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                seen = self._stale_text()
                if seen is None:
                    return False
                self._break(seen)
                continue
            except OSError as error:
                raise OutputError(
                    f"cannot create a lock file beside the output ({error.strerror})",
                    path=os.fspath(self.target),
                    hint="Check that the parent folder exists and is writable.",
                ) from None
            with os.fdopen(fd, "w") as handle:
                handle.write(f"{this_host()} {os.getpid()} {time.time():.3f}\n")
            self.held = True
            return True
        return False

    def _stale_text(self) -> str | None:
        """The lock file's text when it is stale (``""`` if it is gone), else None."""
        try:
            text = self.path.read_text()
            age = time.time() - self.path.stat().st_mtime
        except FileNotFoundError:
            return ""
        except OSError:
            return None
        owner = read_owner(self.path)
        if owner is None:
            return text if age > UNREADABLE_LOCK_STALE_S else None
        return text if owner.is_stale(time.time()) else None

    def _break(self, stale_text: str) -> None:
        """Remove the stale lock, unless another writer replaced it meanwhile.

        It is first renamed to a name of this process's own, so two writers breaking
        the same stale lock cannot remove a fresh one that a third just took; a fresh
        one renamed by mistake is linked back (``link`` never replaces a newer lock).
        """
        taken = self.path.with_name(f"{self.path.name}.broken-{this_host()}-{os.getpid()}")
        try:
            os.rename(self.path, taken)
        except FileNotFoundError:
            return
        try:
            if taken.read_text() != stale_text:
                with contextlib.suppress(FileExistsError):
                    os.link(taken, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                taken.unlink()

    def release(self) -> None:
        if self.held:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            self.held = False


AT_FDCWD = -100  # renameat2: paths relative to the working folder
RENAME_EXCHANGE = 2  # renameat2: swap the two names atomically
#: errno values meaning "this kernel / file system cannot exchange": fall back to renames.
_NO_EXCHANGE = {errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV}


@functools.cache
def _renameat2() -> object | None:
    """libc's ``renameat2`` (glibc >= 2.28 on Linux), or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    function.restype = ctypes.c_int
    return function


def exchange(first: Path, second: Path) -> bool:
    """Swap ``first`` and ``second`` in one atomic step; False where the system cannot.

    Both must exist. On Linux this is ``renameat2(..., RENAME_EXCHANGE)``: at every
    instant each name points at a complete entry, so a process killed around it leaves
    either the old or the new one at each name, never a gap. Returns False (nothing
    changed) on other systems, old C libraries and file systems without the call.

    Raises
    ------
    OSError
        The exchange was possible but failed (permissions, a missing path ...).
    """
    function = _renameat2()
    if function is None:
        return False
    result = function(  # type: ignore[operator]
        AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second), RENAME_EXCHANGE
    )
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in _NO_EXCHANGE:
        return False
    raise OSError(code, os.strerror(code), os.fspath(first), None, os.fspath(second))


def clean_stale(target: Path) -> None:
    """Remove temporary leftovers of killed writers for ``target`` (caller holds the lock).

    A ``.tmp`` folder is removed whatever it holds: a half-written dataset, or the
    previous one that an :func:`exchange` swapped out just before its writer died. If
    the target itself is missing but a ``.old`` copy survives (a writer without
    :func:`exchange` died between the two renames of an overwrite), the old dataset is
    put back.
    """
    parent = target.parent
    if not parent.is_dir():
        return
    for entry in parent.iterdir():
        if entry.name.startswith(f".{target.name}.tmp-"):
            remove_tree(entry)
    for entry in sorted(parent.glob(f".{target.name}.old-*")):
        if not target.exists():
            entry.rename(target)
        else:
            remove_tree(entry)
    if target.is_dir():
        for entry in target.rglob(".*.tmp-*"):
            remove_tree(entry)


def remove_tree(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        # a stopping worker may still close a file in it: try again for up to a second
        for attempt in range(6):
            shutil.rmtree(path, ignore_errors=True)
            if not path.exists():
                break
            time.sleep(0.05 * 2**attempt / 2)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems do not support fsync on folders
        pass
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """fsync every file, then every folder, below and including ``root``."""
    for folder, _dirs, files in os.walk(root):
        for name in files:
            fsync_file(Path(folder) / name)
        fsync_dir(Path(folder))


def make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and missing ancestors (like ``mkdir -p``); return them, deepest first."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:
            pass
        except OSError as error:
            raise OutputError(
                f"cannot create the output's parent folder ({error.strerror})",
                path=os.fspath(path),
                hint="Check the path and that you may write there.",
            ) from None
    if not folder.is_dir() and not missing:
        raise OutputError(
            "the output's parent is not a folder",
            path=os.fspath(folder),
            hint="Choose an output path inside a folder.",
        )
    return missing
