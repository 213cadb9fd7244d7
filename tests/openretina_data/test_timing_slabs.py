"""Timing functions on one slab of a longer recording: sample offsets, edge noise, windows."""

from __future__ import annotations

import numpy as np
import pytest

from openretina_data.errors import TimingError
from openretina_data.timing import bin_spikes, resample_traces


@pytest.mark.parametrize("method", ["linear", "mean"])
def test_a_slab_with_its_first_sample_gives_the_whole_traces_values(method: str) -> None:
    rng = np.random.default_rng(3)
    rate, n_samples = 31.0, 2000
    traces = rng.normal(size=(4, n_samples))
    edges = 1.3 + np.arange(301) / 15.0  # frames at 15 Hz from 1.3 s
    whole = resample_traces(traces, edges, sampling_rate_hz=rate, method=method)  # type: ignore[arg-type]
    part = edges[100:201]
    first, last = int(part[0] * rate) - 1, int(np.ceil(part[-1] * rate)) + 2
    slab = resample_traces(
        traces[:, first:last],
        part,
        sampling_rate_hz=rate,
        first_sample=first,
        method=method,  # type: ignore[arg-type]
    )
    np.testing.assert_array_equal(slab.values, whole.values[:, 100:200])
    assert slab.frames_without_samples.size == 0


def test_edges_a_rounding_error_off_a_sample_are_put_on_it() -> None:
    rate = 10.0
    traces = np.arange(12, dtype=np.float64)[None, :]
    edges = 0.1 * np.arange(11)  # 0.1 * 3 is 0.30000000000000004, a hair after sample 3
    assert edges[3] > 3 / rate
    noisy = resample_traces(traces, edges, sampling_rate_hz=rate, method="mean")
    assert 3 in noisy.frames_without_samples  # sample 3 slipped into frame 2
    snapped = resample_traces(
        traces, edges, sampling_rate_hz=rate, method="mean", edge_tolerance_samples=1e-6
    )
    np.testing.assert_array_equal(snapped.values[0], np.arange(10))
    assert snapped.frames_without_samples.size == 0


def test_edges_far_from_a_sample_are_not_moved() -> None:
    rate = 10.0
    traces = np.arange(12, dtype=np.float64)[None, :]
    edges = 0.1 * np.arange(11) + 0.05  # half a sample off: nothing to snap
    given = resample_traces(traces, edges, sampling_rate_hz=rate, method="linear")
    snapped = resample_traces(
        traces, edges, sampling_rate_hz=rate, method="linear", edge_tolerance_samples=1e-6
    )
    np.testing.assert_array_equal(snapped.values, given.values)


def test_a_window_without_spikes_is_empty_not_an_error() -> None:
    times = np.array([0.05, 0.12, 2.5, 2.7])
    ids = np.array([0, 1, 0, 1])
    edges = np.linspace(1.0, 2.0, 11)  # the spikes lie in the windows before and after
    with pytest.raises(TimingError, match="none of 4 spikes"):
        bin_spikes(times, edges, time_unit="s", unit_ids=ids)
    windowed = bin_spikes(times, edges, time_unit="s", unit_ids=ids, window=True)
    assert windowed.values.shape == (2, 10) and not windowed.values.any()
    assert windowed.notes == () and windowed.warnings == ()


def test_windows_sharing_edges_count_every_spike_once() -> None:
    rng = np.random.default_rng(5)
    times = np.sort(rng.uniform(0.0, 10.0, 4000))
    ids = rng.integers(0, 7, times.size)
    edges = 0.1 * np.arange(101)  # rounding makes some edges a hair off k / 10
    times[:50] = edges[rng.integers(0, 100, 50)]  # spikes exactly on edges
    order = np.argsort(times, kind="stable")
    times, ids = times[order], ids[order]
    whole = bin_spikes(times, edges, time_unit="s", unit_ids=ids, units=np.arange(7))
    slabs = [
        bin_spikes(
            times, edges[a : a + 26], time_unit="s", unit_ids=ids, units=np.arange(7), window=True
        ).values
        for a in range(0, 100, 25)
    ]
    np.testing.assert_array_equal(np.concatenate(slabs, axis=1), whole.values)
    assert whole.values.sum() == np.count_nonzero(times < edges[-1])
