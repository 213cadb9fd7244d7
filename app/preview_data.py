"""Adapters that give the linked preview lazy ``(c, t, h, w)`` movies and ``(neurons, t)`` responses.

Both read through ``openretina_data.preview`` (the core's API for viewers): a stored
movie with any axis order is a :class:`~openretina_data.preview.StimulusView`, and
responses are read one window at a time from the core's response readers (binned on the
recipe's frame times) or from a written dataset's HDF5 session file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from openretina_data.preview import StimulusView


class ResponseView:
    """Responses ``(neurons, frames)`` of one stimulus epoch, read window by window.

    Parameters
    ----------
    read
        ``read(start, stop) -> (neurons, stop - start)`` on the recording's frame clock.
    n_neurons, n_frames
        Shape of the epoch.
    offset
        First recording frame of the epoch, plus the lag being tried.
    """

    def __init__(self, read: Any, n_neurons: int, n_frames: int, offset: int) -> None:
        self.read = read
        self.shape = (n_neurons, n_frames)
        self.offset = offset

    def __getitem__(self, index: tuple[Any, slice]) -> np.ndarray:
        rows, frames = index
        start, stop, _ = frames.indices(self.shape[1])
        block = np.asarray(self.read(self.offset + start, self.offset + stop), dtype=np.float32)
        return block[rows]


def dataset_session_file(folder: Path, session: str) -> Path:
    """The session file of ``session`` in a native dataset (``.hdf5`` or ``.h5``)."""
    from openretina_data.layout import SESSION_SUFFIXES

    for suffix in SESSION_SUFFIXES:
        candidate = folder / f"{session}{suffix}"
        if candidate.exists():
            return candidate
    return folder / f"{session}.hdf5"


class TrialsView:
    """Back-to-back repeats of a test stimulus as lazy ``(trials, neurons, frames)``."""

    def __init__(
        self, read: Any, n_trials: int, n_neurons: int, n_frames: int, offset: int
    ) -> None:
        self.read = read
        self.shape = (n_trials, n_neurons, n_frames)
        self.offset = offset

    def __getitem__(self, index: tuple[Any, Any, Any]) -> np.ndarray:
        trials, neurons, frames = index
        length = self.shape[2]
        picked = range(self.shape[0])[trials] if isinstance(trials, slice) else [int(trials)]
        blocks = [
            np.asarray(
                self.read(self.offset + k * length, self.offset + (k + 1) * length), np.float32
            )
            for k in picked
        ]
        stacked = np.stack(blocks)[:, neurons, frames]
        return stacked if isinstance(trials, slice) else stacked[0]


@dataclass
class AlignmentResult:
    """What the alignment tab shows (all computed by ``openretina_data.alignment``)."""

    receptive_fields: np.ndarray  # (neurons, h, w) STA at each neuron's peak lag, channel 0
    time_courses: np.ndarray  # (neurons, lags) STA over lags 0… at the peak pixel
    lags: np.ndarray  # (lags,) frames
    score: np.ndarray  # (lags,) mean RF sharpness
    repeat_score: np.ndarray | None  # (lags,) mean over repeats, or None
    best_lag: int
    warnings: tuple[str, ...]
    frames_used: int
    suggested_lag: int  # 0 unless the scan found receptive fields at an impossible lag
    verdict: str = "aligned"  # openretina_data.alignment.Verdict
    message: str = ""  # the verdict in plain words
    null_threshold: float | None = None  # the score a real peak must beat


def suggested_lag(best_lag: int, frame_rate_hz: float, typical_latency_s: float = 0.066) -> int:
    """Lag to apply so that the RF peak lands at a typical retinal latency.

    A peak within 30–300 ms needs no change (0). A later peak means the responses are
    stamped late by about ``best_lag`` minus a typical latency; earlier peaks cannot be
    fixed by ``lag_frames`` (which only drops response frames) and also give 0.
    """
    latest = int(np.floor(0.3 * frame_rate_hz))
    if best_lag <= latest:
        return 0
    return max(best_lag - max(int(round(typical_latency_s * frame_rate_hz)), 1), 0)


def alignment_check(
    movie: StimulusView,
    responses: Any,
    frame_rate_hz: float,
    *,
    trials: Any = None,
    max_frames: int = 20_000,
    max_lag: int = 15,
) -> AlignmentResult:
    """STA receptive fields and a lag scan of one epoch (runs in a worker thread).

    ``responses`` is read for at most ``max_frames`` frames; the movie lazily in blocks.
    """
    from openretina_data.alignment import (
        lag_scan,
        rf_spatial_map,
        rf_time_course,
        spike_triggered_average,
    )

    n = min(movie.shape[1], int(responses.shape[1]), max_frames)
    stimulus = StimulusView(movie.array, movie.axes, stop=n)
    r = np.asarray(responses[:, 0:n], dtype=np.float32)
    repeats = None if trials is None else np.asarray(trials[:, :, :], dtype=np.float32)
    scan = lag_scan(
        stimulus,
        r,
        range(-max_lag, max_lag + 1),
        max_frames=None,
        repeats=repeats,
        frame_rate_hz=frame_rate_hz,
    )
    if scan.maps is not None:  # lags 0 … max_lag of the scan are the spike-triggered average
        sta = scan.maps[:, scan.lags >= 0]
    else:
        sta = spike_triggered_average(stimulus, r, n_lags=max_lag + 1, max_frames=None)
    maps = rf_spatial_map(sta)
    courses = rf_time_course(sta)
    if maps.ndim == 4:  # (neurons, c, h, w): show the first channel
        maps = maps[:, 0]
    if courses.ndim == 3:
        courses = courses[:, 0]
    repeat = None if scan.repeat_score is None else np.nanmean(scan.repeat_score, axis=0)
    return AlignmentResult(
        receptive_fields=np.asarray(maps, np.float32),
        time_courses=np.asarray(courses, np.float32),
        lags=scan.lags,
        score=scan.score,
        repeat_score=repeat,
        best_lag=scan.best_lag,
        warnings=scan.warnings,
        frames_used=n,
        suggested_lag=(
            suggested_lag(scan.best_lag, frame_rate_hz) if scan.verdict == "misaligned" else 0
        ),
        verdict=scan.verdict,
        message=scan.message,
        null_threshold=scan.null_threshold,
    )
