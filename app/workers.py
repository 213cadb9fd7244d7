"""Run long work off the UI thread: a generator whose every ``yield`` is a progress step.

The pattern is superqt's ``create_worker``: the worker iterates a generator in a
``QThread``; each yielded value is sent to the UI as ``progress`` and is also the only
place where a cancel request is honoured (the generator is ``close()``-d there, so its
``finally`` blocks clean up). A plain function runs the same way as a one-step task.
The UI thread never sleeps or blocks on the worker.

Examples
--------
>>> task = BackgroundTask(lambda: convert(recipe))          # doctest: +SKIP
>>> task.progress.connect(bar.update); task.finished.connect(done)
>>> task.start()
>>> task.cancel()   # honoured at the next yield
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot


class _Runner(QObject):
    """Lives in the worker thread; iterates the generator and reports through signals."""

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(object)
    cancelled = Signal()

    def __init__(self, make: Callable[[], Any], min_interval_s: float) -> None:
        super().__init__()
        self._make = make
        self._min_interval_s = min_interval_s
        self.cancel_requested = False

    @Slot()
    def run(self) -> None:
        try:
            self._run()
        finally:
            # End the thread's event loop from inside: the UI may be blocked in wait().
            thread = QThread.currentThread()
            if thread is not None:
                thread.quit()

    def _run(self) -> None:
        try:
            produced = self._make()
            if not isinstance(produced, Iterator):
                if self.cancel_requested:
                    self.cancelled.emit()
                else:
                    self.finished.emit(produced)
                return
            result = self._drive(produced)
        except BaseException as error:  # everything goes back to the UI
            self.failed.emit(error)
            return
        if self.cancel_requested:
            self.cancelled.emit()
        else:
            self.finished.emit(result)

    def _drive(self, generator: Iterator[Any]) -> Any:
        last_emit = 0.0
        pending: Any = None
        has_pending = False
        while True:
            if self.cancel_requested:
                close = getattr(generator, "close", None)
                if close is not None:
                    close()
                return None
            try:
                item = next(generator)
            except StopIteration as stop:
                if has_pending:
                    self.progress.emit(pending)
                return stop.value
            now = time.monotonic()
            # Throttle: the UI gets at most one update per interval (the last one wins).
            if now - last_emit >= self._min_interval_s:
                self.progress.emit(item)
                last_emit, has_pending = now, False
            else:
                pending, has_pending = item, True


class BackgroundTask(QObject):
    """One piece of long work in its own ``QThread``.

    Parameters
    ----------
    make
        Called in the worker thread. If it returns a generator, every yielded item is
        a progress step and a cancellation point, and the generator's return value is
        the result; otherwise its return value is the result.
    min_interval_s
        Progress updates closer together than this are coalesced (the newest wins).

    Signals
    -------
    progress(object)  a yielded item
    finished(object)  the result
    failed(object)    the exception raised (shown to the user via ``format_error``)
    cancelled()       the work stopped at a yield after :meth:`cancel`
    """

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(object)
    cancelled = Signal()

    def __init__(
        self,
        make: Callable[[], Any],
        parent: QObject | None = None,
        *,
        min_interval_s: float = 0.03,
    ) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._runner = _Runner(make, min_interval_s)
        self._runner.moveToThread(self._thread)
        self._thread.started.connect(self._runner.run)
        self._runner.progress.connect(self.progress)
        for signal, handler in (
            (self._runner.finished, self._on_finished),
            (self._runner.failed, self._on_failed),
            (self._runner.cancelled, self._on_cancelled),
        ):
            signal.connect(handler)
        self._running = False

    @property
    def running(self) -> bool:
        """True between :meth:`start` and the final signal."""
        return self._running

    def start(self) -> None:
        """Start the work in its thread; returns at once."""
        self._running = True
        self._thread.start()

    def cancel(self) -> None:
        """Ask the work to stop at its next yield (returns at once)."""
        self._runner.cancel_requested = True

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Block until the thread ends (for shutdown and tests only, never in a slot)."""
        return bool(self._thread.wait(timeout_ms))

    def _end(self) -> None:
        self._running = False
        self._thread.quit()

    def _on_finished(self, result: object) -> None:
        self._end()
        self.finished.emit(result)

    def _on_failed(self, error: object) -> None:
        self._end()
        self.failed.emit(error)

    def _on_cancelled(self) -> None:
        self._end()
        self.cancelled.emit()
