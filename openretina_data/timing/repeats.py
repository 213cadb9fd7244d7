"""Test repeats: cut responses into ``(trials, neurons, time)``, average, and score reliability.

Reliability is a per-neuron correlation between independent halves of the trials:
``split_half_reliability`` correlates the means of two halves and applies the
Spearman-Brown correction (the reliability of the mean of all trials);
``leave_one_out_reliability`` averages, over trials, the correlation of one trial with
the mean of the others. Neurons whose response is constant get NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from openretina_data.errors import ShapeError, TimingError
from openretina_data.timing._report import count, listing


@dataclass(frozen=True)
class RepeatSplit:
    """Responses to repeated presentations of one test stimulus.

    Attributes
    ----------
    by_trial : (trials, neurons, time) float
        One slice of the responses per repeat (``test_by_trial_<stim>`` in the layout).
    mean : (neurons, time) float
        Mean over trials (``responses_<stim>`` in the layout).
    onsets : (trials,) int64
        First frame of each trial in the input responses.
    warnings : tuple of str
    """

    by_trial: NDArray[np.floating]
    mean: NDArray[np.floating]
    onsets: NDArray[np.int64]
    warnings: tuple[str, ...] = ()


def split_repeats(
    responses: ArrayLike, onsets: ArrayLike, length: int | None = None
) -> RepeatSplit:
    """Cut ``(neurons, time)`` responses at repeat onsets into ``(trials, neurons, length)``.

    Parameters
    ----------
    responses : (neurons, time) float
        Responses on stimulus frames.
    onsets : (trials,) int, frames
        First frame of each repeat, increasing.
    length : int, frames, optional
        Frames per repeat; default the shortest distance between onsets (and from the
        last onset to the end).
    """
    data = np.asarray(responses)
    starts = np.asarray(onsets, dtype=np.int64).ravel()
    if data.ndim != 2:
        raise ShapeError(
            f"responses must be (neurons, time), got shape {data.shape}",
            hint="Bin or resample the responses onto frames first.",
        )
    if starts.size < 1:
        raise TimingError("no repeat onsets given", hint="Pass the first frame of each repeat.")
    if np.any(np.diff(starts) <= 0) or starts[0] < 0:
        raise TimingError(
            f"repeat onsets must be non-negative and increasing, got {listing(starts)}",
            hint="Give onsets as frame indices in presentation order.",
        )
    n_time = data.shape[1]
    if length is None:
        length = int(np.min(np.diff(np.append(starts, n_time))))
    if length < 1 or starts[-1] + length > n_time:
        raise TimingError(
            f"repeats of {count(length)} frames from onsets {listing(starts)} do not fit "
            f"into {count(n_time)} response frames",
            hint="Check the repeat length and that the responses cover every repeat.",
        )
    window = starts[:, None] + np.arange(length)
    by_trial = np.ascontiguousarray(np.moveaxis(data[:, window], 1, 0))
    return RepeatSplit(by_trial=by_trial, mean=by_trial.mean(axis=0), onsets=starts)


def split_trials(responses: ArrayLike, epochs: ArrayLike) -> RepeatSplit:
    """Cut responses by given ``(start, stop)`` frame ranges, one per trial.

    Trials of unequal length are cut to the shortest, and the result says how much was cut.

    Parameters
    ----------
    responses : (neurons, time) float
    epochs : (trials, 2) int, frames
        Half-open ``[start, stop)`` frame ranges.
    """
    ranges = np.asarray(epochs, dtype=np.int64)
    if ranges.ndim != 2 or ranges.shape[1] != 2 or ranges.shape[0] < 1:
        raise ShapeError(
            f"trial epochs must be (trials, 2) start/stop frames, got shape {ranges.shape}",
            hint="Give one [start, stop) pair of frame indices per trial.",
        )
    lengths = ranges[:, 1] - ranges[:, 0]
    shortest = int(lengths.min())
    result = split_repeats(responses, ranges[:, 0], shortest)
    if np.any(lengths != shortest):
        longer = np.flatnonzero(lengths != shortest)
        message = (
            f"trials differ in length ({count(shortest)} to {count(int(lengths.max()))} frames); "
            f"{count(longer.size)} trials (numbers {listing(longer)}) were cut to {count(shortest)} frames"
        )
        return RepeatSplit(result.by_trial, result.mean, result.onsets, (message,))
    return result


def _correlate(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """Pearson correlation along the last axis; NaN where either side is constant."""
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    denominator = np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a * b).sum(axis=-1) / denominator
    return np.where(denominator > 0, r, np.nan)


def _trials(by_trial: ArrayLike) -> NDArray[np.float64]:
    data = np.asarray(by_trial, dtype=np.float64)
    if data.ndim != 3 or data.shape[0] < 2:
        raise ShapeError(
            f"reliability needs (trials >= 2, neurons, time), got shape {data.shape}",
            hint="Pass the by_trial array of a test stimulus shown at least twice.",
        )
    return data


def split_half_reliability(
    by_trial: ArrayLike, *, n_splits: int = 0, seed: int = 0
) -> NDArray[np.float64]:
    """Spearman-Brown corrected split-half correlation per neuron.

    Parameters
    ----------
    by_trial : (trials, neurons, time) float
    n_splits : int
        0: one split into even and odd trials. Otherwise the mean correlation over
        ``n_splits`` random halvings (seeded), corrected once.
    seed : int

    Returns
    -------
    (neurons,) float64
        ``2 r / (1 + r)``; NaN for neurons without variation.
    """
    data = _trials(by_trial)
    n_trials = data.shape[0]
    if n_splits <= 0:
        halves = [(np.arange(0, n_trials, 2), np.arange(1, n_trials, 2))]
    else:
        rng = np.random.default_rng(seed)
        halves = []
        for _ in range(n_splits):
            order = rng.permutation(n_trials)
            halves.append((order[: n_trials // 2], order[n_trials // 2 :]))
    r = np.mean([_correlate(data[a].mean(0), data[b].mean(0)) for a, b in halves], axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(2 * r / (1 + r), dtype=np.float64)


def leave_one_out_reliability(by_trial: ArrayLike) -> NDArray[np.float64]:
    """Mean over trials of corr(trial, mean of the other trials), per neuron.

    Parameters
    ----------
    by_trial : (trials, neurons, time) float

    Returns
    -------
    (neurons,) float64
        NaN for neurons where no trial gives a defined correlation.
    """
    data = _trials(by_trial)
    n_trials = data.shape[0]
    others = (data.sum(axis=0, keepdims=True) - data) / (n_trials - 1)
    r = _correlate(data, others)
    finite = np.isfinite(r)
    n_finite = finite.sum(axis=0)
    total = np.where(finite, r, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_finite > 0, total / n_finite, np.nan)


__all__ = [
    "RepeatSplit",
    "leave_one_out_reliability",
    "split_half_reliability",
    "split_repeats",
    "split_trials",
]
