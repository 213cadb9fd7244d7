"""Probe picked files safely, and open source arrays lazily through ``openretina_data.sources``.

The app never opens files itself: it asks the core for a reader and slices the lazy
arrays the reader hands out. Readers stay open while a page shows them and are closed
by :meth:`ReaderCache.close_all` (the wizard calls it when it closes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.state import Probed
from app.wording import gui_words
from openretina_data.errors import OpenRetinaDataError, format_error
from openretina_data.sources import probe_isolated
from openretina_data.sources.base import SourceReader, open_source

#: Seconds a probe may take before the file is called damaged (a healthy file takes < 1 s).
PROBE_TIMEOUT_S = 30.0


def probe_path(path: str | Path) -> Probed:
    """Probe one file or folder in a child process; a problem becomes ``Probed.error``.

    The child process (``sources.probe_isolated``) has a time limit of
    :data:`PROBE_TIMEOUT_S`, so a damaged HDF5 file that makes libhdf5 loop, or a MAT
    file that crashes scipy, becomes a message in the page instead of a frozen or dead
    window. Costs about 0.2 s per path.
    """
    try:
        return Probed(path=str(path), info=probe_isolated(path, timeout_s=PROBE_TIMEOUT_S))
    except (OpenRetinaDataError, OSError, ValueError) as error:
        text = format_error(error).replace("\n  hint:", " —")
        return Probed(path=str(path), error=gui_words(text))


class ReaderCache:
    """One open reader per path, handing out lazy arrays by key."""

    def __init__(self) -> None:
        self._readers: dict[str, SourceReader] = {}

    def array(self, path: str | Path, key: str | None) -> Any:
        """A lazy array (``.shape``, ``.dtype``, slicing) for ``key`` in ``path``.

        ``key=None`` picks the only variable in the file.
        """
        text = str(path)
        reader = self._readers.get(text)
        if reader is None:
            reader = open_source(text)
            self._readers[text] = reader
        if key is None:
            keys = reader.keys()
            if len(keys) != 1:
                raise OpenRetinaDataError(
                    f"{Path(text).name} holds {len(keys)} arrays",
                    path=text,
                    hint=f"Pick one of: {', '.join(keys)}.",
                )
            key = keys[0]
        return reader.array(key)

    def close_all(self) -> None:
        """Close every reader."""
        for reader in self._readers.values():
            reader.close()
        self._readers.clear()


def movie_frame(array: Any, axes: str, t: int, channel: int = 0) -> np.ndarray:
    """Frame ``t`` of a movie stored with axis order ``axes``, as (height, width) float32.

    Only that frame is read from the lazy array.
    """
    index: list[Any] = []
    kept: list[str] = []
    for letter in axes:
        if letter == "t":
            index.append(int(t))
        elif letter == "c":
            index.append(int(channel))
        else:
            index.append(slice(None))
            kept.append(letter)
    frame = np.asarray(array[tuple(index)], dtype=np.float32)
    return frame if kept == ["h", "w"] else frame.T


def axis_length(shape: Sequence[int], axes: str, letter: str) -> int:
    """Length of axis ``letter`` (1 if absent) of an array stored as ``axes``."""
    return int(shape[axes.index(letter)]) if letter in axes else 1


@dataclass
class TriggerCheck:
    """What the Timing page shows for one trigger channel."""

    summary: str
    warnings: tuple[str, ...]
    window_s: np.ndarray  # (samples,) seconds of the plotted stretch
    window_signal: np.ndarray  # (samples,) the channel there
    edges_s: np.ndarray  # detected frame onsets inside the stretch
    dropped_s: np.ndarray  # where frames were dropped (all of them), seconds
    n_triggers: int = 0  # frame triggers detected in the whole channel


def check_trigger(
    path: str | Path,
    key: str | None,
    sampling_rate_hz: float,
    threshold: float | None,
    edge: str,
    expected_frames: int | None,
    window_s: float = 1.0,
    fill_dropped: bool = False,
) -> TriggerCheck:
    """Detect frame triggers in a channel (runs in a worker thread; opens its own reader).

    The plotted stretch starts a little before the first dropped frame, or at the first
    trigger when none was dropped, so the problem (if any) is on screen.
    """
    from openretina_data.timing import frame_times_from_signal

    with open_source(path) as reader:
        keys = reader.keys()
        channel = reader.array(key if key is not None else keys[0])
        signal = np.asarray(channel[...]).reshape(-1)
    times = frame_times_from_signal(
        signal,
        sampling_rate_hz,
        threshold=threshold,
        edge=edge,  # type: ignore[arg-type]
        expected_frames=expected_frames,
        fill_dropped=fill_dropped,
    )
    interval = times.frame_interval_s
    # Dropped frame k (numbered as if none were missing) follows the trigger of frame k-1,
    # which is trigger k-1-j when j frames were dropped before it.
    dropped = times.dropped_frames.tolist()
    before = [k - 1 - j for j, k in enumerate(dropped)]
    dropped_s = np.array(
        [times.triggers[i] + interval for i in before if 0 <= i < times.triggers.size], np.float64
    )
    start = (
        float(dropped_s[0] - 4 * interval)
        if dropped_s.size
        else float(times.triggers[0] - interval)
    )
    start = max(start, 0.0)
    first = int(start * sampling_rate_hz)
    stop = min(first + int(window_s * sampling_rate_hz), signal.size)
    seconds_axis = np.arange(first, stop) / sampling_rate_hz
    inside = (times.triggers >= start) & (times.triggers < stop / sampling_rate_hz)
    return TriggerCheck(
        summary=times.summary(),
        warnings=times.warnings,
        window_s=seconds_axis,
        window_signal=signal[first:stop].astype(np.float32),
        edges_s=times.triggers[inside],
        dropped_s=dropped_s,
        n_triggers=int(times.triggers.size),
    )
