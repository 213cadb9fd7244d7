"""Continuous traces (calcium, voltage) at their own rate → one value per stimulus frame.

Two methods: ``"linear"`` interpolates each trace at the frame centres; ``"mean"``
averages the samples inside each frame interval ``[edges[i], edges[i + 1])``. Frames
the trace does not cover become NaN and are reported; samples outside the stimulus
are counted. Traces are processed in blocks of neurons × samples, so a memory-mapped or
HDF5 ``(neurons, samples)`` array is never loaded whole, however long the recording.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from openretina_data.errors import ShapeError, TimingError
from openretina_data.timing._report import count, percent, seconds
from openretina_data.timing.frames import FrameTimes, as_edges

# Trace samples (neurons x samples) read and processed at once.
_BLOCK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class ResampledTraces:
    """Traces on stimulus frames, and what did not fit.

    Attributes
    ----------
    values : (neurons, frames) float
        One value per frame; NaN where the trace has no samples for that frame.
    method : {"linear", "mean"}
    frames_without_samples : (k,) int64
        Frames that got NaN (outside the trace, or, for ``"mean"``, no sample inside).
    n_samples_before, n_samples_after : int
        Samples before the first frame edge and at / after the last.
    warnings, notes : tuple of str
    """

    values: NDArray[np.floating]
    method: str
    frames_without_samples: NDArray[np.int64]
    n_samples_before: int
    n_samples_after: int
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        """Warnings then notes, one per line."""
        return "\n".join([*self.warnings, *self.notes])


def sample_times(
    n_samples: int,
    *,
    sampling_rate_hz: float | None = None,
    timestamps_s: ArrayLike | None = None,
    start_s: float = 0.0,
    first_sample: int = 0,
) -> NDArray[np.float64]:
    """(samples,) float64 seconds: the time of each sample from a rate or timestamps (one of them).

    With a rate, sample ``j`` of the given ones is sample ``first_sample + j`` of the
    recording, at ``start_s + (first_sample + j) / rate`` (a slab of a longer trace gets
    exactly the times it has in the whole).
    """
    if (sampling_rate_hz is None) == (timestamps_s is None):
        raise TimingError(
            "give exactly one of sampling_rate_hz and timestamps_s for the trace samples",
            hint="Traces sampled at a constant rate need its rate; otherwise pass one time per sample.",
        )
    if timestamps_s is None:
        assert sampling_rate_hz is not None
        if not np.isfinite(sampling_rate_hz) or sampling_rate_hz <= 0:
            raise TimingError(
                f"sampling rate must be a positive number of Hz, got {sampling_rate_hz!r}",
                hint="State the trace sampling rate in Hz (imaging: the volume/frame rate).",
            )
        return start_s + (first_sample + np.arange(n_samples, dtype=np.float64)) / float(
            sampling_rate_hz
        )
    times = np.asarray(timestamps_s, dtype=np.float64).ravel() + start_s
    if times.size != n_samples:
        raise ShapeError(
            f"{count(times.size)} timestamps for {count(n_samples)} trace samples",
            hint="Pass one timestamp per sample (the trace's last axis).",
        )
    steps = np.diff(times)
    if not np.all(np.isfinite(times)) or np.any(steps <= 0):
        bad = np.flatnonzero(~(steps > 0))
        where = f"; first at sample {count(bad[0] + 1)}" if bad.size else ""
        raise TimingError(
            f"trace timestamps must be finite and increasing{where}",
            hint="Check that the timestamps belong to this trace and are in seconds.",
        )
    return times


def resample_traces(
    traces: Any,
    frames: FrameTimes | ArrayLike,
    *,
    sampling_rate_hz: float | None = None,
    timestamps_s: ArrayLike | None = None,
    start_s: float = 0.0,
    first_sample: int = 0,
    edge_tolerance_samples: float = 0.0,
    method: Literal["linear", "mean"] = "linear",
    dtype: DTypeLike = np.float32,
) -> ResampledTraces:
    """Put ``(neurons, samples)`` traces onto stimulus frames.

    Parameters
    ----------
    traces : (neurons, samples) array-like
        numpy array, memmap or h5py dataset (read in blocks of neurons and samples).
    frames : FrameTimes or (frames + 1,) float, seconds
        Frame edges on the trace clock.
    sampling_rate_hz : float, Hz, optional
        Constant sampling rate of the traces (give this or ``timestamps_s``).
    timestamps_s : (samples,) float, seconds, optional
        Time of each sample.
    start_s : float, seconds
        Added to the sample times (time of sample 0 with a rate).
    first_sample : int
        With a rate: the recording's index of ``traces``' first sample, for a slab cut
        from a longer trace (its samples keep the times they have in the whole).
    edge_tolerance_samples : float, samples
        With a rate: a frame edge closer than this to a sample time is put exactly on
        it, so floating-point noise in the edges (e.g. ``1e-6``) cannot move a sample
        into the neighbouring frame. 0 leaves the edges as given.
    method : {"linear", "mean"}
        Interpolate at frame centres, or average the samples inside each frame.
    dtype
        dtype of ``values``.
    """
    if len(getattr(traces, "shape", ())) != 2:
        raise ShapeError(
            f"traces must be 2-D (neurons, samples), got shape {getattr(traces, 'shape', None)}",
            hint="Stack the traces as (neurons, samples); a single trace is (1, samples).",
        )
    n_neurons, n_samples = (int(n) for n in traces.shape)
    if n_samples < 2:
        raise ShapeError(
            f"traces have {n_samples} samples; need at least 2", hint="Check the time axis."
        )
    edges = as_edges(frames)
    times = sample_times(
        n_samples,
        sampling_rate_hz=sampling_rate_hz,
        timestamps_s=timestamps_s,
        start_s=start_s,
        first_sample=first_sample,
    )
    if edge_tolerance_samples > 0 and sampling_rate_hz is not None:
        edges = _snap_to_samples(edges, sampling_rate_hz, start_s, edge_tolerance_samples)
    n_frames = edges.size - 1
    if method == "linear":
        centres = 0.5 * (edges[:-1] + edges[1:])
        right = np.clip(np.searchsorted(times, centres, side="right"), 1, n_samples - 1)
        weight = (centres - times[right - 1]) / (times[right] - times[right - 1])
        empty = (centres < times[0]) | (centres > times[-1])
    elif method == "mean":
        lo = np.searchsorted(times, edges[:-1], side="left")
        hi = np.searchsorted(times, edges[1:], side="left")
        n_in = hi - lo
        empty = n_in == 0
    else:
        raise TimingError(
            f"method must be 'linear' or 'mean', got {method!r}",
            hint="Use 'linear' for slow indicators, 'mean' to average fast traces into frames.",
        )
    # Samples each frame needs: [window_lo, window_hi), non-decreasing over frames.
    if method == "linear":
        window_lo, window_hi = right - 1, right + 1
    else:
        window_lo, window_hi = lo, hi
    out = np.empty((n_neurons, n_frames), dtype=dtype)
    neurons_per_block = min(n_neurons, 256)
    samples_per_block = max(1024, _BLOCK_ELEMENTS // neurons_per_block)
    covered = max(int(window_hi[-1] - window_lo[0]), 1)
    frames_per_block = max(1, samples_per_block * n_frames // covered)
    for n0 in range(0, n_neurons, neurons_per_block):
        n1 = min(n0 + neurons_per_block, n_neurons)
        for f0 in range(0, n_frames, frames_per_block):
            f1 = min(f0 + frames_per_block, n_frames)
            s0, s1 = int(window_lo[f0]), int(max(window_hi[f1 - 1], window_lo[f0] + 1))
            block = np.asarray(traces[n0:n1, s0:s1], dtype=np.float64)
            if method == "linear":
                w = weight[f0:f1]
                values = block[:, right[f0:f1] - 1 - s0] * (1 - w) + block[:, right[f0:f1] - s0] * w
            else:
                cumulative = np.zeros((n1 - n0, s1 - s0 + 1))
                np.cumsum(block, axis=1, out=cumulative[:, 1:])
                total = cumulative[:, hi[f0:f1] - s0] - cumulative[:, lo[f0:f1] - s0]
                with np.errstate(invalid="ignore", divide="ignore"):
                    values = total / n_in[f0:f1]
            values[:, empty[f0:f1]] = np.nan
            out[n0:n1, f0:f1] = values

    warnings: list[str] = []
    notes: list[str] = []
    missing = np.flatnonzero(empty)
    if missing.size:
        reason = (
            "slower sampling than the frame rate leaves frames without a sample; use method='linear'"
            if method == "mean" and times[0] <= edges[0] and times[-1] >= edges[-1]
            else "the trace does not cover them; trim the stimulus epoch or check start_s"
        )
        warnings.append(
            f"{count(missing.size)} of {count(n_frames)} frames have no trace samples and are NaN, "
            f"first at frame {count(missing[0])} ({seconds(edges[missing[0]])}): {reason}"
        )
    before = int(np.searchsorted(times, edges[0], side="left"))
    after = int(n_samples - np.searchsorted(times, edges[-1], side="left"))
    if before or after:
        notes.append(
            f"{count(before + after)} of {count(n_samples)} samples{percent(before + after, n_samples)} "
            f"lie outside the stimulus ({seconds(edges[0])} to {seconds(edges[-1])}): "
            f"{count(before)} before, {count(after)} after"
        )
    return ResampledTraces(
        values=out,
        method=method,
        frames_without_samples=missing.astype(np.int64),
        n_samples_before=before,
        n_samples_after=after,
        warnings=tuple(warnings),
        notes=tuple(notes),
    )


def _snap_to_samples(
    edges: NDArray[np.float64], rate_hz: float, start_s: float, tolerance: float
) -> NDArray[np.float64]:
    """``edges`` (seconds) with those within ``tolerance`` samples of a sample time put on it."""
    ticks = (edges - start_s) * rate_hz
    nearest = np.rint(ticks)
    return np.where(np.abs(ticks - nearest) < tolerance, start_s + nearest / rate_hz, edges)


__all__ = ["ResampledTraces", "resample_traces", "sample_times"]
