"""Timing: hand-computable cases, properties, and the mistakes people make with units."""

from __future__ import annotations

import doctest

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import openretina_data.timing
from openretina_data.errors import NonFiniteError, ShapeError, TimingError
from openretina_data.timing import (
    Epoch,
    as_edges,
    bin_spikes,
    check_block_lengths,
    detect_edges,
    epochs_from_intervals,
    find_trigger_blocks,
    frame_times_from_rate,
    frame_times_from_signal,
    frame_times_from_timestamps,
    frame_times_from_triggers,
    leave_one_out_reliability,
    name_epochs,
    resample_traces,
    split_half_reliability,
    split_repeats,
    split_trials,
    trigger_threshold,
)


def pulse_train(onsets_s, *, rate_hz=10_000.0, duration_s=None, width_s=0.002, high=5.0, noise=0.0):
    """An analog TTL trace with a pulse at each onset."""
    duration_s = duration_s or (max(onsets_s) + 0.1)
    signal = np.zeros(int(duration_s * rate_hz))
    for onset in onsets_s:
        start = int(round(onset * rate_hz))
        signal[start : start + int(width_s * rate_hz)] = high
    if noise:
        signal += np.random.default_rng(0).normal(0, noise, signal.size)
    return signal


# --- frame times -------------------------------------------------------------------------


def test_rate_gives_evenly_spaced_edges():
    frames = frame_times_from_rate(30.0, 4, start_s=1.0)
    np.testing.assert_allclose(frames.edges, [1.0, 1 + 1 / 30, 1 + 2 / 30, 1.1, 1 + 4 / 30])
    np.testing.assert_allclose(frames.centres, 1.0 + (np.arange(4) + 0.5) / 30)
    assert frames.ok and frames.n_frames == 4
    assert frames.frame_rate_hz == pytest.approx(30.0)


@pytest.mark.parametrize("rate", [0.0, -5.0, float("nan")])
def test_rate_must_be_positive(rate):
    with pytest.raises(TimingError, match="frame rate"):
        frame_times_from_rate(rate, 10)


def test_detect_edges_on_noisy_analog_pulses_at_sample_precision():
    onsets = [0.0105, 0.0438, 0.0772, 0.1105]
    signal = pulse_train(onsets, noise=0.2)
    edges = detect_edges(signal, 10_000.0)
    np.testing.assert_allclose(edges, onsets, atol=1.5e-4)


def test_detect_edges_with_offset_baseline_and_falling_edges():
    signal = pulse_train([0.1, 0.2], high=3.3) + 1.0
    np.testing.assert_allclose(detect_edges(signal, 10_000.0, start_s=5.0), [5.1, 5.2])
    np.testing.assert_allclose(detect_edges(signal, 10_000.0, edge="falling"), [0.102, 0.202])


def test_detect_edges_from_one_bit_of_a_digital_word():
    word = np.zeros(1000, dtype=np.uint16)
    word[100:110] |= 0b100  # bit 2: frame triggers
    word[300:310] |= 0b100
    word[200:260] |= 0b001  # bit 0: something else
    np.testing.assert_allclose(detect_edges(word, 1000.0, bit=2), [0.1, 0.3])
    np.testing.assert_allclose(detect_edges(word > 0, 1000.0), [0.1, 0.2, 0.3])


def test_debounce_drops_contact_bounce_but_keeps_next_frame():
    signal = np.zeros(1000, dtype=bool)
    for start in (100, 103, 106, 200):  # one bouncy edge, then a clean one
        signal[start : start + 2] = True
    assert detect_edges(signal, 1000.0).size == 4
    np.testing.assert_allclose(detect_edges(signal, 1000.0, debounce_s=0.02), [0.1, 0.2])


def test_flat_channel_is_refused():
    with pytest.raises(TimingError, match="flat"):
        detect_edges(np.ones(500), 1000.0)
    glitch = np.zeros(100_000)
    glitch[500] = 5.0  # one outlier is not a pulse train
    with pytest.raises(TimingError, match="rare outliers"):
        detect_edges(glitch, 1000.0)


def test_nan_in_the_channel_names_the_sample():
    signal = pulse_train([0.01, 0.02])
    signal[123] = np.nan
    with pytest.raises(NonFiniteError, match="first at sample 123"):
        detect_edges(signal, 10_000.0)


def test_default_threshold_is_midway_between_levels():
    signal = pulse_train(np.arange(50) / 30.0, high=4.0) + 0.5
    assert trigger_threshold(signal) == pytest.approx(2.5, abs=0.01)


def test_blocks_of_a_memmap_and_an_hdf5_channel_give_the_same_edges(tmp_path, monkeypatch):
    onsets = np.arange(40) / 30.0 + 0.01
    signal = pulse_train(onsets, noise=0.1).astype(np.float32)
    expected = detect_edges(signal, 10_000.0)
    np.save(tmp_path / "ttl.npy", signal)
    with h5py.File(tmp_path / "ttl.h5", "w") as file:
        file["ttl"] = signal
    # blocks of 333 samples: pulses (20 samples, every 333) straddle block joins
    monkeypatch.setattr("openretina_data.timing.triggers._BLOCK_SAMPLES", 333)
    memmap = np.load(tmp_path / "ttl.npy", mmap_mode="r")
    np.testing.assert_allclose(detect_edges(memmap, 10_000.0), expected, rtol=0, atol=1e-12)
    with h5py.File(tmp_path / "ttl.h5", "r") as file:
        rising = detect_edges(file["ttl"], 10_000.0)
        falling = detect_edges(file["ttl"], 10_000.0, edge="falling")
    np.testing.assert_allclose(rising, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(falling, expected + 0.002, rtol=0, atol=1e-12)
    np.testing.assert_allclose(expected, onsets, atol=1.5e-4)


def test_one_dropped_and_one_duplicate_trigger_are_found_with_positions():
    true_times = np.arange(20) / 10.0
    triggers = np.sort(np.append(np.delete(true_times, 5), 1.005))  # frame 5 lost, extra at 1.005
    frames = frame_times_from_triggers(triggers, expected_frames=20)
    assert frames.dropped_frames.tolist() == [5]
    assert frames.duplicate_triggers.tolist() == [10]  # index in the given triggers
    assert not frames.ok
    text = " ".join(frames.warnings)
    assert "1 of 20 frames had no trigger, first at frame 5" in text
    assert "duplicate" in text and "drop_duplicates=True" in text

    repaired = frame_times_from_triggers(
        triggers, expected_frames=20, fill_dropped=True, drop_duplicates=True
    )
    np.testing.assert_allclose(repaired.times, true_times, atol=1e-12)
    assert repaired.ok and repaired.filled and repaired.duplicates_dropped
    assert any("interpolated" in note for note in repaired.notes)


def test_dropped_times_and_shift():
    frames = frame_times_from_triggers(np.delete(np.arange(10) / 10.0, [4, 5]))
    np.testing.assert_allclose(frames.dropped_times, [0.4, 0.5])
    later = frames.shifted(0.25)
    np.testing.assert_allclose(later.edges, frames.edges + 0.25)
    np.testing.assert_allclose(later.dropped_times, [0.65, 0.75])
    assert later.notes[-1] == "frame times shifted by 250 ms"


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(30, 400),
    interval=st.floats(0.005, 0.1),
    seed=st.integers(0, 2**16),
    drop_fraction=st.floats(0, 0.15),
    dup_fraction=st.floats(0, 0.08),
)
def test_trigger_repair_recovers_the_true_frames(n, interval, seed, drop_fraction, dup_fraction):
    rng = np.random.default_rng(seed)
    true = np.arange(n) * interval + rng.uniform(-0.02, 0.02, n) * interval
    interior = np.arange(1, n - 1)
    dropped = np.sort(rng.choice(interior, int(drop_fraction * interior.size), replace=False))
    kept = np.delete(true, dropped)
    extra_after = rng.choice(kept.size, int(dup_fraction * kept.size), replace=False)
    triggers = np.sort(np.concatenate([kept, kept[extra_after] + 0.1 * interval]))
    frames = frame_times_from_triggers(
        triggers, expected_frames=n, fill_dropped=True, drop_duplicates=True
    )
    assert frames.dropped_frames.tolist() == dropped.tolist()
    assert frames.duplicate_triggers.size == extra_after.size
    assert frames.n_frames == n and frames.ok
    assert np.all(np.diff(frames.edges) > 0) and np.all(np.isfinite(frames.edges))
    np.testing.assert_allclose(frames.times, true, atol=0.05 * interval)


def test_without_repair_the_frame_before_a_gap_spans_it_and_the_count_is_reported():
    triggers = np.delete(np.arange(10) / 10.0, [3, 7, 8])
    frames = frame_times_from_triggers(triggers, expected_frames=10)
    assert frames.n_frames == 7
    assert frames.dropped_frames.tolist() == [3, 7, 8]
    assert frames.edges[2] == pytest.approx(0.2) and frames.edges[3] == pytest.approx(0.4)
    assert any(
        "7 frame times but the stimulus has 10 frames: 3 fewer" in w for w in frames.warnings
    )
    assert any("fill_dropped=True makes them match" in w for w in frames.warnings)


def test_message_uses_readable_thousands():
    triggers = np.arange(36_000) / 60.0
    missing = 1024 + np.arange(312) * 100
    frames = frame_times_from_triggers(np.delete(triggers, missing), expected_frames=36_000)
    assert "312 of 36 000 frames had no trigger, first at frame 1 024" in frames.summary()


def test_long_pause_is_irregular_not_dropped_frames():
    triggers = np.concatenate([np.arange(50) / 10.0, 30 + np.arange(50) / 10.0])
    frames = frame_times_from_triggers(triggers, fill_dropped=True)
    assert frames.dropped_frames.size == 0
    assert frames.irregular_intervals.tolist() == [49]
    assert "epochs" in frames.warnings[0]


def test_fill_with_kept_duplicates_is_refused():
    triggers = np.array([0.0, 0.1, 0.105, 0.2, 0.4, 0.5])
    with pytest.raises(TimingError, match="drop_duplicates"):
        frame_times_from_triggers(triggers, fill_dropped=True)


def test_bounce_burst_collapses_onto_first_trigger_only():
    triggers = np.array([0.0, 0.1, 0.101, 0.102, 0.103, 0.2, 0.3])
    frames = frame_times_from_triggers(triggers, drop_duplicates=True)
    assert frames.duplicate_triggers.tolist() == [2, 3, 4]
    np.testing.assert_allclose(frames.times, [0.0, 0.1, 0.2, 0.3])


def test_frames_per_trigger_spaces_frames_evenly():
    frames = frame_times_from_triggers([0.0, 1.0, 2.0], frames_per_trigger=4)
    np.testing.assert_allclose(frames.times, np.arange(12) / 4.0)
    assert frames.edges[-1] == pytest.approx(3.0)


def test_timestamps_and_signal_agree_with_triggers():
    onsets = np.arange(30) / 30.0 + 0.05
    from_signal = frame_times_from_signal(pulse_train(onsets), 10_000.0, expected_frames=30)
    from_stamps = frame_times_from_timestamps(onsets, expected_frames=30)
    np.testing.assert_allclose(from_signal.times, from_stamps.times, atol=1e-4)
    assert from_signal.ok and from_stamps.source == "timestamps"
    assert "30 rising edges detected" in from_signal.notes[0]


@pytest.mark.parametrize(
    ("triggers", "error"),
    [([0.0], TimingError), ([0.0, 0.2, 0.1], TimingError), ([0.0, np.nan, 1.0], NonFiniteError)],
)
def test_bad_trigger_arrays_are_refused(triggers, error):
    with pytest.raises(error):
        frame_times_from_triggers(triggers)


def test_as_edges_checks_order():
    with pytest.raises(TimingError, match="increase"):
        as_edges([0.0, 1.0, 1.0])
    with pytest.raises(ShapeError):
        as_edges([0.0])


# --- spikes ------------------------------------------------------------------------------


EDGES = np.array([0.0, 1.0, 2.0, 3.0])


def test_counts_per_frame_by_hand():
    times = [0.0, 0.5, 0.99, 1.0, 2.5, 3.0, -0.1, 2.999]
    ids = [7, 7, 3, 3, 7, 7, 3, 3]
    binned = bin_spikes(times, EDGES, time_unit="s", unit_ids=ids)
    assert binned.unit_ids.tolist() == [3, 7]
    np.testing.assert_array_equal(binned.values, [[1, 1, 1], [2, 0, 1]])
    assert binned.n_before.tolist() == [1, 0] and binned.n_after.tolist() == [0, 1]
    assert binned.n_inside.tolist() == [3, 3]
    assert binned.values.dtype == np.float32 and binned.unit == "spikes/bin"
    assert "2 of 8 spikes (25 %) fell outside" in binned.summary()


def test_list_input_samples_and_hz():
    per_unit = [np.array([100, 1500, 2500]), np.array([], dtype=np.int64)]
    edges = np.array([0.0, 0.1, 0.3])
    binned = bin_spikes(
        per_unit, edges, time_unit="samples", sampling_rate_hz=10_000.0, output="hz"
    )
    np.testing.assert_allclose(binned.values, [[10.0, 10.0], [0.0, 0.0]])
    assert binned.unit == "Hz"
    assert any("1 of 2 units have no spikes at all: ids 1" in w for w in binned.warnings)


def test_kilosort_shaped_arrays_bin_as_samples():
    spike_times = np.array([[300], [30_000], [30_001], [75_000]], dtype=np.uint64)  # (n, 1)
    spike_clusters = np.array([4, 4, 9, 9], dtype=np.int32)
    binned = bin_spikes(
        spike_times, EDGES, time_unit="samples", sampling_rate_hz=30_000.0, unit_ids=spike_clusters
    )
    assert binned.unit_ids.tolist() == [4, 9]
    np.testing.assert_array_equal(binned.values, [[1, 1, 0], [0, 1, 1]])


def test_start_s_moves_spikes_onto_the_frame_clock():
    binned = bin_spikes([[0.5, 1.2]], EDGES, time_unit="s", start_s=1.0)
    np.testing.assert_array_equal(binned.values, [[0, 1, 1]])


def test_units_selects_and_orders_rows():
    binned = bin_spikes(
        [0.5, 1.5, 2.5, 0.5], EDGES, time_unit="s", unit_ids=[1, 2, 3, 2], units=[3, 2, 9]
    )
    np.testing.assert_array_equal(binned.values, [[0, 0, 1], [1, 1, 0], [0, 0, 0]])
    assert binned.unit_ids.tolist() == [3, 2, 9]


def test_huge_unit_ids_take_the_search_path_with_the_same_result():
    times = [0.5, 1.5, 2.5, 0.7]
    binned = bin_spikes(times, EDGES, time_unit="s", unit_ids=[10**12, 5, 10**12, 5])
    assert binned.unit_ids.tolist() == [5, 10**12]
    np.testing.assert_array_equal(binned.values, [[1, 1, 0], [1, 0, 1]])
    chosen = bin_spikes(
        times, EDGES, time_unit="s", unit_ids=[10**12, 5, 10**12, 5], units=[10**12]
    )
    np.testing.assert_array_equal(chosen.values, [[1, 0, 1]])


def test_units_listed_twice_are_refused():
    with pytest.raises(ShapeError, match="more than once: 3"):
        bin_spikes([0.5], EDGES, time_unit="s", unit_ids=[3], units=[3, 3])


@pytest.mark.parametrize("sort_times", [True, False])
def test_counts_match_a_histogram_per_unit(sort_times):
    rng = np.random.default_rng(1)
    times = rng.uniform(-1, 11, 5000)
    times = np.sort(times) if sort_times else times
    ids = rng.integers(0, 40, times.size)
    edges = np.linspace(0, 10, 101)
    flat = bin_spikes(times, edges, time_unit="s", unit_ids=ids).values
    per_unit = bin_spikes([times[ids == u] for u in range(40)], edges, time_unit="s").values
    expected = np.stack([np.histogram(times[ids == u], edges)[0] for u in range(40)])
    np.testing.assert_array_equal(flat, expected)
    np.testing.assert_array_equal(per_unit, expected)


def test_sample_indices_given_as_seconds_are_refused():
    samples = np.arange(1000) * 30_000.0 / 5  # 5 spikes/s at 30 kHz over 200 s, as samples
    edges = np.linspace(0, 200, 6001)
    with pytest.raises(TimingError, match="after the stimulus") as info:
        bin_spikes([samples], edges, time_unit="s")
    assert "sample indices" in info.value.hint


def test_seconds_given_as_samples_are_refused():
    with pytest.raises(TimingError, match="not whole numbers") as info:
        bin_spikes([np.array([0.25, 1.5])], EDGES, time_unit="samples", sampling_rate_hz=30_000.0)
    assert "time_unit='s'" in info.value.hint


def test_spikes_beyond_the_recording_name_the_units():
    with pytest.raises(TimingError, match=r"2 spikes of 1 units \(ids 1\).*recording ends at 3 s"):
        bin_spikes([[0.5], [1.0, 3.5, 4.0]], EDGES, time_unit="s", recording_duration_s=3.0)


def test_no_spike_inside_the_stimulus_is_an_error_with_the_spans():
    with pytest.raises(TimingError, match="none of 2 spikes"):
        bin_spikes([[10.0, 11.0]], EDGES, time_unit="s")


def test_units_silent_during_the_stimulus_are_warned():
    binned = bin_spikes([[0.5], [5.0]], EDGES, time_unit="s")
    assert any("no spikes during the stimulus: ids 1" in w for w in binned.warnings)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"time_unit": "samples"}, TimingError),
        ({"time_unit": "ms"}, TimingError),
    ],
)
def test_bad_spike_arguments(kwargs, error):
    with pytest.raises(error):
        bin_spikes([np.array([0.5, 1.5])], EDGES, **kwargs)


def test_flat_array_needs_one_unit_id_per_spike():
    with pytest.raises(ShapeError, match="unit_ids"):
        bin_spikes(np.array([0.5, 1.5]), EDGES, time_unit="s")
    with pytest.raises(ShapeError, match="equally long"):
        bin_spikes(np.array([0.5, 1.5]), EDGES, time_unit="s", unit_ids=[1])


def test_nan_spike_times_are_refused():
    with pytest.raises(NonFiniteError):
        bin_spikes([[0.5, np.nan]], EDGES, time_unit="s")


@settings(max_examples=60, deadline=None)
@given(
    times=arrays(np.float64, st.integers(0, 200), elements=st.floats(-5, 15)),
    n_units=st.integers(1, 6),
    n_frames=st.integers(1, 40),
    seed=st.integers(0, 2**16),
)
def test_binning_conserves_spikes_inside_the_epoch(times, n_units, n_frames, seed):
    rng = np.random.default_rng(seed)
    edges = np.sort(rng.uniform(0, 10, n_frames + 1))
    edges[-1] += 1e-3 + edges[-1] - edges[0]  # strictly increasing, distinct ends
    edges = np.unique(edges)
    ids = rng.integers(0, n_units, times.size)
    inside = (times >= edges[0]) & (times < edges[-1])
    if times.size and not inside.any():
        return  # refused on purpose; covered above
    binned = bin_spikes(times, edges, time_unit="s", unit_ids=ids, units=np.arange(n_units))
    assert binned.values.sum() == inside.sum()
    np.testing.assert_array_equal(
        binned.values.sum(axis=1), np.bincount(ids[inside], minlength=n_units)
    )
    assert np.all(binned.values >= 0) and np.all(np.isfinite(binned.values))


# --- traces ------------------------------------------------------------------------------


def test_linear_resampling_of_a_ramp_is_exact_at_frame_centres():
    traces = np.stack([np.arange(11.0), 2 * np.arange(11.0)])  # value = 10 * t at 10 Hz
    result = resample_traces(traces, [0.0, 0.25, 0.5, 1.0], sampling_rate_hz=10.0)
    np.testing.assert_allclose(result.values, [[1.25, 3.75, 7.5], [2.5, 7.5, 15.0]])
    assert not result.warnings
    assert result.notes == (
        "1 of 11 samples (9.09 %) lie outside the stimulus (0 s to 1 s): 0 before, 1 after",
    )


def test_mean_resampling_averages_samples_inside_each_frame():
    traces = np.array([[1.0, 3.0, 5.0, 7.0, 9.0, 11.0]])
    result = resample_traces(
        traces, [0.0, 0.2, 0.6], timestamps_s=[-0.1, 0.0, 0.1, 0.2, 0.5, 0.6], method="mean"
    )
    np.testing.assert_allclose(result.values, [[4.0, 8.0]])
    assert result.n_samples_before == 1 and result.n_samples_after == 1
    assert "2 of 6 samples" in result.summary()


def test_frames_outside_the_trace_are_nan_and_reported():
    result = resample_traces(
        np.ones((2, 5)), [0.0, 1.0, 2.0, 3.0], sampling_rate_hz=2.0, start_s=1.0
    )
    assert np.isnan(result.values[:, 0]).all() and np.isfinite(result.values[:, 1:]).all()
    assert result.frames_without_samples.tolist() == [0]
    assert "1 of 3 frames have no trace samples" in result.warnings[0]


def test_mean_with_slow_sampling_suggests_linear():
    result = resample_traces(
        np.ones((1, 3)), np.arange(0, 2.01, 0.1), sampling_rate_hz=1.0, method="mean"
    )
    assert "method='linear'" in result.warnings[0]


@pytest.mark.parametrize("method", ["linear", "mean"])
def test_blocks_of_an_hdf5_trace_give_the_same_values(tmp_path, monkeypatch, method):
    traces = np.random.default_rng(0).normal(size=(300, 5000))
    edges = np.linspace(0.1, 450.0, 1200)
    whole = resample_traces(traces, edges, sampling_rate_hz=10.0, method=method).values
    with h5py.File(tmp_path / "traces.h5", "w") as file:
        file["F"] = traces
    monkeypatch.setattr("openretina_data.timing.traces._BLOCK_ELEMENTS", 3000)
    with h5py.File(tmp_path / "traces.h5", "r") as file:
        blocked = resample_traces(file["F"], edges, sampling_rate_hz=10.0, method=method).values
    np.testing.assert_allclose(blocked, whole, rtol=1e-6)
    centres = 0.5 * (edges[:-1] + edges[1:])
    if method == "linear":  # against numpy's own interpolation
        expected = np.interp(centres, np.arange(5000) / 10.0, traces[7])
        np.testing.assert_allclose(whole[7], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({}, TimingError),
        ({"sampling_rate_hz": 10.0, "timestamps_s": np.arange(5.0)}, TimingError),
        ({"timestamps_s": np.arange(4.0)}, ShapeError),
        ({"timestamps_s": [0.0, 1.0, 1.0, 2.0, 3.0]}, TimingError),
        ({"sampling_rate_hz": 10.0, "method": "cubic"}, TimingError),
    ],
)
def test_bad_trace_arguments(kwargs, error):
    with pytest.raises(error):
        resample_traces(np.ones((2, 5)), [0.0, 1.0], **kwargs)


@settings(max_examples=40, deadline=None)
@given(rate=st.floats(1, 200), n=st.integers(2, 300), method=st.sampled_from(["linear", "mean"]))
def test_resampled_values_stay_within_the_trace_range(rate, n, method):
    trace = np.random.default_rng(n).normal(size=(2, n))
    edges = np.linspace(0, (n - 1) / rate, 17)
    values = resample_traces(trace, edges, sampling_rate_hz=rate, method=method).values
    finite = values[np.isfinite(values)]
    assert np.all(finite >= trace.min() - 1e-5) and np.all(finite <= trace.max() + 1e-5)
    times = np.arange(n) / rate
    for frame in range(16):  # every frame against its definition, one by one
        if method == "mean":
            inside = (times >= edges[frame]) & (times < edges[frame + 1])
            expected = trace[:, inside].mean(axis=1) if inside.any() else np.full(2, np.nan)
        else:
            centre = 0.5 * (edges[frame] + edges[frame + 1])
            expected = np.array([np.interp(centre, times, row) for row in trace])
        np.testing.assert_allclose(values[:, frame], expected, rtol=1e-4, atol=1e-5)


# --- repeats and reliability -------------------------------------------------------------


def test_split_repeats_by_hand():
    responses = np.arange(20.0).reshape(2, 10)
    split = split_repeats(responses, [1, 4, 7], 3)
    assert split.by_trial.shape == (3, 2, 3)
    np.testing.assert_array_equal(split.by_trial[1], [[4, 5, 6], [14, 15, 16]])
    np.testing.assert_array_equal(split.mean, [[4, 5, 6], [14, 15, 16]])
    assert split_repeats(responses, [0, 5]).by_trial.shape == (2, 2, 5)


def test_repeats_that_do_not_fit_are_refused():
    with pytest.raises(TimingError, match="do not fit"):
        split_repeats(np.zeros((2, 10)), [0, 6], 5)
    with pytest.raises(TimingError, match="increasing"):
        split_repeats(np.zeros((2, 10)), [4, 2], 2)


def test_split_trials_cuts_to_the_shortest_and_says_so():
    split = split_trials(np.arange(30.0).reshape(1, 30), [[0, 10], [10, 19], [20, 30]])
    assert split.by_trial.shape == (3, 1, 9)
    assert "2 trials (numbers 0, 2) were cut to 9 frames" in split.warnings[0]


def test_reliability_of_identical_trials_is_one_and_of_noise_is_near_zero():
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(1, 200))
    identical = np.repeat(signal[None], 4, axis=0)
    noise = rng.normal(size=(10, 1, 5000))
    constant = np.zeros((4, 1, 200))
    by_trial = np.concatenate([identical, noise[:4, :, :200], constant], axis=1)
    np.testing.assert_allclose(split_half_reliability(by_trial)[0], 1.0)
    np.testing.assert_allclose(leave_one_out_reliability(by_trial)[0], 1.0)
    assert np.isnan(split_half_reliability(by_trial)[2])
    assert np.isnan(leave_one_out_reliability(by_trial)[2])
    assert abs(leave_one_out_reliability(noise)[0]) < 0.05
    assert abs(split_half_reliability(noise, n_splits=5)[0]) < 0.1


def test_spearman_brown_by_hand():
    # even trials are all x, odd trials all y: the half means are x and y
    x = np.array([1.0, -1.0, 1.0, -1.0])
    y = np.array([1.0, 0.0, 0.0, -1.0])
    r = (
        (x - x.mean())
        @ (y - y.mean())
        / np.sqrt(((x - x.mean()) ** 2).sum() * ((y - y.mean()) ** 2).sum())
    )
    by_trial = np.stack([x, y, x, y])[:, None, :]
    np.testing.assert_allclose(split_half_reliability(by_trial)[0], 2 * r / (1 + r))


@settings(max_examples=40, deadline=None)
@given(
    trials=st.integers(2, 8),
    neurons=st.integers(1, 5),
    length=st.integers(3, 60),
    seed=st.integers(0, 999),
)
def test_reliability_is_a_bounded_correlation(trials, neurons, length, seed):
    data = np.random.default_rng(seed).normal(size=(trials, neurons, length))
    data[:, 0] += np.linspace(0, 3, length)  # one neuron with a shared signal
    loo = leave_one_out_reliability(data)
    half = split_half_reliability(data, n_splits=3, seed=seed)
    assert loo.shape == half.shape == (neurons,)
    assert np.all((loo >= -1 - 1e-9) & (loo <= 1 + 1e-9))
    assert np.all(half[np.isfinite(half)] <= 1 + 1e-9)
    shuffled = data[np.random.default_rng(seed).permutation(trials)]
    np.testing.assert_allclose(
        leave_one_out_reliability(shuffled), loo
    )  # trial order is irrelevant


def test_reliability_needs_two_trials():
    with pytest.raises(ShapeError):
        split_half_reliability(np.zeros((1, 2, 5)))


# --- epochs ------------------------------------------------------------------------------


def test_trigger_blocks_split_at_pauses_and_take_names():
    a = np.arange(100) / 30.0
    b = 10.0 + np.arange(60) / 30.0
    stray = [20.0]
    blocks = find_trigger_blocks(np.concatenate([a, b, stray]), min_triggers=2)
    assert [(e.first_trigger, e.n_triggers) for e in blocks] == [(0, 100), (100, 60)]
    assert blocks[1].start_s == 10.0 and blocks[1].stop_s == pytest.approx(12.0)
    with_drop = np.delete(np.concatenate([a, b]), np.arange(40, 50))  # 10 frames lost
    assert len(find_trigger_blocks(with_drop)) == 2  # a dropped-frame gap is not a break
    named = name_epochs(blocks, ["natural", "noise"])
    assert [e.name for e in named] == ["natural", "noise"]
    assert check_block_lengths(named, [100, 90]) == [
        "noise: 60 triggers but 90 expected (30 missing)"
    ]
    with pytest.raises(
        TimingError, match="3 stimuli .* but 2 trigger blocks: block 0: 100 triggers"
    ):
        name_epochs(blocks, ["a", "b", "c"])


def test_epochs_from_intervals_count_triggers():
    triggers = np.arange(0, 10, 0.5)
    epochs = epochs_from_intervals([[0.0, 2.0], [5.0, 6.0]], triggers, names=["x", "y"])
    assert epochs[0] == Epoch(0.0, 2.0, 0, 4, "x")
    assert epochs[1].trigger_slice == slice(10, 12)
    with pytest.raises(TimingError, match="ends before"):
        epochs_from_intervals([[2.0, 1.0]])


def test_the_module_docstring_example_runs():
    result = doctest.testmod(openretina_data.timing)
    assert result.attempted > 0 and result.failed == 0
