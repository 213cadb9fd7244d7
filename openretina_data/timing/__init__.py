"""Timing: stimulus frame times, and responses put onto those frames.

Pure numpy, vectorised (no Python loop over spikes or samples). Every result carries
``warnings`` (problems, in plain language with numbers: "312 of 36 000 frames had no
trigger, first at frame 1 024") and ``notes`` (what was done). Repairs are opt-in and
stated in the notes; clear user mistakes raise :class:`~openretina_data.errors.TimingError`
(or ``ShapeError`` / ``NonFiniteError``) with a ``hint``. All times are seconds on one
clock (the response clock); frame ``i`` is the half-open interval
``[edges[i], edges[i + 1])``.

Public API (stable; consumers: ``convert``, the wizard)
--------------------------------------------------------
Frame times — each returns :class:`FrameTimes` (``times``, ``edges``, ``centres``,
``n_frames``, ``frame_interval_s``, ``frame_rate_hz``, ``triggers``,
``dropped_frames``, ``dropped_times``, ``duplicate_triggers``, ``irregular_intervals``,
``warnings``, ``notes``, ``ok``, ``summary()``, ``raise_on_warnings()``,
``shifted(offset_s)`` — apply a lag found by :func:`openretina_data.alignment.lag_scan`):

- ``frame_times_from_rate(frame_rate_hz, n_frames, *, start_s=0.0)``
- ``frame_times_from_timestamps(timestamps_s, *, expected_frames=None,
  fill_dropped=False, drop_duplicates=False, tolerance=0.25, max_missing_per_gap=10,
  last_frame_s=None)``
- ``frame_times_from_triggers(trigger_times_s, *, expected_frames=None,
  frames_per_trigger=1, fill_dropped=False, drop_duplicates=False, ...)``
- ``detect_edges(signal, sampling_rate_hz, *, threshold=None, edge="rising",
  debounce_s=0.0, bit=None, start_s=0.0)`` → ``(edges,)`` seconds; ``signal`` may be
  a memmap or h5py dataset (read in blocks). ``trigger_threshold(signal)`` is the
  default threshold (to draw it).
- ``frame_times_from_signal(signal, sampling_rate_hz, **detect_edges options,
  **frame_times_from_triggers options)``
- ``as_edges(frames)``: ``(frames + 1,)`` edges from a ``FrameTimes`` or an array, checked.

Frame times matched to a recording's schedule (what ``plan`` and ``convert`` use):

- ``segments_for([(stimulus, frames, repeats, skip_frames), ...])`` → ``list[Segment]``.
- ``schedule_frames(onsets_s, segments, *, fill_dropped="auto", tolerance=0.25,
  max_missing_per_gap=10)`` → :class:`ScheduledFrames` (``starts``, ``stops``, ``runs``,
  ``pauses``, ``held_frames``, ``interpolated_frames``, ``period_s``, ``decision``,
  ``bins(start, stop)``): runs and pauses found, held frames vs missed triggers decided
  by the counts, anything else a ``TimingError`` with the numbers.
- :class:`~openretina_data.timing.report.TimingReport`: the per-source report that
  plan, convert, the card, the session attrs and ``check`` share.

Responses onto frames:

- ``bin_spikes(spike_times, frames, *, time_unit, sampling_rate_hz=None,
  unit_ids=None, units=None, recording_duration_s=None, start_s=0.0,
  output="counts", dtype=float32)`` → :class:`BinnedSpikes` (``values`` (neurons,
  frames), ``unit``, ``unit_ids``, ``n_spikes``, ``n_before``, ``n_after``,
  ``n_inside``). ``spike_times`` is flat (with ``unit_ids``) or one array per unit.
- ``resample_traces(traces, frames, *, sampling_rate_hz=None, timestamps_s=None,
  start_s=0.0, method="linear" | "mean", dtype=float32)`` → :class:`ResampledTraces`
  (``values`` (neurons, frames), NaN where no samples; ``frames_without_samples``,
  ``n_samples_before``, ``n_samples_after``).
- ``sample_times(n_samples, *, sampling_rate_hz=None, timestamps_s=None, start_s=0.0)``.

Test repeats:

- ``split_repeats(responses, onsets, length=None)`` and ``split_trials(responses,
  epochs)`` → :class:`RepeatSplit` (``by_trial`` (trials, neurons, time), ``mean``
  (neurons, time), ``onsets``, ``warnings``).
- ``split_half_reliability(by_trial, *, n_splits=0, seed=0)`` and
  ``leave_one_out_reliability(by_trial)`` → ``(neurons,)`` correlations.

Several stimuli in one recording:

- ``find_trigger_blocks(trigger_times_s, *, min_gap_s=None, min_triggers=1)`` and
  ``epochs_from_intervals(intervals_s, trigger_times_s=None, names=None)`` →
  ``list[Epoch]`` (``start_s``, ``stop_s``, ``first_trigger``, ``n_triggers``,
  ``name``, ``trigger_slice``); ``name_epochs(epochs, names)`` (raises when the counts
  differ); ``check_block_lengths(epochs, expected_triggers)`` → warnings.

Example
-------
>>> import numpy as np
>>> from openretina_data.timing import frame_times_from_triggers, bin_spikes
>>> triggers = np.delete(np.arange(100) / 30.0, 40)  # frame 40 lost its trigger
>>> frames = frame_times_from_triggers(triggers, expected_frames=100, fill_dropped=True)
>>> frames.dropped_frames.tolist(), frames.n_frames
([40], 100)
>>> binned = bin_spikes([np.array([0.01, 0.02, 1.5])], frames, time_unit="s")
>>> binned.values.shape, float(binned.values.sum())
((1, 100), 3.0)
"""

from openretina_data.timing.epochs import (
    Epoch,
    check_block_lengths,
    epochs_from_intervals,
    find_trigger_blocks,
    name_epochs,
)
from openretina_data.timing.frames import (
    FrameTimes,
    as_edges,
    frame_times_from_rate,
    frame_times_from_timestamps,
    frame_times_from_triggers,
)
from openretina_data.timing.repeats import (
    RepeatSplit,
    leave_one_out_reliability,
    split_half_reliability,
    split_repeats,
    split_trials,
)
from openretina_data.timing.report import TimingReport
from openretina_data.timing.schedule import ScheduledFrames, Segment, schedule_frames, segments_for
from openretina_data.timing.spikes import BinnedSpikes, bin_spikes
from openretina_data.timing.traces import ResampledTraces, resample_traces, sample_times
from openretina_data.timing.triggers import (
    detect_edges,
    frame_times_from_signal,
    trigger_threshold,
)

__all__ = [
    "BinnedSpikes",
    "Epoch",
    "FrameTimes",
    "RepeatSplit",
    "ResampledTraces",
    "ScheduledFrames",
    "Segment",
    "TimingReport",
    "as_edges",
    "bin_spikes",
    "check_block_lengths",
    "detect_edges",
    "epochs_from_intervals",
    "find_trigger_blocks",
    "frame_times_from_rate",
    "frame_times_from_signal",
    "frame_times_from_timestamps",
    "frame_times_from_triggers",
    "leave_one_out_reliability",
    "name_epochs",
    "resample_traces",
    "sample_times",
    "schedule_frames",
    "segments_for",
    "split_half_reliability",
    "split_repeats",
    "split_trials",
    "trigger_threshold",
]
