"""Run one conversion in a worker thread: Convert/Cancel, progress, time left, a log.

Shared by the Write page (a recipe) and the published-dataset page (a preset): both
hand :meth:`ConversionRunner.run` a function that returns the core's conversion
generator, whose every yield is a ``convert.Progress`` and a place to stop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.workers import BackgroundTask
from openretina_data.errors import CancelledError, format_error

#: Outcomes of one run: "" (not run or running), "done", "cancelled", "failed".
OUTCOMES = ("", "done", "cancelled", "failed")


class ConversionRunner(QWidget):
    """Convert and Cancel buttons, a progress bar with elapsed / remaining time, a log pane.

    The Convert button only emits :attr:`convert_requested`; the page checks that it
    can convert and then calls :meth:`run`.

    Signals
    -------
    convert_requested()  the user pressed Convert
    ended(str)           the run ended: "done", "cancelled" or "failed"
    """

    convert_requested = Signal()
    ended = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.convert_button = QPushButton("&Convert")
        self.convert_button.setToolTip(
            "Write the dataset (in the background; the window stays usable)"
        )
        self.convert_button.clicked.connect(self.convert_requested)
        self.cancel_button = QPushButton("C&ancel")
        self.cancel_button.setToolTip("Stop now; nothing half-written is kept")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.timing = QLabel()
        self.open_button = QPushButton("&Open folder")
        self.open_button.setToolTip("Show the written dataset in the file manager")
        self.open_button.clicked.connect(self.open_folder)
        self.open_button.setEnabled(False)
        self.controls = QHBoxLayout()
        self.controls.setContentsMargins(0, 0, 0, 0)
        for widget in (self.convert_button, self.cancel_button):
            self.controls.addWidget(widget)
        self.controls.addWidget(self.progress, 1)
        self.controls.addWidget(self.timing)
        self.controls.addWidget(self.open_button)
        self.log = QPlainTextEdit()
        self.log.setObjectName("log")
        self.log.setReadOnly(True)
        self.log.setToolTip("What the conversion did, step by step")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.controls)
        layout.addWidget(self.log, 1)
        self.task: BackgroundTask | None = None
        self.outcome = ""
        self.target = ""
        self._started = 0.0
        self._last: tuple[int, int] = (0, 0)
        self._clock = QTimer(self)
        self._clock.setInterval(500)
        self._clock.timeout.connect(self._tick)

    def add_button(self, button: QPushButton) -> None:
        """Put ``button`` at the end of the button row (e.g. the Write page's Save recipe)."""
        self.controls.addWidget(button)

    def busy(self) -> bool:
        """True while a conversion runs."""
        return self.task is not None and self.task.running

    def run(self, make: Callable[[], Iterator[Any]], target: str | Path) -> None:
        """Start ``make()``'s generator in a worker thread; ``target`` is the dataset folder."""
        if self.busy():
            return
        self.log.clear()
        self.outcome = ""
        self.target = str(target)
        self._log(f"Converting into {self.target}")
        # Every Progress reaches the log (convert yields once per slab, not per frame).
        self.task = BackgroundTask(make, self, min_interval_s=0.0)
        self.task.progress.connect(self._progress)
        self.task.finished.connect(self._done)
        self.task.failed.connect(self._failed)
        self.task.cancelled.connect(self._cancelled)
        self._started = time.monotonic()
        self._last = (0, 0)
        self.progress.setValue(0)
        self.convert_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.open_button.setEnabled(False)
        self._clock.start()
        self.task.start()

    def reset(self) -> None:
        """Back to "not run yet": empty log, empty bar, no outcome (New conversion)."""
        if self.busy():
            return
        self.log.clear()
        self.outcome, self.target = "", ""
        self.progress.setValue(0)
        self.timing.setText("")
        self.open_button.setEnabled(False)
        self.convert_button.setEnabled(False)

    def cancel(self) -> None:
        """Ask the conversion to stop at its next step."""
        if self.busy() and self.task is not None:
            self._log("Cancelling at the next step…")
            self.task.cancel()

    def cancel_and_wait(self) -> None:
        """Cancel and wait for the worker (window closing only)."""
        if self.task is not None:
            self.task.cancel()
            self.task.wait()

    def stop_clock(self) -> None:
        """Stop the elapsed-time clock (window closing)."""
        self._clock.stop()

    def open_folder(self) -> None:
        """Open the written dataset folder in the desktop's file manager."""
        if self.outcome == "done":
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.target))

    def _progress(self, event: Any) -> None:
        done, total = int(getattr(event, "done", 0)), int(getattr(event, "total", 0) or 0)
        self._last = (done, total)
        if total:
            self.progress.setMaximum(total)
            self.progress.setValue(min(done, total))
        message = getattr(event, "message", "")
        step = getattr(event, "step", "")
        if message:
            self._log(f"[{step}] {message}" if step else str(message))
        self._tick()

    def _tick(self) -> None:
        elapsed = time.monotonic() - self._started
        done, total = self._last
        if not self.busy():
            self.timing.setText(f"took {elapsed:.1f} s")
            return
        text = f"{elapsed:.0f} s elapsed"
        if total and done:
            text += f", about {elapsed * (total - done) / done:.0f} s left"
        self.timing.setText(text)

    def _finish(self, outcome: str) -> None:
        self.outcome = outcome
        self._clock.stop()
        self._tick()
        self.cancel_button.setEnabled(False)
        self.convert_button.setEnabled(True)
        self.ended.emit(outcome)

    def _done(self, result: Any) -> None:
        self.progress.setValue(self.progress.maximum())
        self._log(f"Done: {self.target}")
        self.open_button.setEnabled(True)
        self._finish("done")

    def _failed(self, error: BaseException) -> None:
        if isinstance(error, CancelledError):
            self._cancelled()
            return
        self._log(f"Failed, nothing was written:\n{format_error(error)}")
        self._finish("failed")

    def _cancelled(self) -> None:
        self._log("Cancelled: nothing was written.")
        self._finish("cancelled")

    def _log(self, line: str) -> None:
        self.log.appendPlainText(line)
