"""A tiny progress display: a redrawn bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 30


class ProgressPrinter:
    """Show ``done`` of ``total`` with a message; call :meth:`close` at the end.

    On a terminal the bar is redrawn in place (at most 10 times a second); in a log
    file or pipe one line is printed per step change and per 10 % of progress.
    """

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_draw = 0.0
        self._last_step: str | None = None
        self._last_tenth = -1
        self._drawn = False

    def update(self, step: str, done: int, total: int, message: str) -> None:
        if self.quiet:
            return
        fraction = min(max(done / total, 0.0), 1.0) if total > 0 else 0.0
        if self.tty:
            now = time.monotonic()
            if now - self._last_draw < 0.1 and fraction < 1.0 and step == self._last_step:
                return
            self._last_draw = now
            filled = int(round(fraction * BAR_WIDTH))
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            line = f"\r[{bar}] {fraction * 100:5.1f}%  {step}: {message}"
            self.stream.write(line[:120].ljust(120))
            self.stream.flush()
            self._drawn = True
        else:
            tenth = int(fraction * 10)
            if step != self._last_step or tenth != self._last_tenth:
                self.stream.write(f"{fraction * 100:5.1f}%  {step}: {message}\n")
                self.stream.flush()
                self._last_tenth = tenth
        self._last_step = step

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
