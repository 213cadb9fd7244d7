"""Is the alignment right? Receptive fields by reverse correlation, and lag scans.

Sign convention (one for everything here): **lag d pairs the response at frame t with
the stimulus frame t − d.** Positive lags look into the past of the response (causal).

- :func:`spike_triggered_average` returns lags ``0 … n_lags − 1``: ``sta[:, l]`` is the
  average stimulus ``l`` frames before a response.
- :func:`lag_scan` scores every lag in ``lags`` (negative ones too) by how sharp the
  receptive field is at that lag. A correctly aligned retina recording peaks at a small
  positive lag — the cells' latency, typically 30–150 ms. If the responses are stamped
  ``k`` frames late (a trigger offset), the peak moves to ``latency + k``; if they are
  early, it moves towards zero or below, which is impossible for a real cell. A dropped
  frame half-way through blurs the receptive field over two neighbouring lags. To fix
  an offset of ``k`` frames (``best_lag`` minus the cells' known latency), shift the
  frame times: ``frames.shifted(k * frames.frame_interval_s)`` and bin again.
- A lag scan only judges the timing when the responses carry stimulus information:
  each lag's sharpness is compared with a **null distribution**, the same scan on the
  responses circularly shifted far in time (which keeps their statistics and breaks
  their link to the stimulus). Only a peak that clearly beats every shifted copy
  counts (:attr:`LagScan.verdict`); otherwise the scan says the data cannot tell and
  suggests nothing. Too short a stretch is not judged at all.
- :func:`repeat_lag_scan` shifts each test repeat against the mean of the others: an
  aligned repeat peaks at lag 0; a repeat whose responses are late by ``k`` frames
  peaks at ``+k``.

The stimulus is read in blocks of frames (a memory-mapped ``(c, t, h, w)`` movie or an
HDF5 dataset is never loaded whole); long recordings are subsampled to ``max_frames``
response frames, taken as evenly spaced contiguous blocks.

Public API (stable; consumer: the wizard's preview)
----------------------------------------------------
- ``spike_triggered_average(stimulus, responses, *, n_lags=None, frame_rate_hz=None,
  window_s=0.5, max_frames=20_000)`` → ``(neurons, lags, [c,] h, w)`` float32
- ``rf_peak(sta)`` → (lag index, flat pixel index) per neuron; ``rf_spatial_map(sta)``
  → ``(neurons, [c,] h, w)``; ``rf_time_course(sta)`` → ``(neurons, lags)`` or
  ``(neurons, c, lags)``; ``rf_sharpness(sta)`` → ``(neurons, lags)`` peak |z|
- ``lag_scan(stimulus, responses, lags=range(-15, 16), *, max_frames=20_000,
  repeats=None, frame_rate_hz=None, max_latency_s=0.3, n_shifts=8)`` → :class:`LagScan`
  (``lags``, ``score``, ``best_lag``, ``sharpness``, ``neuron_best_lag``, ``repeat_score``,
  ``trial_best_lag``, ``warnings``, ``maps``, ``null_score``, ``frames_used``,
  ``significant``, ``neuron_significant``, ``verdict``, ``message``)
- ``repeat_lag_scan(by_trial, lags)`` → ``(trials, lags)`` correlations
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from openretina_data.errors import NonFiniteError, ShapeError, TimingError
from openretina_data.timing._report import count, seconds

# Elements (float32) of the largest temporary per block: lagged responses or stimulus.
_BLOCK_ELEMENTS = 1 << 23


def spike_triggered_average(
    stimulus: Any,
    responses: Any,
    *,
    n_lags: int | None = None,
    frame_rate_hz: float | None = None,
    window_s: float = 0.5,
    max_frames: int | None = 20_000,
) -> NDArray[np.float32]:
    """Spike- (or response-) triggered average of the stimulus: one RF estimate per neuron.

    ``sta[n, l] = Σ_t (r[n, t] − mean_t r[n]) · stimulus[t − l] / norm[n]`` where ``norm``
    is the neuron's total response (non-negative responses such as spike counts, so the
    result is in stimulus units relative to the mean) or its total absolute deviation
    (signed responses such as dF/F).

    Parameters
    ----------
    stimulus : (channels, time, height, width) or (time, height, width) array-like
        numpy array, memmap or h5py dataset; read in blocks of frames.
    responses : (neurons, time) float array-like
        Responses on the same frames (spike counts, rates or traces); array, memmap or
        h5py dataset, of which only the frames used are read. NaN/Inf is refused.
    n_lags : int, optional
        Number of lags ``0 … n_lags − 1`` (frames). Default: ``window_s`` worth of
        frames when ``frame_rate_hz`` is given, else 15 (0.5 s at 30 Hz).
    frame_rate_hz : float, optional, Hz
    window_s : float, seconds
        History length used with ``frame_rate_hz``.
    max_frames : int or None
        Use at most this many response frames (evenly spaced blocks); None uses all.

    Returns
    -------
    (neurons, lags, [channels,] height, width) float32
        Channels only for a 4-D stimulus. Neurons without any response get zeros.
    """
    if n_lags is None:
        n_lags = 15 if frame_rate_hz is None else max(1, int(np.ceil(window_s * frame_rate_hz)))
    if n_lags < 1:
        raise TimingError(f"n_lags must be at least 1, got {n_lags}", hint="Use e.g. 15.")
    return _reverse_correlation(stimulus, responses, np.arange(n_lags), max_frames)


def _reverse_correlation(
    stimulus: Any, responses: Any, lags: NDArray[np.int64], max_frames: int | None
) -> NDArray[np.float32]:
    """(neurons, lags, [c,] h, w) response-weighted stimulus at each signed lag."""
    shape = tuple(int(n) for n in getattr(stimulus, "shape", ()))
    if len(shape) not in (3, 4):
        raise ShapeError(
            f"stimulus must be (channels, time, height, width) or (time, height, width), got shape {shape}",
            hint="Reorder the stimulus axes (time is the first axis after channels).",
        )
    time_axis = len(shape) - 3
    n_time = shape[time_axis]
    frame_shape = shape[:time_axis] + shape[time_axis + 1 :]
    n_pixels = int(np.prod(frame_shape))
    r: Any = responses if hasattr(responses, "shape") else np.asarray(responses)
    if len(r.shape) != 2 or r.shape[1] != n_time:
        raise ShapeError(
            f"responses have shape {r.shape}; expected (neurons, {count(n_time)}) to match the "
            f"stimulus's {count(n_time)} frames",
            hint="Bin the responses onto the stimulus frames first (and transpose (time, neurons)).",
        )
    n_neurons = r.shape[0]
    lag_min, lag_max = int(lags.min()), int(lags.max())
    first, stop = max(0, lag_max), min(n_time, n_time + lag_min)
    if stop - first < 2:
        raise TimingError(
            f"{count(n_time)} frames are too few for lags {lag_min} to {lag_max}",
            hint="Use fewer lags or a longer recording.",
        )
    span = lag_max - lag_min
    block = _block_length(n_neurons * lags.size, n_pixels, span)
    blocks = _blocks(first, stop, block, max_frames)

    sums = np.zeros((n_neurons * lags.size, n_pixels), dtype=np.float64)
    stim_sums = np.zeros((lags.size, n_pixels), dtype=np.float64)
    response_sum = np.zeros(n_neurons, dtype=np.float64)
    n_used, lowest = 0, 0.0
    offsets = lag_max - lags  # row of stimulus frame t - d inside the loaded block
    for a, b in blocks:
        movie = _read_frames(stimulus, time_axis, a - lag_max, b - lag_min, n_pixels)
        resp = np.asarray(r[:, a:b], dtype=np.float32)
        if not np.all(np.isfinite(resp)):
            neuron, frame = (int(i[0]) for i in np.nonzero(~np.isfinite(resp)))
            raise NonFiniteError(
                f"responses contain NaN/Inf, e.g. neuron {neuron} at frame {count(a + frame)}",
                hint="Use a stretch of the recording where every frame has a response.",
            )
        lowest = min(lowest, float(resp.min()))
        length = b - a
        lagged = np.zeros((n_neurons, lags.size, movie.shape[0]), dtype=np.float32)
        for j, offset in enumerate(offsets.tolist()):
            lagged[:, j, offset : offset + length] = resp
            stim_sums[j] += movie[offset : offset + length].sum(axis=0, dtype=np.float64)
        sums += lagged.reshape(-1, movie.shape[0]) @ movie
        response_sum += resp.sum(axis=1, dtype=np.float64)
        n_used += length
    mean_response = response_sum / n_used
    norm = response_sum
    if lowest < 0:  # signed responses: a second, cheap pass for the total absolute deviation
        norm = np.zeros(n_neurons, dtype=np.float64)
        for a, b in blocks:
            norm += np.abs(np.asarray(r[:, a:b], np.float64) - mean_response[:, None]).sum(axis=1)
    covariance = sums.reshape(n_neurons, lags.size, n_pixels) - (
        mean_response[:, None, None] * stim_sums[None]
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        sta = np.where(norm[:, None, None] > 0, covariance / norm[:, None, None], 0.0)
    return sta.reshape((n_neurons, lags.size, *frame_shape)).astype(np.float32)


def _block_length(lagged_rows: int, n_pixels: int, span: int) -> int:
    """Frames per block so that neither temporary exceeds the element budget."""
    by_responses = _BLOCK_ELEMENTS // max(lagged_rows, 1)
    by_stimulus = _BLOCK_ELEMENTS // max(n_pixels, 1)
    return max(16, min(by_responses, by_stimulus, 4096) - span)


def _blocks(first: int, stop: int, block: int, max_frames: int | None) -> list[tuple[int, int]]:
    """Contiguous ``[a, b)`` response-frame blocks: all of them, or evenly spaced ones."""
    total = stop - first
    if max_frames is None or total <= max_frames:
        return [(a, min(a + block, stop)) for a in range(first, stop, block)]
    block = min(block, max_frames)
    n_blocks = max(1, max_frames // block)
    starts = np.linspace(first, stop - block, n_blocks).astype(np.int64).tolist()
    return [(a, a + block) for a in starts]


def _read_frames(
    stimulus: Any, time_axis: int, a: int, b: int, n_pixels: int
) -> NDArray[np.float32]:
    """Stimulus frames ``a … b − 1`` as ``(frames, pixels)`` float32."""
    if time_axis == 0:
        frames = np.asarray(stimulus[a:b], dtype=np.float32)
    else:
        frames = np.moveaxis(np.asarray(stimulus[:, a:b], dtype=np.float32), 1, 0)
    return np.ascontiguousarray(frames).reshape(b - a, n_pixels)


def rf_peak(sta: NDArray[np.floating]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Lag index and flat spatial index (over ``[c,] h, w``) of each neuron's largest |STA|.

    Parameters
    ----------
    sta : (neurons, lags, [c,] h, w)
    """
    n_neurons = sta.shape[0]
    n_pixels = int(np.prod(sta.shape[2:]))
    flat = np.abs(sta.reshape(n_neurons, -1)).argmax(axis=1)
    return (flat // n_pixels).astype(np.int64), (flat % n_pixels).astype(np.int64)


def rf_spatial_map(sta: NDArray[np.floating]) -> NDArray[np.floating]:
    """Each neuron's STA frame at its peak lag: ``(neurons, [c,] h, w)``."""
    lag, _ = rf_peak(sta)
    return sta[np.arange(sta.shape[0]), lag]


def rf_time_course(sta: NDArray[np.floating]) -> NDArray[np.floating]:
    """Each neuron's STA over lags at its peak location.

    Returns ``(neurons, lags)`` for a ``(neurons, lags, h, w)`` STA and ``(neurons, c,
    lags)`` (every channel at the peak's ``h, w``) for a ``(neurons, lags, c, h, w)`` one.
    """
    n_neurons, n_lags = sta.shape[:2]
    _, pixel = rf_peak(sta)
    if sta.ndim == 4:
        return sta.reshape(n_neurons, n_lags, -1)[np.arange(n_neurons), :, pixel]
    n_channels, height, width = sta.shape[2:]
    location = pixel % (height * width)
    flat = sta.reshape(n_neurons, n_lags, n_channels, height * width)
    return np.moveaxis(flat[np.arange(n_neurons), :, :, location], 1, 2)


def rf_sharpness(sta: NDArray[np.floating]) -> NDArray[np.float64]:
    """Peak |z| of each lag's map: ``(neurons, lags)``.

    ``z`` is the STA minus its median, divided by a robust noise level (1.4826 × the
    median absolute deviation over all lags and pixels of that neuron), so lags without
    a receptive field score about 3–4 and a clear RF scores far higher.
    """
    n_neurons, n_lags = sta.shape[:2]
    flat = np.asarray(sta, dtype=np.float64).reshape(n_neurons, n_lags, -1)
    centre = np.median(flat.reshape(n_neurons, -1), axis=1)[:, None, None]
    deviation = np.abs(flat - centre)
    noise = 1.4826 * np.median(deviation.reshape(n_neurons, -1), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = deviation.max(axis=2) / noise[:, None]
    return np.where(noise[:, None] > 0, z, 0.0)


Verdict = Literal["aligned", "misaligned", "no_receptive_field", "too_few_frames"]
"""What a lag scan says about the timing (see :attr:`LagScan.verdict`)."""

#: A scan needs at least this many response frames per scanned lag to be judged.
MIN_FRAMES_PER_LAG = 10
#: A peak counts only when it beats the highest shifted copy by this many null spreads.
NULL_MARGIN = 3.0


@dataclass(frozen=True)
class LagScan:
    """How well responses line up with the stimulus at each lag (see the module's sign convention).

    Attributes
    ----------
    lags : (lags,) int64, frames
    sharpness : (neurons, lags) float64
        Peak |z| of each neuron's receptive field at each lag (:func:`rf_sharpness`).
    score : (lags,) float64
        Mean sharpness over neurons; what the wizard plots.
    best_lag : int
        Lag of the highest ``score``.
    neuron_best_lag : (neurons,) int64
    repeat_score : (trials, lags) float64 or None
        :func:`repeat_lag_scan` of the test repeats, when given.
    warnings : tuple of str
        Timing problems the scan shows; only when the scan is :attr:`significant`.
    maps : (neurons, lags, [c,] h, w) float32 or None
        The response-weighted stimulus at every scanned lag; ``maps[:, lags >= 0]`` is the
        spike-triggered average over those lags (on the frames the scan used), so a
        caller that needs both does not compute the STA twice.
    null_score : (shifts, lags) float64 or None
        ``score`` of the responses circularly shifted in time (the null distribution);
        None when no null was computed (too few frames, or ``n_shifts=0``).
    null_sharpness : (shifts, neurons) float64 or None
        Each neuron's peak sharpness over lags in each shifted copy.
    frames_used : int
        Response frames the scan correlated.
    frame_rate_hz, max_latency_s : float or None
        As given to :func:`lag_scan` (for the verdict).
    """

    lags: NDArray[np.int64]
    sharpness: NDArray[np.float64]
    score: NDArray[np.float64]
    best_lag: int
    neuron_best_lag: NDArray[np.int64]
    repeat_score: NDArray[np.float64] | None = None
    warnings: tuple[str, ...] = ()
    maps: NDArray[np.float32] | None = None
    null_score: NDArray[np.float64] | None = None
    null_sharpness: NDArray[np.float64] | None = None
    frames_used: int = 0
    frame_rate_hz: float | None = None
    max_latency_s: float = 0.3

    @property
    def trial_best_lag(self) -> NDArray[np.int64] | None:
        """(trials,) lag at which each repeat best matches the others (0 when aligned)."""
        if self.repeat_score is None:
            return None
        return self.lags[np.nanargmax(np.nan_to_num(self.repeat_score, nan=-np.inf), axis=1)]

    @property
    def null_threshold(self) -> float | None:
        """The score a peak must exceed to count: the highest shifted copy's peak plus
        :data:`NULL_MARGIN` times the spread of the shifted copies' peaks (None without a null)."""
        if self.null_score is None:
            return None
        peaks = self.null_score.max(axis=1)
        return float(peaks.max() + NULL_MARGIN * peaks.std())

    @property
    def significant(self) -> bool:
        """True when the scan's peak clearly beats every circularly shifted copy."""
        threshold = self.null_threshold
        return threshold is not None and float(self.score.max()) > threshold

    @property
    def neuron_significant(self) -> NDArray[np.bool_]:
        """(neurons,) whose own peak sharpness clearly beats their shifted copies."""
        if self.null_sharpness is None:
            return np.zeros(self.sharpness.shape[0], dtype=bool)
        null = self.null_sharpness
        threshold = null.max(axis=0) + NULL_MARGIN * null.std(axis=0)
        return np.asarray(self.sharpness.max(axis=1) > threshold)

    @property
    def verdict(self) -> Verdict:
        """``too_few_frames`` (not judged), ``no_receptive_field`` (the responses carry no
        stimulus information at any lag: they cannot confirm the timing), ``misaligned``
        (a clear peak at an impossible lag) or ``aligned`` (a clear peak at a plausible lag)."""
        if self.null_score is None:
            return "too_few_frames"
        if not self.significant:
            return "no_receptive_field"
        return "misaligned" if self.warnings else "aligned"

    @property
    def message(self) -> str:
        """The verdict in one or two plain sentences, with the numbers."""
        verdict = self.verdict
        if verdict == "too_few_frames":
            return (
                f"Too few frames to judge: {count(self.frames_used)} frames for "
                f"{count(self.lags.size)} lags (at least {count(_min_frames(self.lags.size))} needed). "
                "Check the alignment on a longer stimulus."
            )
        peak = float(self.score.max())
        threshold = self.null_threshold or 0.0
        if verdict == "no_receptive_field":
            return (
                "No receptive field found: at no lag are the receptive fields sharper than in "
                f"the same responses shifted in time (peak {peak:.2f}, needed > {threshold:.2f}). "
                "These responses cannot confirm the timing; nothing is suggested."
            )
        found = int(self.neuron_significant.sum())
        head = (
            f"Receptive fields found, pooled over {count(self.sharpness.shape[0])} neurons "
            f"(peak {peak:.2f}, above the {threshold:.2f} that shifted copies reach; "
            f"{count(found)} clear on their own)."
        )
        if verdict == "aligned":
            return f"{head} The timing looks right."
        return f"{head} {' '.join(w[0].upper() + w[1:] + '.' for w in self.warnings)}"


def _min_frames(n_lags: int) -> int:
    return MIN_FRAMES_PER_LAG * n_lags


class _CircularShift:
    """Responses shifted circularly by ``shift`` frames inside ``[first, stop)``.

    Frame ``t`` of the view is frame ``first + (t − first − shift) mod (stop − first)`` of
    ``responses``: the same spikes, each moved far from the stimulus that drove it.
    Read like the responses (``view[:, a:b]``), so lazy arrays stay lazy.
    """

    def __init__(self, responses: Any, first: int, stop: int, shift: int) -> None:
        self.responses = responses
        self.shape = tuple(responses.shape)
        self.first, self.length, self.shift = first, stop - first, shift

    def __getitem__(self, index: tuple[Any, slice]) -> NDArray[np.float32]:
        rows, frames = index
        start, end, _ = frames.indices(self.shape[1])
        source = (np.arange(start, end) - self.first - self.shift) % self.length + self.first
        pieces = np.split(source, np.flatnonzero(np.diff(source) != 1) + 1)
        read = [np.asarray(self.responses[rows, p[0] : p[-1] + 1], np.float32) for p in pieces]
        return np.concatenate(read, axis=1)


def _shifts(length: int, n_shifts: int) -> list[int]:
    """``n_shifts`` circular shifts spread evenly over ``length`` frames (none near 0)."""
    return [int(round(length * (k + 1) / (n_shifts + 1))) for k in range(n_shifts)]


def lag_scan(
    stimulus: Any,
    responses: Any,
    lags: Iterable[int] | None = None,
    *,
    max_frames: int | None = 20_000,
    repeats: ArrayLike | None = None,
    frame_rate_hz: float | None = None,
    max_latency_s: float = 0.3,
    n_shifts: int = 8,
) -> LagScan:
    """Receptive-field sharpness at each lag, judged against shifted copies, to find a trigger offset.

    Parameters
    ----------
    stimulus : (channels, time, height, width) or (time, height, width) array-like
    responses : (neurons, time) float array-like
        As for :func:`spike_triggered_average`.
    lags : iterable of int, frames
        Lags to score; default ``-15 … 15``. Lag ``d`` pairs response frame ``t`` with
        stimulus frame ``t − d``.
    max_frames : int or None
        Response frames used (subsampled in evenly spaced blocks).
    repeats : (trials, neurons, time) float, optional
        Test repeats; adds a :func:`repeat_lag_scan` over the same lags.
    frame_rate_hz : float, optional, Hz
        Enables the "implausibly long latency" warning.
    max_latency_s : float, seconds
        Longest plausible latency of a retinal response.
    n_shifts : int
        Circularly shifted copies of the responses scanned as the null distribution
        (each costs one more scan); 0 skips the null, and the scan is not judged.
        Stretches with fewer than :data:`MIN_FRAMES_PER_LAG` frames per lag get no null.
    """
    lag_values = np.asarray(list(range(-15, 16)) if lags is None else list(lags), dtype=np.int64)
    if lag_values.size == 0 or np.unique(lag_values).size != lag_values.size:
        raise TimingError(
            "lags must be a non-empty list of distinct whole frames",
            hint="Use e.g. range(-15, 16).",
        )
    sta = _reverse_correlation(stimulus, responses, lag_values, max_frames)
    sharpness = rf_sharpness(sta)
    score = sharpness.mean(axis=0)
    best = int(lag_values[int(np.argmax(score))])
    r: Any = responses if hasattr(responses, "shape") else np.asarray(responses)
    n_time = int(r.shape[1])
    first = max(0, int(lag_values.max()))
    stop = min(n_time, n_time + int(lag_values.min()))
    used = stop - first if max_frames is None else min(stop - first, max_frames)
    null_score = null_sharpness = None
    if n_shifts > 0 and stop - first >= _min_frames(lag_values.size):
        rows = []
        for shift in _shifts(stop - first, n_shifts):
            shifted = _CircularShift(r, first, stop, shift)
            rows.append(
                rf_sharpness(_reverse_correlation(stimulus, shifted, lag_values, max_frames))
            )
        null = np.stack(rows)  # (shifts, neurons, lags)
        null_score, null_sharpness = null.mean(axis=1), null.max(axis=2)
    scan = LagScan(
        lags=lag_values,
        sharpness=sharpness,
        score=score,
        best_lag=best,
        neuron_best_lag=lag_values[np.argmax(sharpness, axis=1)],
        repeat_score=None if repeats is None else repeat_lag_scan(repeats, lag_values),
        maps=sta,
        null_score=null_score,
        null_sharpness=null_sharpness,
        frames_used=used,
        frame_rate_hz=frame_rate_hz,
        max_latency_s=max_latency_s,
    )
    if not scan.significant:
        return scan  # no receptive field: nothing the peak's position could say
    warnings = []
    if best <= 0:
        warnings.append(
            f"the receptive fields are sharpest at lag {best}: responses would precede the "
            "stimulus that drives them, so the frame times are probably late (or responses early) "
            f"by at least {1 - best} frames"
        )
    elif frame_rate_hz is not None and best / frame_rate_hz > max_latency_s:
        warnings.append(
            f"the receptive fields are sharpest at lag {best} ({seconds(best / frame_rate_hz)}), "
            f"longer than a retinal latency (≤ {seconds(max_latency_s)}): the responses are "
            "probably stamped late (frame times early)"
        )
    return replace(scan, warnings=tuple(warnings))


def repeat_lag_scan(by_trial: ArrayLike, lags: Iterable[int]) -> NDArray[np.float64]:
    """Correlation of each repeat, shifted by each lag, with the mean of the other repeats.

    Parameters
    ----------
    by_trial : (trials, neurons, time) float
    lags : iterable of int, frames
        Lag ``d`` compares ``trial[t + d]`` with ``others[t]``.

    Returns
    -------
    (trials, lags) float64
        Mean over neurons of the Pearson correlation (neurons without variation are
        skipped); NaN where no neuron gives a correlation.
    """
    data = np.asarray(by_trial, dtype=np.float64)
    if data.ndim != 3 or data.shape[0] < 2:
        raise ShapeError(
            f"repeats must be (trials >= 2, neurons, time), got shape {data.shape}",
            hint="Pass the by_trial array of a test stimulus shown at least twice.",
        )
    n_trials, _, n_time = data.shape
    others = (data.sum(axis=0, keepdims=True) - data) / (n_trials - 1)
    lag_values = np.asarray(list(lags), dtype=np.int64)
    out = np.full((n_trials, lag_values.size), np.nan)
    for j, d in enumerate(lag_values.tolist()):
        lo, hi = max(0, -d), n_time - max(0, d)
        if hi - lo < 3:
            continue
        a = data[:, :, lo + d : hi + d]
        b = others[:, :, lo:hi]
        a = a - a.mean(axis=2, keepdims=True)
        b = b - b.mean(axis=2, keepdims=True)
        denominator = np.sqrt((a * a).sum(axis=2) * (b * b).sum(axis=2))
        valid = denominator > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.where(valid, (a * b).sum(axis=2) / denominator, 0.0)
        n_valid = valid.sum(axis=1)
        out[:, j] = np.where(n_valid > 0, r.sum(axis=1) / np.maximum(n_valid, 1), np.nan)
    return out


__all__ = [
    "MIN_FRAMES_PER_LAG",
    "NULL_MARGIN",
    "LagScan",
    "Verdict",
    "lag_scan",
    "repeat_lag_scan",
    "rf_peak",
    "rf_sharpness",
    "rf_spatial_map",
    "rf_time_course",
    "spike_triggered_average",
]
