"""Peak memory of this process, sampled in a background thread (Linux ``/proc``).

``RssAnon`` is memory only this process holds (arrays, tensors, the interpreter);
``VmRSS`` adds file-backed pages such as memory-mapped stimuli, which are page cache
the kernel can reclaim. Dataloader budgets are stated in peak ``RssAnon``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType

_STATUS = Path("/proc/self/status")


def read_status_kib() -> dict[str, int]:
    """``{"RssAnon": KiB, "VmRSS": KiB, "VmHWM": KiB}`` now; empty where /proc is missing."""
    try:
        text = _STATUS.read_text()
    except OSError:
        return {}
    values = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("RssAnon", "VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


class PeakMemory:
    """Context manager sampling ``RssAnon`` and ``VmRSS`` every ``interval_s`` seconds.

    After the block, ``peak_anon_mib`` and ``peak_rss_mib`` hold the largest values
    seen (None where /proc is unavailable).
    """

    def __init__(self, interval_s: float = 0.02) -> None:
        self.interval_s = interval_s
        self.peak_anon_mib: float | None = None
        self.peak_rss_mib: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        """Read /proc once and raise the peaks if this sample is higher."""
        status = read_status_kib()
        if not status:
            return
        anon, rss = status["RssAnon"] / 1024, status["VmRSS"] / 1024
        self.peak_anon_mib = anon if self.peak_anon_mib is None else max(self.peak_anon_mib, anon)
        self.peak_rss_mib = rss if self.peak_rss_mib is None else max(self.peak_rss_mib, rss)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def __enter__(self) -> PeakMemory:
        self.sample()
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()
