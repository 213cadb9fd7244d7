"""The alignment tab suggests a lag only when the receptive fields vouch for it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.preview_data import alignment_check
from app.screenshots import wait_until
from app.wizard import ImportWizard
from openretina_data.preview import StimulusView


def _go_to(wizard: ImportWizard, page_id: str) -> None:
    while wizard.currentPage() is not wizard.pages[page_id]:
        wizard.next()


def _late_ln_cells(n_time: int, late: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """White noise and Poisson cells with a one-pixel RF, latency 1 frame, stamped ``late`` late."""
    rng = np.random.default_rng(seed)
    stimulus = rng.choice(np.array([-1.0, 1.0], np.float32), size=(n_time, 6, 6))
    drive = np.zeros((3, n_time))
    for n, (y, x) in enumerate([(1, 1), (3, 4), (5, 2)]):
        drive[n, 1 + late :] = stimulus[: n_time - 1 - late, y, x]
    return stimulus, rng.poisson(0.3 * np.exp(drive)).astype(np.float32)


def test_noise_responses_suggest_nothing_and_disable_apply(wizard: ImportWizard) -> None:
    rng = np.random.default_rng(1)
    stimulus = rng.choice(np.array([-1.0, 1.0], np.float32), size=(3000, 6, 6))
    noise = rng.poisson(0.8, size=(5, 3000)).astype(np.float32)
    result = alignment_check(StimulusView(stimulus, "thw"), noise, 30.0)
    assert result.verdict == "no_receptive_field" and result.suggested_lag == 0
    view = wizard.pages["preview"].alignment
    view.show_result(result)
    assert not view.apply_button.isEnabled()
    assert "cannot confirm the timing" in view.text.text()
    assert "Suggested" not in view.text.text()


def test_a_clear_late_peak_suggests_its_lag(wizard: ImportWizard) -> None:
    # responses 12 frames late at 30 Hz: the RFs peak at 13 frames (433 ms), no latency
    stimulus, spikes = _late_ln_cells(4000, late=12)
    result = alignment_check(StimulusView(stimulus, "thw"), spikes, 30.0)
    assert result.verdict == "misaligned" and result.best_lag == 13
    assert result.suggested_lag == 13 - 2  # to a typical latency of 66 ms (2 frames)
    view = wizard.pages["preview"].alignment
    view.show_result(result)
    assert view.apply_button.isEnabled() and view.lag.value() == 11
    assert "Suggested: apply a lag of 11 frames" in view.text.text()


def test_the_examples_short_test_clip_is_too_few_frames(
    wizard: ImportWizard, example_recipe: Path
) -> None:
    assert wizard.open_recipe(example_recipe)
    _go_to(wizard, "preview")
    page = wizard.pages["preview"]
    assert wait_until(lambda: not page.busy and page.preview.data is not None, 30)
    page.epoch.setCurrentIndex(1)  # test_clip: 150 frames
    assert wait_until(lambda: not page.busy and page.preview.data is not None, 30)
    page.run_alignment()
    assert wait_until(lambda: page.alignment.result is not None, 60)
    assert page.alignment.result.verdict == "too_few_frames"
    assert page.alignment.text.text().count("Too few frames to judge") == 1
    assert not page.alignment.apply_button.isEnabled()
