"""The background worker: progress per yield, results, errors, cancel at a yield."""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator

from pytestqt.qtbot import QtBot

from app.workers import BackgroundTask
from openretina_data.errors import UnreadableSourceError


def test_a_generator_reports_progress_and_its_return_value(qtbot: QtBot) -> None:
    seen: list[int] = []
    threads: set[int] = set()

    def work() -> Generator[int, None, str]:
        for i in range(5):
            threads.add(threading.get_ident())
            yield i
        return "done"

    task = BackgroundTask(work, min_interval_s=0.0)
    task.progress.connect(seen.append)
    with qtbot.waitSignal(task.finished, timeout=5000) as finished:
        task.start()
    assert finished.args == ["done"]
    assert seen == [0, 1, 2, 3, 4]
    assert threading.get_ident() not in threads  # the work ran off the UI thread
    assert not task.running
    task.wait()


def test_errors_come_back_as_the_exception(qtbot: QtBot) -> None:
    def work() -> None:
        raise UnreadableSourceError("truncated", path="x.npy")

    task = BackgroundTask(work)
    with qtbot.waitSignal(task.failed, timeout=5000) as failed:
        task.start()
    assert isinstance(failed.args[0], UnreadableSourceError)
    task.wait()


def test_cancel_stops_at_the_next_yield_and_runs_cleanup(qtbot: QtBot) -> None:
    release = threading.Event()
    cleaned: list[bool] = []
    steps: list[int] = []

    def work() -> Iterator[int]:
        try:
            for i in range(1000):
                steps.append(i)
                yield i
                release.wait(5)
        finally:
            cleaned.append(True)

    task = BackgroundTask(work, min_interval_s=0.0)
    with qtbot.waitSignal(task.progress, timeout=5000):
        task.start()
    task.cancel()
    with qtbot.waitSignal(task.cancelled, timeout=5000):
        release.set()
    task.wait()
    assert cleaned == [True]
    assert len(steps) < 1000


def test_waiting_never_depends_on_the_ui_delivering_signals(qtbot: QtBot) -> None:
    task = BackgroundTask(lambda: 42)
    task.start()
    # No event processing here: the worker must end its thread on its own.
    assert task.wait(5000)
    with qtbot.waitSignal(task.finished, timeout=5000) as finished:
        pass  # the queued result is still delivered afterwards
    assert finished.args == [42]
