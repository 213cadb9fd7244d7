"""Trigger edges in a sampled TTL / photodiode channel, read in blocks.

The channel may be a numpy array, a memmap or an HDF5 dataset: it is read in blocks of
samples (at most three passes: range, level histogram, edges), so a two-hour channel
at 30 kHz never has to fit in memory.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from openretina_data.errors import NonFiniteError, ShapeError, TimingError
from openretina_data.timing._report import count, seconds
from openretina_data.timing.frames import FrameTimes, frame_times_from_triggers

# Samples read and thresholded at once.
_BLOCK_SAMPLES = 1 << 22
# Resolution of the level histogram used to find the default threshold.
_LEVEL_BINS = 4096


def detect_edges(
    signal: Any,
    sampling_rate_hz: float,
    *,
    threshold: float | None = None,
    edge: Literal["rising", "falling"] = "rising",
    debounce_s: float = 0.0,
    bit: int | None = None,
    start_s: float = 0.0,
) -> NDArray[np.float64]:
    """Times of trigger edges in a sampled channel.

    Parameters
    ----------
    signal : (samples,) numeric or bool array-like
        The channel (array, memmap or h5py dataset). Analog values are thresholded; a
        digital word can be reduced to one line with ``bit``.
    sampling_rate_hz : float, Hz
        Sampling rate of the channel.
    threshold : float, optional
        Level that separates low from high, in the signal's units. Default: midway
        between the typical low and high levels (the medians of the samples below and
        above the middle of the 0.01–99.99 % range). Ignored for bool signals and ``bit``.
    edge : {"rising", "falling"}
        Which transition marks a frame.
    debounce_s : float, seconds
        An edge less than this after the previous edge is bounce or ringing: ignored.
    bit : int, optional
        Use bit ``bit`` of an integer digital-word channel.
    start_s : float, seconds
        Time of sample 0 on the response clock.

    Returns
    -------
    (edges,) float64, seconds
        Time of the first sample past the threshold, for each edge.
    """
    data = signal if hasattr(signal, "shape") and hasattr(signal, "dtype") else np.asarray(signal)
    if len(data.shape) != 1:
        raise ShapeError(
            f"a trigger channel must be 1-D (samples,), got shape {data.shape}",
            hint="Pick one channel of the multi-channel array.",
        )
    if not np.isfinite(sampling_rate_hz) or sampling_rate_hz <= 0:
        raise TimingError(
            f"sampling rate must be a positive number of Hz, got {sampling_rate_hz!r}",
            hint="State the trigger channel's sampling rate in Hz.",
        )
    dtype = np.dtype(data.dtype)
    if bit is not None and not np.issubdtype(dtype, np.integer):
        raise TimingError(
            f"bit={bit} needs an integer digital-word channel, got dtype {dtype}",
            hint="Leave bit unset for analog channels.",
        )
    analog = bit is None and dtype.kind != "b"
    level = 0.0
    if analog:
        level = trigger_threshold(data) if threshold is None else float(threshold)

    n_samples = int(data.shape[0])
    found: list[NDArray[np.int64]] = []
    previous: NDArray[np.bool_] = np.zeros(0, dtype=bool)
    for first in range(0, n_samples, _BLOCK_SAMPLES):
        block = np.asarray(data[first : first + _BLOCK_SAMPLES])
        if bit is not None:
            high = ((block.astype(np.int64) >> bit) & 1).astype(bool)
        elif not analog:
            high = block.astype(bool, copy=False)
        else:
            _check_finite(block, first)
            high = block > level
        joined = np.concatenate([previous, high])
        wanted = ~joined[:-1] & joined[1:] if edge == "rising" else joined[:-1] & ~joined[1:]
        found.append(np.flatnonzero(wanted) + first - previous.size + 1)
        previous = high[-1:]
    index = np.concatenate(found) if found else np.zeros(0, np.int64)
    if debounce_s > 0 and index.size > 1:
        gap = np.diff(index) / sampling_rate_hz
        index = index[np.concatenate([[True], gap >= debounce_s])]
    return start_s + index / float(sampling_rate_hz)


def _check_finite(block: NDArray[Any], first: int) -> None:
    if np.issubdtype(block.dtype, np.floating) and not np.all(np.isfinite(block)):
        bad = int(np.flatnonzero(~np.isfinite(block))[0]) + first
        raise NonFiniteError(
            f"the trigger channel has NaN/Inf samples, first at sample {count(bad)}",
            hint="Cut the channel to the part that was recorded, or fill the gap.",
        )


def trigger_threshold(data: Any) -> float:
    """The default threshold of :func:`detect_edges`: midway between the typical low and high level.

    Parameters
    ----------
    data : (samples,) numeric array-like
        An analog channel (array, memmap, h5py dataset), read in blocks.

    Returns
    -------
    float
        In the signal's units (e.g. for drawing the threshold line over the trace).
    """
    n_samples = int(data.shape[0])
    if n_samples < 2:
        raise TimingError(
            "the trigger channel has fewer than 2 samples",
            hint="Pick the channel that carries the frame triggers.",
        )
    lowest, highest = np.inf, -np.inf
    for first in range(0, n_samples, _BLOCK_SAMPLES):
        block = np.asarray(data[first : first + _BLOCK_SAMPLES])
        _check_finite(block, first)
        lowest, highest = min(lowest, float(block.min())), max(highest, float(block.max()))
    if highest <= lowest:
        raise TimingError(
            f"the trigger channel is flat (always {lowest:.6g}): no pulses to detect",
            hint="Pick the channel that carries the frame triggers.",
        )
    histogram = np.zeros(_LEVEL_BINS, dtype=np.int64)
    for first in range(0, n_samples, _BLOCK_SAMPLES):
        block = np.asarray(data[first : first + _BLOCK_SAMPLES])
        histogram += np.histogram(block, bins=_LEVEL_BINS, range=(lowest, highest))[0]
    centres = lowest + (np.arange(_LEVEL_BINS) + 0.5) * (highest - lowest) / _LEVEL_BINS
    cumulative = np.cumsum(histogram)
    low_guess, high_guess = centres[
        np.searchsorted(cumulative, np.array([1e-4, 1 - 1e-4]) * cumulative[-1])
    ]
    if high_guess <= low_guess:
        raise TimingError(
            f"the trigger channel is flat apart from rare outliers (about {low_guess:.6g}): "
            "no pulses to detect",
            hint="Pick the channel that carries the frame triggers, or give a threshold.",
        )
    middle = 0.5 * (low_guess + high_guess)
    below = centres <= middle
    return 0.5 * (
        _weighted_median(centres[below], histogram[below])
        + _weighted_median(centres[~below], histogram[~below])
    )


def _weighted_median(values: NDArray[np.float64], weights: NDArray[np.int64]) -> float:
    cumulative = np.cumsum(weights)
    return float(values[np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def frame_times_from_signal(
    signal: Any,
    sampling_rate_hz: float,
    *,
    threshold: float | None = None,
    edge: Literal["rising", "falling"] = "rising",
    debounce_s: float = 0.0,
    bit: int | None = None,
    start_s: float = 0.0,
    expected_frames: int | None = None,
    frames_per_trigger: int = 1,
    fill_dropped: bool = False,
    drop_duplicates: bool = False,
    tolerance: float = 0.25,
    max_missing_per_gap: int = 10,
) -> FrameTimes:
    """:func:`detect_edges` then :func:`~openretina_data.timing.frames.frame_times_from_triggers`.

    See both for the parameters. The result's first note says how many edges were found.
    """
    triggers = detect_edges(
        signal,
        sampling_rate_hz,
        threshold=threshold,
        edge=edge,
        debounce_s=debounce_s,
        bit=bit,
        start_s=start_s,
    )
    if triggers.size < 2:
        raise TimingError(
            f"found {triggers.size} {edge} edges in the trigger channel; need at least 2",
            hint="Check the channel, the threshold and the edge direction.",
        )
    result = frame_times_from_triggers(
        triggers,
        expected_frames=expected_frames,
        frames_per_trigger=frames_per_trigger,
        fill_dropped=fill_dropped,
        drop_duplicates=drop_duplicates,
        tolerance=tolerance,
        max_missing_per_gap=max_missing_per_gap,
    )
    note = f"{count(triggers.size)} {edge} edges detected at {sampling_rate_hz:.6g} Hz"
    if bit is not None:
        note += f" on bit {bit}"
    elif threshold is not None:
        note += f", threshold {threshold:.6g}"
    if debounce_s > 0:
        note += f", debounce {seconds(debounce_s)}"
    return replace(result, notes=(note, *result.notes))


__all__ = ["detect_edges", "frame_times_from_signal", "trigger_threshold"]
