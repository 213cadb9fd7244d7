"""The "Quick start" snippets of openretina's Data I/O page, verbatim but for the import prefix.

Source: openretina's documentation, "Data I/O" page, sections "Loading Stimuli" and
"Loading Neural Responses" (``openretina.data_io`` → ``openretina_data``).
"""

from __future__ import annotations


def test_movies_quick_start_runs_unchanged() -> None:
    # --- verbatim snippet (import prefix swapped) ---
    # fmt: off
    from openretina_data.base import MoviesTrainTestSplit  # noqa: I001
    import numpy as np

    example_stimulus = MoviesTrainTestSplit(
        train=np.random.rand(1, 200, 50, 50),  # channels, train_time, height, width
        test=np.random.rand(1, 100, 50, 50),   # channels, test_time, height, width
        stim_id=None,
        norm_mean=None,
        norm_std=None,
    )
    # fmt: on
    # --- end of snippet ---
    assert example_stimulus.train.shape == (1, 200, 50, 50)
    assert example_stimulus.test_shape == (1, 100, 50, 50)
    assert list(example_stimulus.test_dict) == ["test"]


def test_responses_quick_start_runs_unchanged() -> None:
    # --- verbatim snippet (import prefix swapped) ---
    # fmt: off
    from openretina_data.base import ResponsesTrainTestSplit  # noqa: I001
    import numpy as np

    example_responses = ResponsesTrainTestSplit(
        train=np.random.rand(60, 200),      # neurons, train_time
        test=np.random.rand(60, 100),       # neurons, test_time
        test_by_trial=np.random.rand(10, 60, 100),  # trials, neurons, test_time
        stim_id=None,
        session_kwargs={"cell_types": np.random.randint(1, 42, 60)},
    )
    # fmt: on
    # --- end of snippet ---
    assert example_responses.n_neurons == 60
    assert example_responses.get_test_by_trial().shape == (10, 60, 100)
