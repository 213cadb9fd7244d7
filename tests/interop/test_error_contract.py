"""openretina's error contract: every mistake openretina 1.1.1 itself detects in ``base``,
``base_dataloader`` and ``h5_dataset_reader`` is run through openretina and through us.

Ours must be caught by the ``except`` clause written for openretina's (an instance of the
class openretina raised: ``AssertionError`` where it asserts, ``ValueError`` where it
raises one, ...), begin with openretina's own first sentence, and go on to say where the
problem is and what to do (an :class:`~openretina_data.errors.OpenRetinaDataError` with a
hint). The expected type and sentence are never written here: they come from running
openretina on the same input.

openretina is imported at module level: without it these tests fail; never skipped.
"""

from __future__ import annotations

import re
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import h5py
import numpy as np
import pytest
import torch
from openretina.data_io import base as reference_base
from openretina.data_io import base_dataloader as reference_base_dataloader
from openretina.data_io import h5_dataset_reader as reference_h5

from openretina_data import base, base_dataloader, h5_dataset_reader
from openretina_data.errors import OpenRetinaDataError

pytestmark = pytest.mark.interop

OPENRETINA = SimpleNamespace(base=reference_base, loader=reference_base_dataloader, h5=reference_h5)
OURS = SimpleNamespace(base=base, loader=base_dataloader, h5=h5_dataset_reader)

rng = np.random.default_rng(0)


def movie(channels: int = 3, frames: int = 100, height: int = 8, width: int = 8) -> np.ndarray:
    return rng.standard_normal((channels, frames, height, width)).astype(np.float32)


def responses(neurons: int = 10, frames: int = 100) -> np.ndarray:
    return rng.standard_normal((neurons, frames)).astype(np.float32)


TRAIN, TEST = movie(), movie(frames=50)
R_TRAIN, R_TEST = responses(), responses(frames=50)


def write_dataset(
    folder: Path,
    stimuli: dict[str, np.ndarray] | None = None,
    session: dict[str, np.ndarray] | None = None,
) -> str:
    """A native folder: ``stimuli/<name>.npy`` and one session ``s0.hdf5`` (written here with
    numpy and h5py, not with our writer)."""
    stimuli = {"natural": movie(1, 100, 4, 4), "test": movie(1, 50, 4, 4)} | (stimuli or {})
    session = {"responses_natural": responses(3, 100), "responses_test": responses(3, 50)} | (
        session or {}
    )
    (folder / "stimuli").mkdir(parents=True, exist_ok=True)
    for name, array in stimuli.items():
        np.save(folder / "stimuli" / f"{name}.npy", array)
    with h5py.File(folder / "s0.hdf5", "w") as file:
        for key, array in session.items():
            file.create_dataset(key, data=array)
    return str(folder)


def two_sessions(lib: Any, means: tuple, stds: tuple, sizes: tuple) -> tuple[dict, dict]:
    movies = {
        f"s{i}": lib.base.MoviesTrainTestSplit(
            train=movie(1, 100, size, size), test=movie(1, 50, size, size), norm_mean=m, norm_std=s
        )
        for i, (m, s, size) in enumerate(zip(means, stds, sizes, strict=True))
    }
    neurons = {s: lib.base.ResponsesTrainTestSplit(train=R_TRAIN, test=R_TEST) for s in movies}
    return neurons, movies


def loader_inputs() -> tuple[np.ndarray, torch.Tensor]:
    return movie(1, 100, 4, 4), torch.as_tensor(responses(3, 100).T)


# Each mistake: (id, what to call with ``lib`` = openretina's modules or ours, and a tmp folder).
MISTAKES: list[tuple[str, Callable[[Any, Path], Any]]] = [
    # --- base.MoviesTrainTestSplit
    ("movies: neither test nor test_dict", lambda lib, _: lib.base.MoviesTrainTestSplit(TRAIN)),
    (
        "movies: both test and test_dict",
        lambda lib, _: lib.base.MoviesTrainTestSplit(TRAIN, test=TEST, test_dict={"other": TEST}),
    ),
    (
        "movies: 3-D train movie",
        lambda lib, _: lib.base.MoviesTrainTestSplit(TRAIN[0], test=TEST),
    ),
    (
        "movies: 3-D test movie",
        lambda lib, _: lib.base.MoviesTrainTestSplit(TRAIN, test_dict={"test": TEST[0]}),
    ),
    (
        "movies: test movies of different frame sizes",
        lambda lib, _: lib.base.MoviesTrainTestSplit(
            TRAIN, test_dict={"test1": TEST, "test2": TEST, "test3": movie(3, 50, 16, 16)}
        ),
    ),
    (
        "movies: test movie with other channels",
        lambda lib, _: lib.base.MoviesTrainTestSplit(TRAIN, test=movie(2, 50)),
    ),
    (
        "movies: test movie with other frame size",
        lambda lib, _: lib.base.MoviesTrainTestSplit(TRAIN, test=movie(3, 50, 16, 16)),
    ),
    (
        "movies: test_movie with several test movies",
        lambda lib, _: (
            lib.base.MoviesTrainTestSplit(TRAIN, test_dict={"a": TEST, "b": TEST}).test_movie
        ),
    ),
    # --- base.ResponsesTrainTestSplit
    (
        "responses: neither test nor test_dict",
        lambda lib, _: lib.base.ResponsesTrainTestSplit(R_TRAIN),
    ),
    (
        "responses: both test and test_dict",
        lambda lib, _: lib.base.ResponsesTrainTestSplit(
            R_TRAIN, test=R_TEST, test_dict={"other": R_TEST}
        ),
    ),
    (
        "responses: test_by_trial with several test stimuli",
        lambda lib, _: lib.base.ResponsesTrainTestSplit(
            R_TRAIN, test_dict={"a": R_TEST, "b": R_TEST}, test_by_trial=R_TEST[None]
        ),
    ),
    (
        "responses: test_by_trial_dict key without test responses",
        lambda lib, _: lib.base.ResponsesTrainTestSplit(
            R_TRAIN, test=R_TEST, test_by_trial_dict={"other": R_TEST[None]}
        ),
    ),
    (
        "responses: train and test neurons differ",
        lambda lib, _: lib.base.ResponsesTrainTestSplit(R_TRAIN, test=responses(5, 50)),
    ),
    (
        "responses: test responses with different neuron counts",
        lambda lib, _: lib.base.ResponsesTrainTestSplit(
            R_TRAIN, test_dict={"a": R_TEST, "b": responses(5, 50)}
        ),
    ),
    (
        "responses: 3-D test responses",
        lambda lib, _: lib.base.ResponsesTrainTestSplit(
            R_TRAIN, test_dict={"test": R_TEST[..., None]}
        ),
    ),
    (
        "responses: test_response with several test stimuli",
        lambda lib, _: (
            lib.base.ResponsesTrainTestSplit(
                R_TRAIN, test_dict={"a": R_TEST, "b": R_TEST}
            ).test_response
        ),
    ),
    # --- check_matching_stimulus
    (
        "matching: train lengths differ",
        lambda lib, _: lib.base.ResponsesTrainTestSplit(
            R_TRAIN, test=R_TEST
        ).check_matching_stimulus(lib.base.MoviesTrainTestSplit(movie(frames=90), test=TEST)),
    ),
    (
        "matching: test names differ",
        lambda lib, _: lib.base.ResponsesTrainTestSplit(
            R_TRAIN, test_dict={"test1": R_TEST}
        ).check_matching_stimulus(lib.base.MoviesTrainTestSplit(TRAIN, test_dict={"test2": TEST})),
    ),
    (
        "matching: test lengths differ",
        lambda lib, _: lib.base.ResponsesTrainTestSplit(
            R_TRAIN, test=R_TEST
        ).check_matching_stimulus(lib.base.MoviesTrainTestSplit(TRAIN, test=movie(frames=40))),
    ),
    (
        "matching: stim_id differs",
        lambda lib, _: lib.base.ResponsesTrainTestSplit(
            R_TRAIN, test=R_TEST, stim_id="a"
        ).check_matching_stimulus(lib.base.MoviesTrainTestSplit(TRAIN, test=TEST, stim_id="b")),
    ),
    # --- compute_data_info
    (
        "data info: normalisation means differ",
        lambda lib, _: lib.base.compute_data_info(*two_sessions(lib, (0.0, 5.0), (1, 1), (4, 4))),
    ),
    (
        "data info: normalisation stds differ",
        lambda lib, _: lib.base.compute_data_info(*two_sessions(lib, (0.0, 0.0), (1, 5), (4, 4))),
    ),
    (
        "data info: frame sizes differ across sessions",
        lambda lib, _: lib.base.compute_data_info(*two_sessions(lib, (0.0, 0.0), (1, 1), (4, 6))),
    ),
    # --- base_dataloader
    (
        "loader: training chunk longer than a scene",
        lambda lib, _: lib.loader.get_movie_dataloader(
            *loader_inputs(),
            split="train",
            scene_length=10,
            chunk_size=20,
            batch_size=1,
            allow_over_boundaries=False,
        ),
    ),
    (
        "loader: unknown split",
        lambda lib, _: lib.loader.get_movie_dataloader(
            *loader_inputs(), split="bogus", scene_length=10, chunk_size=10, batch_size=1
        ),
    ),
    (
        "loader: sessions of responses and movies differ",
        lambda lib, _: lib.loader.multiple_movies_dataloaders(
            {"a": lib.base.ResponsesTrainTestSplit(R_TRAIN, test=R_TEST)},
            {"b": lib.base.MoviesTrainTestSplit(TRAIN, test=TEST)},
        ),
    ),
    # --- h5_dataset_reader
    (
        "reader: dataset folder missing",
        lambda lib, tmp: lib.h5.load_stimuli(str(tmp / "missing"), ["test"], [1, 4, 4], None, None),
    ),
    (
        "reader: stimulus_size without channels",
        lambda lib, tmp: lib.h5.load_stimuli(write_dataset(tmp), ["test"], [4, 4], None, None),
    ),
    (
        "reader: 3-D stimulus file",
        lambda lib, tmp: lib.h5.load_stimuli(
            write_dataset(tmp, stimuli={"natural": movie(1, 100, 4, 4)[0]}),
            ["test"],
            [1, 4, 4],
            None,
            None,
        ),
    ),
    (
        "reader: stimulus file of another frame size",
        lambda lib, tmp: lib.h5.load_stimuli(
            write_dataset(tmp, stimuli={"natural": movie(1, 100, 6, 4)}),
            ["test"],
            [1, 4, 4],
            None,
            None,
        ),
    ),
    (
        "reader: session-specific stimulus of another frame size",
        lambda lib, tmp: lib.h5.load_stimuli(
            write_dataset(tmp, session={"stimulus_natural": movie(1, 100, 6, 4)}),
            ["test"],
            [1, 4, 4],
            None,
            None,
        ),
    ),
    (
        "reader: train and test responses of different neuron counts",
        lambda lib, tmp: lib.h5.load_responses(
            write_dataset(tmp, session={"responses_test": responses(5, 50)}), ["test"]
        ),
    ),
]


def first_sentence(error: BaseException) -> str:
    """openretina's message up to the first full stop, colon or ", but" (where the values
    it interpolates begin); a tuple given to ``assert`` counts by its first element."""
    text = error.args[0] if error.args else ""
    if isinstance(text, tuple):
        text = text[0]
    text = str(text)
    cut = re.search(r"\.(?=\s|$|[A-Z])|: |,\s+but\b", text)
    return text[: cut.start()] if cut else text


def raised(call: Callable[[Any, Path], Any], lib: Any, folder: Path) -> BaseException:
    """What ``call`` raises, run in an empty ``folder`` (the same for both libraries, since
    messages name paths)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            call(lib, folder)
        except Exception as error:  # noqa: BLE001 -- whatever it is, it is compared below
            return error
    pytest.fail("no error was raised")


@pytest.mark.parametrize("call", [c for _, c in MISTAKES], ids=[i for i, _ in MISTAKES])
def test_ours_is_caught_as_openretinas_and_begins_with_its_sentence(
    call: Callable[[Any, Path], Any], tmp_path: Path
) -> None:
    theirs = raised(call, OPENRETINA, tmp_path / "data")
    ours = raised(call, OURS, tmp_path / "data")
    sentence = first_sentence(theirs)
    assert len(sentence) > 10, f"openretina's message {theirs!r} has no sentence to compare"
    assert isinstance(ours, type(theirs)), (
        f"openretina raises {type(theirs).__name__}; ours, {type(ours).__name__}, is not one"
    )
    assert isinstance(ours, OpenRetinaDataError), repr(ours)
    message = str(ours)
    assert message.startswith(sentence), f"{message!r} does not begin with {sentence!r}"
    assert ours.hint and f"hint: {ours.hint}" in message
    assert len(ours.message) > len(sentence) + 10, "nothing is said beyond openretina's sentence"


def test_first_sentence_cuts_where_values_begin() -> None:
    cases = {
        "Train movie and responses should have the same timebins.Got 10 and 20.": (
            "Train movie and responses should have the same timebins"
        ),
        "Inconsistent test shapes: test_shapes={(3,)}": "Inconsistent test shapes",
        "Expected four dimensional stimulus (channels, time, height, width),  but stimulus x": (
            "Expected four dimensional stimulus (channels, time, height, width)"
        ),
        "The spatial dimensions of stimulus /d/a.npy did not match the size: x": (
            "The spatial dimensions of stimulus /d/a.npy did not match the size"
        ),
    }
    for text, sentence in cases.items():
        assert first_sentence(ValueError(text)) == sentence
    assert first_sentence(AssertionError(("A tuple message.", "Got 3"))) == "A tuple message"
