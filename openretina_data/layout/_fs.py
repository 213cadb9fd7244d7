"""File-system steps of an atomic write: lock, temporary names, fsync, swap, stale clean-up."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import shutil
import sys
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


class TargetLock:
    """A lock file beside the target holding the owner's PID; refuses a second writer."""

    def __init__(self, target: Path) -> None:
        self.path = lock_path(target)
        self.target = target
        self.held = False

    def acquire(self) -> None:
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = self._owner()
                if owner is not None and pid_alive(owner):
                    raise OutputError(
                        f"another writer (process {owner}) is writing this dataset",
                        path=os.fspath(self.target),
                        hint=f"Wait for it to finish, or delete {self.path.name} if process {owner} is not yours.",
                    ) from None
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()  # stale: its owner is gone
                continue
            except OSError as error:
                raise OutputError(
                    f"cannot create a lock file beside the output ({error.strerror})",
                    path=os.fspath(self.target),
                    hint="Check that the parent folder exists and is writable.",
                ) from None
            with os.fdopen(fd, "w") as handle:
                handle.write(f"{os.getpid()}\n")
            self.held = True
            return
        raise OutputError(
            "could not take the lock on the output",
            path=os.fspath(self.target),
            hint="Another writer keeps racing for it; try again.",
        )

    def _owner(self) -> int | None:
        try:
            return int(self.path.read_text().strip() or "0")
        except (OSError, ValueError):
            return None

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
        shutil.rmtree(path, ignore_errors=True)
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
