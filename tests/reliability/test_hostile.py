"""What the hostile review did to whole processes: Ctrl-C, killed workers, bugs, full disks.

Each test runs the real ``openretina-data`` command (a child process) on the bundled
example and checks what a user sees: the exit code, no Python traceback, nothing left
in or beside the output, the sources unchanged. The corpus cases of the same review
(data loss, duplicate keys, names, tables, FIFOs) are in
:mod:`openretina_data.testing.corrupt_hostile` and run by ``test_corpus.py``.
"""

from __future__ import annotations

import errno
import hashlib
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from openretina_data.cli import main
from openretina_data.crash import explain, working_on
from openretina_data.example import create_example

COMMAND = [sys.executable, "-c", "from openretina_data.cli import run; run()"]


@pytest.fixture
def example(tmp_path: Path) -> Path:
    create_example(tmp_path / "ex")
    return tmp_path / "ex"


def _digests(folder: Path) -> dict[str, str]:
    return {
        os.fspath(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _nothing_written(folder: Path, before: dict[str, str]) -> None:
    assert _digests(folder) == before  # no source changed, and no file appeared
    assert not (folder / "dataset").exists()
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".dataset")]


def _workers(pid: int) -> list[int]:
    """The spawn workers among ``pid``'s children (not the resource tracker)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    found = []
    for child in children:
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(int(child))
        except OSError:
            continue
    return found


def _wait_for_workers(process: subprocess.Popen[str], count: int) -> list[int]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        found = _workers(process.pid)
        if len(found) >= count:
            return found
        time.sleep(0.01)
    pytest.fail("the workers never started")


pytestmark = pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux /proc")


def _loaded(pid: int, library: str) -> bool:
    try:
        return library in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


@pytest.mark.parametrize("library", ["_multiarray_umath", "h5py"])
def test_ctrl_c_while_importing_exits_130_without_a_traceback(example: Path, library: str) -> None:
    """Ctrl-C while the subcommands are imported (numpy, h5py) used to print a traceback."""
    process = subprocess.Popen(
        [*COMMAND, "plan", "recipe.yaml"], cwd=example, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not _loaded(process.pid, library) and time.monotonic() < deadline:
        time.sleep(0.002)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert "Traceback" not in err, err
    assert process.returncode in (130, 0), err  # 0: it finished before the signal


def test_ctrl_c_to_the_process_group_with_jobs_leaves_nothing(example: Path) -> None:
    """The terminal sends Ctrl-C to every process: workers must stay quiet, the parent cleans up."""
    before = _digests(example)
    process = subprocess.Popen(
        [*COMMAND, "convert", "recipe.yaml", "--jobs", "2", "--quiet"],
        cwd=example,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    _wait_for_workers(process, 2)
    time.sleep(0.2)  # the workers are importing: the moment that printed a traceback each
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert process.returncode == 130, err
    _nothing_written(example, before)


def test_a_killed_worker_is_named_and_leaves_nothing(example: Path) -> None:
    """A worker killed as the OOM killer would (SIGKILL) gave BrokenProcessPool."""
    before = _digests(example)
    process = subprocess.Popen(
        [*COMMAND, "convert", "recipe.yaml", "--jobs", "2", "--quiet"],
        cwd=example,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.kill(_wait_for_workers(process, 1)[0], signal.SIGKILL)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 1, err
    assert "Traceback" not in err and "BrokenProcessPool" not in err, err
    assert "worker process" in err and "died" in err and "session_0" in err
    assert "--jobs" in err  # what to do
    _nothing_written(example, before)


def test_a_bug_becomes_one_message_and_a_crash_report(
    example: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Any exception that is not ours: 'a bug', where, and a report with what to send."""
    import openretina_data.cli.plan as plan_command

    def broken(*args: object, **kwargs: object) -> None:
        with working_on(session="session_01", path="raw/session_01/phy"):
            raise ZeroDivisionError("an internal slip")

    monkeypatch.setattr(plan_command, "plan", broken)
    monkeypatch.setenv("OPENRETINA_DATA_CRASH_DIR", str(tmp_path / "crashes"))
    code = main(["plan", str(example / "recipe.yaml")])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "this is a bug in openretina-data (ZeroDivisionError: an internal slip)" in err
    assert "session 'session_01', file 'raw/session_01/phy'" in err
    reports = list((tmp_path / "crashes").iterdir())
    assert len(reports) == 1 and str(reports[0]) in err
    report = reports[0].read_text()
    assert "Traceback" in report and "ZeroDivisionError" in report
    assert "openretina-data plan" in report and "numpy" in report
    assert (example / "recipe.yaml").read_text() in report  # the recipe, to reproduce it


def test_out_of_memory_and_a_full_disk_are_not_called_bugs(tmp_path: Path) -> None:
    full = explain(OSError(errno.ENOSPC, "No space left on device", "x.hdf5"))
    assert full.startswith("error: the disk is full") and "Free disk space" in full
    memory = explain(MemoryError())
    assert memory.startswith("error: ran out of memory") and "--jobs" in memory


@pytest.mark.parametrize("limit", [40_000, 120_000])
def test_a_write_that_hits_the_size_limit_fails_cleanly(example: Path, limit: int) -> None:
    """RLIMIT_FSIZE makes writes fail with EFBIG, as a full disk fails them with ENOSPC."""
    before = _digests(example)

    def limited() -> None:  # in the child, before exec: an ignored signal stays ignored
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run(
        [*COMMAND, "convert", "recipe.yaml", "--quiet"],
        cwd=example,
        capture_output=True,
        text=True,
        preexec_fn=limited,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "could not be written" in result.stderr
    _nothing_written(example, before)


WRITE_SESSION = """
import os, sys
import numpy as np
from openretina_data.errors import OutputError
from openretina_data.layout.writer import DatasetWriter
try:
    with DatasetWriter("out") as writer:
        writer.write_stimulus("a", np.zeros((1, 100, 2, 2), np.float32))
        session = writer.create_session("s")
        session.write_responses("a", np.random.default_rng(0).random((2000, 100)).astype(np.float32))
except OutputError as error:
    print("CLEAN", error)
print("LEFT", sorted(os.listdir(".")))
"""


@pytest.mark.parametrize("limit", [20_000, 400_000, 790_000])
def test_h5py_closing_on_a_full_disk_is_an_output_error(tmp_path: Path, limit: int) -> None:
    """h5py's close after a failed write raised 'Can't decrement id ref count' (then SIGSEGV)."""

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run(
        [sys.executable, "-c", WRITE_SESSION],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        preexec_fn=limited,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]  # no crash, no signal
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "CLEAN the dataset could not be written" in result.stdout
    assert "LEFT []" in result.stdout  # no session file, no temporary folder
