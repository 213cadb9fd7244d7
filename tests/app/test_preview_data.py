"""The preview's Qt-free helpers."""

from __future__ import annotations

import numpy as np
import pytest

from app.preview_data import ResponseView, TrialsView, alignment_check, suggested_lag
from openretina_data.preview import StimulusView


@pytest.mark.parametrize(("best", "expected"), [(2, 0), (9, 0), (14, 12), (-3, 0)])
def test_suggested_lag_moves_a_late_peak_to_a_typical_latency(best: int, expected: int) -> None:
    assert suggested_lag(best, frame_rate_hz=30.0) == expected


def test_response_and_trial_views_read_windows_of_the_recording_clock() -> None:
    recording = np.arange(3 * 100, dtype=np.float32).reshape(3, 100)  # neurons, frames
    reads: list[tuple[int, int]] = []

    def read(start: int, stop: int) -> np.ndarray:
        reads.append((start, stop))
        return recording[:, start:stop]

    epoch = ResponseView(read, n_neurons=3, n_frames=20, offset=40)
    np.testing.assert_array_equal(epoch[:, 5:10], recording[:, 45:50])
    assert reads == [(45, 50)]  # only the window was read
    trials = TrialsView(read, n_trials=3, n_neurons=3, n_frames=20, offset=40)
    np.testing.assert_array_equal(trials[:, 1:2, :][:, 0], recording[1, 40:100].reshape(3, 20))


def test_the_alignment_check_finds_a_known_receptive_field_and_lag() -> None:
    rng = np.random.default_rng(1)
    movie = rng.standard_normal((1, 4000, 6, 6)).astype(np.float32)
    drive = movie[0, :, 2, 4]  # each neuron sees pixel (2, 4), 3 frames later
    responses = np.zeros((2, 4000), np.float32)
    responses[:, 3:] = np.maximum(drive[:-3], 0) * np.array([[1.0], [2.0]])
    result = alignment_check(StimulusView(movie, "cthw"), responses, 30.0, max_lag=6)
    assert result.best_lag == 3
    for rf in result.receptive_fields:
        assert np.unravel_index(np.abs(rf).argmax(), rf.shape) == (2, 4)
    assert result.suggested_lag == 0  # 100 ms is a plausible latency: nothing to fix
