"""Alignment check: recover a known receptive field and a known lag from simulated cells,
and say nothing when the responses carry no stimulus information."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openretina_data.alignment import (
    MIN_FRAMES_PER_LAG,
    lag_scan,
    repeat_lag_scan,
    rf_peak,
    rf_sharpness,
    rf_spatial_map,
    rf_time_course,
    spike_triggered_average,
)
from openretina_data.errors import NonFiniteError, ShapeError, TimingError
from openretina_data.timing import bin_spikes, frame_times_from_rate

LATENCY = 2  # frames from the stimulus to the peak of the temporal kernel
KERNEL = np.array([0.0, 0.3, 1.0, 0.4, -0.3, -0.1])  # weight of stimulus frame t - lag


def ln_population(n_time=6000, size=10, seed=0, channels=None):
    """White noise and Poisson LN neurons with known RFs: (stimulus, spikes, spatial RFs)."""
    rng = np.random.default_rng(seed)
    shape = (n_time, size, size) if channels is None else (channels, n_time, size, size)
    stimulus = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=shape)
    yy, xx = np.mgrid[:size, :size]
    centres = [(2, 3), (6, 7), (5, 2)]
    signs = [1.0, -1.0, 1.0]
    spatial = np.stack(
        [
            s * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 2.0)
            for (cy, cx), s in zip(centres, signs, strict=True)
        ]
    )
    movie = stimulus if channels is None else stimulus[0]  # channel 0 drives the cells
    projected = movie.reshape(n_time, -1) @ spatial.reshape(len(centres), -1).T  # (time, neurons)
    drive = np.zeros_like(projected)
    for lag, weight in enumerate(KERNEL):
        drive[lag:] += weight * projected[: n_time - lag]
    rate = 0.2 * np.exp(0.6 * drive)
    spikes = rng.poisson(rate).T.astype(np.float32)  # (neurons, time)
    return stimulus, spikes, spatial


def shift(responses, k):
    """Responses stamped k frames late: shifted[t] = responses[t - k] (zeros where unknown)."""
    out = np.zeros_like(responses)
    if k >= 0:
        out[:, k:] = responses[:, : responses.shape[1] - k]
    else:
        out[:, :k] = responses[:, -k:]
    return out


def correlation(a, b):
    a, b = np.ravel(a) - np.mean(a), np.ravel(b) - np.mean(b)
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def test_sta_recovers_the_known_receptive_field_and_time_course():
    stimulus, spikes, spatial = ln_population()
    sta = spike_triggered_average(stimulus, spikes, n_lags=8)
    assert sta.shape == (3, 8, 10, 10) and sta.dtype == np.float32
    lag, pixel = rf_peak(sta)
    assert lag.tolist() == [LATENCY] * 3
    assert pixel.tolist() == [2 * 10 + 3, 6 * 10 + 7, 5 * 10 + 2]
    maps = rf_spatial_map(sta)
    for n in range(3):
        assert correlation(maps[n], spatial[n]) > 0.9
    course = rf_time_course(sta)
    assert course.shape == (3, 8)
    for n, sign in enumerate([1, -1, 1]):  # the OFF cell's time course keeps its sign
        assert correlation(sign * course[n, : KERNEL.size], KERNEL) > 0.9


def test_sta_on_a_memmapped_colour_movie_in_small_blocks_matches_one_block(tmp_path, monkeypatch):
    stimulus, spikes, spatial = ln_population(n_time=3000, channels=2)
    path = tmp_path / "movie.npy"
    np.save(path, stimulus)
    movie = np.load(path, mmap_mode="r")
    whole = spike_triggered_average(stimulus, spikes, frame_rate_hz=10.0)
    assert whole.shape == (3, 5, 2, 10, 10)  # 0.5 s at 10 Hz
    monkeypatch.setattr("openretina_data.alignment._BLOCK_ELEMENTS", 4000)
    blocked = spike_triggered_average(movie, spikes, frame_rate_hz=10.0)
    np.testing.assert_allclose(blocked, whole, atol=1e-5)
    course = rf_time_course(whole)
    assert course.shape == (3, 2, 5)
    # channel 1 does not drive the cells: its time course is much weaker
    assert np.abs(course[:, 1]).max() < 0.3 * np.abs(course[:, 0]).max()


def test_sta_by_hand():
    stimulus = np.zeros((4, 1, 2), dtype=np.float32)
    stimulus[:, 0, 0] = [1, 0, 0, 0]
    stimulus[:, 0, 1] = [0, 1, 0, 0]
    responses = np.array([[0.0, 2.0, 0.0, 0.0]])  # two spikes at frame 1
    sta = spike_triggered_average(stimulus, responses, n_lags=2, max_frames=None)
    # lags use frames t >= 1; stimulus mean over those frames is subtracted
    # lag 0: s[1] - mean(s[1:4]) = [0, 1] - [0, 1/3]; lag 1: s[0] - mean(s[0:3]) = [1, 0] - [1/3, 1/3]
    np.testing.assert_allclose(sta[0, 0, 0], [0.0, 2 / 3], atol=1e-6)
    np.testing.assert_allclose(sta[0, 1, 0], [2 / 3, -1 / 3], atol=1e-6)


def test_sta_ignores_response_scale_and_follows_neuron_order():
    stimulus, spikes, _ = ln_population(n_time=2000)
    sta = spike_triggered_average(stimulus, spikes, n_lags=4)
    scaled = spike_triggered_average(stimulus, 7.5 * spikes[::-1], n_lags=4)
    np.testing.assert_allclose(scaled, sta[::-1], rtol=1e-4, atol=1e-6)


def test_subsampling_keeps_the_receptive_field():
    stimulus, spikes, spatial = ln_population(n_time=12000, seed=3)
    sta = spike_triggered_average(stimulus, spikes, n_lags=6, max_frames=5000)
    assert rf_peak(sta)[0].tolist() == [LATENCY] * 3
    assert correlation(rf_spatial_map(sta)[0], spatial[0]) > 0.85


def test_silent_neuron_gets_zeros_and_signed_traces_work():
    stimulus, spikes, spatial = ln_population(n_time=3000)
    traces = np.vstack([spikes - spikes.mean(axis=1, keepdims=True), np.zeros((1, 3000))])
    sta = spike_triggered_average(stimulus, traces, n_lags=4)
    assert np.all(sta[3] == 0)
    assert rf_peak(sta[:3])[0].tolist() == [LATENCY] * 3


@pytest.mark.parametrize("k", [3, -1])
def test_lag_scan_finds_a_known_trigger_offset(k):
    stimulus, spikes, _ = ln_population(n_time=8000, seed=1)
    aligned = lag_scan(stimulus, spikes, range(-6, 10))
    assert aligned.best_lag == LATENCY and not aligned.warnings
    assert aligned.neuron_best_lag.tolist() == [LATENCY] * 3
    causal = aligned.maps[:, aligned.lags >= 0]
    assert causal.shape == (3, 10, 10, 10)
    assert rf_peak(causal)[0].tolist() == [LATENCY] * 3
    shifted = lag_scan(stimulus, shift(spikes, k), range(-6, 10))
    assert shifted.best_lag - aligned.best_lag == k
    assert shifted.score.shape == (16,) and shifted.sharpness.shape == (3, 16)
    # sharp at the peak, noise far from it
    assert shifted.score.max() > 3 * np.median(shifted.score)


def test_shifting_frame_times_by_the_found_lag_fixes_the_alignment():
    stimulus, counts, _ = ln_population(n_time=6000, seed=6)
    rate = 30.0
    # spike times in seconds: each spike somewhere inside the frame that caused it
    rng = np.random.default_rng(7)
    neuron, frame = np.nonzero(counts)
    repeats = counts[neuron, frame].astype(np.int64)
    neuron, frame = np.repeat(neuron, repeats), np.repeat(frame, repeats)
    spike_times = (frame + rng.uniform(0, 1, frame.size)) / rate
    early = frame_times_from_rate(rate, 6000, start_s=-3 / rate)  # triggers 3 frames early
    binned = bin_spikes(spike_times, early, time_unit="s", unit_ids=neuron)
    scan = lag_scan(stimulus, binned.values, range(-6, 10))
    offset = scan.best_lag - LATENCY
    assert offset == 3
    fixed = early.shifted(offset * early.frame_interval_s)
    rebinned = bin_spikes(spike_times, fixed, time_unit="s", unit_ids=neuron)
    np.testing.assert_array_equal(rebinned.values, counts)
    assert lag_scan(stimulus, rebinned.values, range(-6, 10)).best_lag == LATENCY


def test_lag_scan_warns_when_responses_precede_the_stimulus():
    stimulus, spikes, _ = ln_population(n_time=6000, seed=2)
    scan = lag_scan(stimulus, shift(spikes, -4), range(-8, 9))
    assert scan.best_lag == LATENCY - 4
    assert "precede the stimulus" in scan.warnings[0]


def test_lag_scan_warns_about_an_implausible_latency():
    stimulus, spikes, _ = ln_population(n_time=6000, seed=2)
    scan = lag_scan(stimulus, shift(spikes, 6), range(0, 12), frame_rate_hz=20.0)
    assert scan.best_lag == LATENCY + 6
    assert "longer than a retinal latency" in scan.warnings[0]


def test_a_dropped_frame_blurs_the_receptive_field():
    stimulus, spikes, _ = ln_population(n_time=8000, seed=4)
    broken = spikes.copy()
    broken[:, 4000:] = shift(spikes, 1)[:, 4000:]  # one frame lost half-way
    good = rf_sharpness(spike_triggered_average(stimulus, spikes, n_lags=6)).max(axis=1)
    blurred = rf_sharpness(spike_triggered_average(stimulus, broken, n_lags=6)).max(axis=1)
    assert np.all(blurred < 0.85 * good)


def test_repeat_lag_scan_finds_the_misaligned_repeat():
    rng = np.random.default_rng(5)
    signal = rng.gamma(1.0, size=(4, 300))  # (neurons, time) shared by every repeat
    trials = np.stack([rng.poisson(3 * signal).astype(float) for _ in range(6)])
    trials[2] = shift(trials[2], 2)
    scores = repeat_lag_scan(trials, range(-4, 5))
    assert scores.shape == (6, 9)
    best = np.arange(-4, 5)[scores.argmax(axis=1)]
    assert best.tolist() == [0, 0, 2, 0, 0, 0]
    stimulus, spikes, _ = ln_population(n_time=600)
    scan = lag_scan(stimulus, spikes, range(-4, 5), repeats=trials)
    assert scan.trial_best_lag is not None and scan.trial_best_lag.tolist() == best.tolist()


@pytest.mark.parametrize(
    ("stimulus", "responses", "error"),
    [
        (np.zeros((10, 4)), np.zeros((1, 10)), ShapeError),
        (np.zeros((10, 4, 4)), np.zeros((10, 1)), ShapeError),
        (np.zeros((10, 4, 4)), np.zeros((1, 12)), ShapeError),
        (np.zeros((3, 4, 4)), np.zeros((1, 3)), TimingError),
    ],
)
def test_bad_shapes_are_refused(stimulus, responses, error):
    with pytest.raises(error):
        spike_triggered_average(stimulus, responses, n_lags=3)


def test_nan_responses_name_neuron_and_frame():
    responses = np.zeros((2, 50))
    responses[1, 30] = np.nan
    with pytest.raises(NonFiniteError, match="neuron 1 at frame 30"):
        spike_triggered_average(np.zeros((50, 3, 3)), responses, n_lags=3)


def test_bad_lags_are_refused():
    with pytest.raises(TimingError):
        lag_scan(np.zeros((10, 2, 2)), np.zeros((1, 10)), [1, 1])
    with pytest.raises(ShapeError):
        repeat_lag_scan(np.zeros((1, 2, 10)), [0])


# --- the null distribution: a scan judges the timing only when it can -------------------


def smooth_movie(rng, n_time, size=12):
    """A slowly drifting blurred-noise movie (like a natural one): long autocorrelation."""
    coarse = rng.normal(size=(n_time // 10 + 2, size // 3 + 2, size // 3 + 2))
    t = np.linspace(0, coarse.shape[0] - 1.001, n_time)
    low = np.floor(t).astype(int)
    frac = (t - low)[:, None, None]
    movie = (1 - frac) * coarse[low] + frac * coarse[low + 1]
    return np.repeat(np.repeat(movie, 3, axis=1), 3, axis=2)[:, :size, :size].astype(np.float32)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**31 - 1),
    n_time=st.integers(400, 2500),
    n_neurons=st.integers(1, 10),
    rate=st.floats(0.05, 3.0),
    smooth=st.booleans(),
)
def test_responses_without_stimulus_information_suggest_nothing(
    seed, n_time, n_neurons, rate, smooth
):
    # Poisson spikes that never saw the stimulus: any peak in the scan is noise.
    rng = np.random.default_rng(seed)
    if smooth:
        stimulus = smooth_movie(rng, n_time)
    else:
        stimulus = rng.choice(np.array([-1.0, 1.0], np.float32), size=(n_time, 8, 8))
    responses = rng.poisson(rate, size=(n_neurons, n_time)).astype(np.float32)
    scan = lag_scan(stimulus, responses, range(-15, 16), frame_rate_hz=30.0)
    assert scan.verdict == "no_receptive_field"
    assert not scan.significant and not scan.warnings
    assert scan.null_score is not None and scan.null_score.shape == (8, 31)
    assert "cannot confirm the timing" in scan.message


@pytest.mark.parametrize("k", [0, 4, 9])
def test_a_planted_receptive_field_with_a_known_lag_is_found(k):
    # LN cells with latency 2 frames, responses stamped k frames late: the peak is at 2 + k.
    stimulus, spikes, _ = ln_population(n_time=4000, seed=11)
    scan = lag_scan(stimulus, shift(spikes, k), range(-15, 16), frame_rate_hz=20.0)
    assert scan.significant
    assert scan.best_lag == LATENCY + k
    assert scan.neuron_significant.tolist() == [True, True, True]
    # 0.3 s at 20 Hz is 6 frames: a peak at 11 frames is no retinal latency
    assert scan.verdict == ("misaligned" if (LATENCY + k) / 20.0 > 0.3 else "aligned")


def test_a_weak_cell_among_silent_ones_is_still_found():
    stimulus, spikes, _ = ln_population(n_time=5000, seed=12)
    rng = np.random.default_rng(3)
    noise = rng.poisson(0.5, size=(6, 5000)).astype(np.float32)
    scan = lag_scan(stimulus, np.vstack([spikes[:1], noise]), range(-8, 9))
    assert scan.significant and scan.best_lag == LATENCY
    assert scan.neuron_significant.tolist() == [True] + [False] * 6


def test_a_short_clip_is_too_few_frames_to_judge():
    # 150 frames for 31 lags: below MIN_FRAMES_PER_LAG per lag, even with a real RF.
    assert 150 - 30 < MIN_FRAMES_PER_LAG * 31
    stimulus, spikes, _ = ln_population(n_time=150, seed=13)
    scan = lag_scan(stimulus, spikes, range(-15, 16), frame_rate_hz=30.0)
    assert scan.verdict == "too_few_frames"
    assert scan.null_score is None and not scan.warnings
    assert scan.message.startswith("Too few frames to judge: 120 frames for 31 lags")


def test_the_null_reads_lazy_responses_in_pieces():
    # A circularly shifted copy read through a lazy array equals np.roll of the used stretch.
    from openretina_data.alignment import _CircularShift

    responses = np.arange(2 * 50, dtype=np.float32).reshape(2, 50)
    view = _CircularShift(responses, first=5, stop=45, shift=13)
    expected = np.roll(responses[:, 5:45], 13, axis=1)
    np.testing.assert_array_equal(view[:, 5:45], expected)
    np.testing.assert_array_equal(view[:, 20:31], expected[:, 15:26])
