"""The dataset lock on a file system shared by several hosts: who holds it, when it is stale."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from openretina_data.errors import OutputError
from openretina_data.layout import _fs
from openretina_data.layout._fs import TargetLock, lock_path, read_owner, this_host


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    return int(done.stdout)


def _write_lock(target: Path, text: str, age_s: float = 0.0) -> Path:
    path = lock_path(target)
    path.write_text(text)
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


def test_the_lock_file_names_host_pid_and_start(tmp_path: Path) -> None:
    lock = TargetLock(tmp_path / "dataset")
    before = time.time()
    lock.acquire()
    owner = read_owner(lock.path)
    assert owner is not None
    assert (owner.host, owner.pid) == (this_host(), os.getpid())
    assert before - 1 <= owner.started <= time.time() + 1
    lock.release()
    assert not lock.path.exists()


def test_a_dead_writer_on_this_host_is_taken_over(tmp_path: Path) -> None:
    target = tmp_path / "dataset"
    _write_lock(target, f"{this_host()} {_dead_pid()} {time.time()}\n")
    lock = TargetLock(target)
    lock.acquire()
    owner = read_owner(lock.path)
    assert lock.held and owner is not None and owner.pid == os.getpid()


def test_a_live_writer_on_this_host_is_respected(tmp_path: Path) -> None:
    target = tmp_path / "dataset"
    path = _write_lock(target, f"{this_host()} {os.getppid()} {time.time() - 10 * 86400}\n")
    with pytest.raises(OutputError, match=f"process {os.getppid()} on {this_host()}"):
        TargetLock(target).acquire()
    assert path.read_text().split()[1] == str(os.getppid())


def test_another_hosts_lock_is_kept_though_its_pid_means_nothing_here(tmp_path: Path) -> None:
    target = tmp_path / "dataset"
    path = _write_lock(target, f"node042 {_dead_pid()} {time.time() - 3600}\n")
    with pytest.raises(OutputError, match="on node042"):
        TargetLock(target).acquire()
    assert path.read_text().startswith("node042 ")


def test_another_hosts_lock_is_stale_after_a_day(tmp_path: Path) -> None:
    target = tmp_path / "dataset"
    started = time.time() - _fs.FOREIGN_LOCK_STALE_S - 60
    _write_lock(target, f"node042 {os.getpid()} {started}\n")
    lock = TargetLock(target)
    lock.acquire()
    owner = read_owner(lock.path)
    assert lock.held and owner is not None and owner.host == this_host()


def test_a_bare_pid_from_older_versions_counts_as_this_hosts(tmp_path: Path) -> None:
    target = tmp_path / "dataset"
    _write_lock(target, f"{os.getppid()}\n")
    with pytest.raises(OutputError, match="another writer"):
        TargetLock(target).acquire()
    _write_lock(target, f"{_dead_pid()}\n")
    TargetLock(target).acquire()


def test_an_unreadable_lock_is_stale_only_when_old(tmp_path: Path) -> None:
    target = tmp_path / "dataset"
    _write_lock(target, "")  # a writer between creating the file and writing its line
    with pytest.raises(OutputError, match="another writer"):
        TargetLock(target).acquire()
    _write_lock(target, "garbage", age_s=_fs.UNREADABLE_LOCK_STALE_S + 5)
    TargetLock(target).acquire()


def test_acquire_waits_for_the_holder_to_release(tmp_path: Path) -> None:
    target = tmp_path / "dataset"
    first = TargetLock(target)
    first.acquire()
    threading.Timer(0.3, first.release).start()
    second = TargetLock(target)
    second.acquire(wait_s=30)
    owner = read_owner(second.path)
    assert second.held and owner is not None and owner.pid == os.getpid()


def test_acquire_gives_up_after_the_wait(tmp_path: Path) -> None:
    target = tmp_path / "dataset"
    held = TargetLock(target)
    held.acquire()
    with pytest.raises(OutputError, match="another writer"):
        TargetLock(target).acquire(wait_s=0.2)
    assert held.path.exists()


def test_breaking_a_stale_lock_never_removes_a_fresh_one(tmp_path: Path) -> None:
    """A writer that judged the old lock stale, but another took a fresh one meanwhile."""
    target = tmp_path / "dataset"
    stale = f"{this_host()} {_dead_pid()} 0\n"
    fresh = f"{this_host()} {os.getpid()} {time.time()}\n"
    _write_lock(target, fresh)
    TargetLock(target)._break(stale)
    assert lock_path(target).read_text() == fresh
    assert [p.name for p in tmp_path.iterdir()] == [lock_path(target).name]
