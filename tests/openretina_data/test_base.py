"""openretina_data.base: parity with openretina 1.1.1 on valid input, clear errors on bad input."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import os
import pickle
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import torch

from openretina_data import array_checks, base
from openretina_data.errors import (
    DataValidationError,
    InvalidNameError,
    MissingKeyError,
    NonFiniteError,
    ShapeError,
    UnsafeContentError,
)


@pytest.fixture(scope="module")
def reference() -> ModuleType:
    """openretina 1.1.1's base module; its absence is a failure, never a skip."""
    try:
        return importlib.import_module("openretina.data_io.base")
    except ImportError as error:  # pragma: no cover - environment problem
        pytest.fail(f"openretina 1.1.1 must be installed for parity tests: {error}")


def movie(
    frames: int, channels: int = 2, size: tuple[int, int] = (4, 5), seed: int = 0
) -> np.ndarray:
    return np.random.default_rng(seed).random((channels, frames, *size), dtype=np.float32)


def responses(neurons: int, bins: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).random((neurons, bins)).astype(np.float32)


# --- API surface ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "MoviesTrainTestSplit",
        "ResponsesTrainTestSplit",
        "DatasetStatistics",
        "get_n_neurons_per_session",
        "normalize_train_test_movies",
        "compute_data_info",
    ],
)
def test_signatures_match_openretina(reference: ModuleType, name: str) -> None:
    ours, theirs = getattr(base, name), getattr(reference, name)
    ours_params = inspect.signature(ours).parameters
    their_params = inspect.signature(theirs).parameters
    assert list(ours_params) == list(their_params)
    assert [p.default for p in ours_params.values()] == [p.default for p in their_params.values()]
    if dataclasses.is_dataclass(ours):
        assert [f.name for f in dataclasses.fields(ours)] == [
            f.name for f in dataclasses.fields(theirs)
        ]


def test_movies_split_matches_openretina(reference: ModuleType) -> None:
    kwargs: dict[str, Any] = dict(
        train=movie(30), test=movie(10, seed=2), stim_id="natural", norm_mean=0.5, norm_std=2.0
    )
    ours, theirs = base.MoviesTrainTestSplit(**kwargs), reference.MoviesTrainTestSplit(**kwargs)
    assert ours.test_shape == theirs.test_shape == (2, 10, 4, 5)
    assert ours.test_movie is theirs.test_movie is kwargs["test"]
    assert list(ours.test_dict) == list(theirs.test_dict) == ["test"]
    assert ours.test is theirs.test is None  # `test` is init-only in both
    for attribute in ("stim_id", "random_sequences", "norm_mean", "norm_std"):
        assert getattr(ours, attribute) == getattr(theirs, attribute)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ours.stim_id = "other"  # type: ignore[misc]


def test_train_joins_ride_along_without_being_a_dataclass_field() -> None:
    split = base.MoviesTrainTestSplit(train=movie(30), test=movie(10, seed=2))
    assert split.train_joins == ()
    assert split.mark_train_joins([20, 10, 20]) is split
    assert split.train_joins == (10, 20)
    assert "train_joins" not in {f.name for f in dataclasses.fields(split)}
    assert pickle.loads(pickle.dumps(split)).train_joins == (10, 20)
    assert isinstance(split.train, np.ndarray)  # train stays a plain array


@pytest.mark.parametrize("join", [0, 30, -1])
def test_train_joins_outside_the_train_movie_are_refused(join: int) -> None:
    split = base.MoviesTrainTestSplit(train=movie(30), test=movie(10, seed=2))
    with pytest.raises(ShapeError, match="between 1 and 29"):
        split.mark_train_joins([join])
    assert split.train_joins == ()


def test_movies_split_with_several_tests_matches_openretina(reference: ModuleType) -> None:
    tests = {"a": movie(10, seed=3), "b": movie(14, seed=4)}
    ours = base.MoviesTrainTestSplit(movie(30), dict(tests))
    theirs = reference.MoviesTrainTestSplit(movie(30), dict(tests))
    assert ours.test_shape == theirs.test_shape == (2, 14, 4, 5)
    with pytest.raises(ValueError):
        _ = ours.test_movie


def test_responses_split_matches_openretina(reference: ModuleType) -> None:
    trials = np.random.default_rng(5).random((3, 6, 10))
    kwargs: dict[str, Any] = dict(
        train=responses(6, 40), test=trials.mean(0), test_by_trial=trials, stim_id="natural",
        session_kwargs={"cell_types": np.arange(6)},
    )  # fmt: skip
    ours = base.ResponsesTrainTestSplit(**kwargs)
    theirs = reference.ResponsesTrainTestSplit(**kwargs)
    assert ours.n_neurons == theirs.n_neurons == 6
    assert ours.test_neurons == theirs.test_neurons == 6
    assert ours.test_response is theirs.test_response
    assert ours.get_test_by_trial() is theirs.get_test_by_trial() is trials
    assert ours.get_test_by_trial("other") is theirs.get_test_by_trial("other") is None
    assert list(ours.test_by_trial_dict) == list(theirs.test_by_trial_dict) == ["test"]
    plain = base.ResponsesTrainTestSplit(responses(6, 40), test=responses(6, 10))
    assert plain.get_test_by_trial() is None


def test_check_matching_stimulus_accepts_a_match_and_names_a_length_mismatch() -> None:
    movies = base.MoviesTrainTestSplit(movie(30), {"a": movie(10)}, stim_id="x")
    base.ResponsesTrainTestSplit(responses(4, 30), {"a": responses(4, 10)}).check_matching_stimulus(
        movies
    )
    with pytest.raises(ShapeError, match="look like \\(time, neurons\\)") as caught:
        base.ResponsesTrainTestSplit(
            responses(5, 30), {"a": responses(5, 10)}
        ).check_matching_stimulus(
            base.MoviesTrainTestSplit(movie(5, channels=1), {"a": movie(10, channels=1)})
        )
    assert "Transpose" in caught.value.hint
    short = base.ResponsesTrainTestSplit(responses(4, 29), {"a": responses(4, 10)})
    with pytest.raises(ShapeError, match="29 time bins.*30 frames"):
        short.check_matching_stimulus(movies)
    short_test = base.ResponsesTrainTestSplit(responses(4, 30), {"a": responses(4, 9)})
    with pytest.raises(ShapeError, match="'a' have 9 time bins"):
        short_test.check_matching_stimulus(movies)
    other_names = base.ResponsesTrainTestSplit(responses(4, 30), {"b": responses(4, 10)})
    with pytest.raises(
        DataValidationError, match="test responses are \\['b'\\], the test movies \\['a'\\]"
    ):
        other_names.check_matching_stimulus(movies)
    other_id = base.ResponsesTrainTestSplit(responses(4, 30), {"a": responses(4, 10)}, stim_id="y")
    with pytest.raises(DataValidationError, match="stim_id"):
        other_id.check_matching_stimulus(movies)


def test_get_n_neurons_per_session() -> None:
    splits = {
        "s0": base.ResponsesTrainTestSplit(responses(3, 20), test=responses(3, 5)),
        "s1": base.ResponsesTrainTestSplit(responses(7, 20), test=responses(7, 5)),
    }
    assert base.get_n_neurons_per_session(splits) == {"s0": 3, "s1": 7}


def test_dataset_statistics_empty_matches_openretina(reference: ModuleType) -> None:
    assert dataclasses.asdict(base.DatasetStatistics.empty()) == dataclasses.asdict(
        reference.DatasetStatistics.empty()
    )


def test_normalize_train_test_movies_matches_openretina(reference: ModuleType) -> None:
    train = (movie(50, seed=7) * 255).astype(np.float64)
    test = (movie(20, seed=8) * 255).astype(np.float64)
    ours = base.normalize_train_test_movies(train, test)
    theirs = reference.normalize_train_test_movies(train, test)
    assert ours[0].dtype == theirs[0].dtype == np.float32
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-5, atol=1e-5)
    assert ours[2].keys() == theirs[2].keys()
    for key in ours[2]:
        assert ours[2][key] == pytest.approx(theirs[2][key], rel=1e-6)


def test_normalize_uint8_movies_like_floats(reference: ModuleType) -> None:
    train = (movie(40, seed=9) * 255).astype(np.uint8)
    test = (movie(10, seed=10) * 255).astype(np.uint8)
    ours = base.normalize_train_test_movies(train, test)
    floats = base.normalize_train_test_movies(train.astype(np.float32), test.astype(np.float32))
    np.testing.assert_array_equal(ours[0], floats[0])
    assert ours[0].mean() == pytest.approx(0.0, abs=1e-5)


def _data_info_inputs() -> tuple[dict[str, Any], dict[str, Any]]:
    responses_by_session = {
        s: base.ResponsesTrainTestSplit(
            responses(n, 30, seed=n), test=responses(n, 10), session_kwargs={"k": np.arange(n)}
        )
        for s, n in (("s0", 3), ("s1", 5))
    }
    movies_by_session = {
        s: base.MoviesTrainTestSplit(movie(30), test=movie(10), norm_mean=1.5, norm_std=3.0)
        for s in responses_by_session
    }
    return responses_by_session, movies_by_session


def test_compute_data_info_matches_openretina(reference: ModuleType) -> None:
    responses_by_session, movies_by_session = _data_info_inputs()
    their_movies = {
        s: reference.MoviesTrainTestSplit(m.train, test=m.test_movie, norm_mean=1.5, norm_std=3.0)
        for s, m in movies_by_session.items()
    }
    for movies, reference_movies in (
        (movies_by_session, their_movies),
        (movies_by_session["s0"], their_movies["s0"]),
    ):
        ours = base.compute_data_info(responses_by_session, movies, {"extra": 1})
        theirs = reference.compute_data_info(responses_by_session, reference_movies, {"extra": 1})
        assert ours.keys() == theirs.keys()
        for key in (
            "n_neurons_dict",
            "input_shape",
            "sessions_kwargs",
            "stim_mean",
            "stim_std",
            "extra",
        ):
            assert ours[key] == theirs[key]
        for session, activity in theirs["mean_activity_dict"].items():
            assert ours["mean_activity_dict"][session].dtype == torch.float32
            torch.testing.assert_close(ours["mean_activity_dict"][session], activity)


def test_compute_data_info_without_stats_warns_and_uses_zero_one() -> None:
    responses_by_session, _ = _data_info_inputs()
    movies = {s: base.MoviesTrainTestSplit(movie(30), test=movie(10)) for s in responses_by_session}
    with (
        pytest.warns(UserWarning, match="No stimulus mean"),
        pytest.warns(UserWarning, match="stds"),
    ):
        info = base.compute_data_info(responses_by_session, movies)
    assert (info["stim_mean"], info["stim_std"]) == (0.0, 1.0)


def test_compute_data_info_rejects_inconsistent_stats_and_shapes() -> None:
    responses_by_session, movies = _data_info_inputs()
    movies["s1"] = base.MoviesTrainTestSplit(movie(30), test=movie(10), norm_mean=9.0, norm_std=3.0)
    with pytest.raises(DataValidationError, match="means are not consistent"):
        base.compute_data_info(responses_by_session, movies)
    movies["s1"] = base.MoviesTrainTestSplit(
        movie(30, size=(3, 3)), test=movie(10, size=(3, 3)), norm_mean=1.5, norm_std=3.0
    )
    with pytest.raises(ShapeError, match="\\(channels, height, width\\)"):
        base.compute_data_info(responses_by_session, movies)


# --- validation at construction ---------------------------------------------------------


@pytest.mark.parametrize(
    ("train", "test", "match"),
    [
        (np.zeros((30, 4, 5)), movie(10), "shape \\(30, 4, 5\\) \\(3 dimensions\\)"),
        (
            movie(30),
            np.zeros((10, 4, 5)),
            "Test stimulus test is not 4 dimensional: it has shape \\(10, 4, 5\\)",
        ),
        (movie(30, channels=3), movie(10, channels=2), "3 channels, the test movies 2"),
        (movie(30), movie(10, size=(4, 4)), "the test movies' \\(4, 4\\)"),
        (
            movie(3, channels=30),
            movie(2, channels=30),
            "more channels \\(30\\) than frames \\(3\\)",
        ),
    ],
)
def test_movies_with_bad_shapes_raise_shape_error(
    train: np.ndarray, test: np.ndarray, match: str
) -> None:
    with pytest.raises(ShapeError, match=match) as caught:
        base.MoviesTrainTestSplit(train, test=test)
    assert caught.value.hint


NOT_NUMBERS = [np.str_, np.object_, np.bool_, np.complex64, "datetime64[s]"]


@pytest.mark.parametrize("dtype", NOT_NUMBERS)
@pytest.mark.parametrize("which", ["train", "test"])
def test_movies_that_are_not_numbers_are_refused_at_construction(dtype: Any, which: str) -> None:
    movies = {"train": movie(30), "test": movie(10, seed=2)}
    movies[which] = np.zeros_like(movies[which], dtype=dtype)
    with pytest.raises(DataValidationError, match=f"{which} movie.* not real numbers") as caught:
        base.MoviesTrainTestSplit(movies["train"], test=movies["test"])
    assert "astype(np.float32)" in (caught.value.hint or "")


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float16, np.float32, np.float64])
def test_movies_of_any_integer_or_float_dtype_are_accepted_as_in_openretina(
    reference: ModuleType, dtype: Any
) -> None:
    train, test = movie(30).astype(dtype), movie(10, seed=2).astype(dtype)
    ours = base.MoviesTrainTestSplit(train, test=test)
    theirs = reference.MoviesTrainTestSplit(train, test=test)
    assert ours.train.dtype == theirs.train.dtype == np.dtype(dtype)
    base.MoviesTrainTestSplit(torch.from_numpy(train), test=torch.from_numpy(test))


@pytest.mark.parametrize("dtype", NOT_NUMBERS)
def test_responses_that_are_not_numbers_are_refused_at_construction(dtype: Any) -> None:
    with pytest.raises(DataValidationError, match="train responses .*not real numbers"):
        base.ResponsesTrainTestSplit(np.zeros((4, 30), dtype=dtype), test=responses(4, 10))


@pytest.mark.parametrize(
    ("train", "test", "match"),
    [
        (np.zeros(30), responses(4, 10), "train responses has shape \\(30,\\)"),
        (
            responses(4, 30),
            np.zeros((2, 4, 10)),
            "have shape \\(2, 4, 10\\); expected \\(neurons, time\\)",
        ),
        (responses(60, 20), responses(60, 5), "look like \\(time, neurons\\)"),
        (responses(4, 30), responses(5, 10), "train responses have 4, the test responses 5"),
    ],
)
def test_responses_with_bad_shapes_raise_shape_error(
    train: np.ndarray, test: np.ndarray, match: str
) -> None:
    with pytest.raises(ShapeError, match=match) as caught:
        base.ResponsesTrainTestSplit(train, test=test)
    assert caught.value.hint


def test_time_by_neurons_responses_are_an_error_not_a_warning() -> None:
    with pytest.raises(ShapeError) as caught:
        base.ResponsesTrainTestSplit(responses(8, 30).T, test=responses(30, 4))
    assert "Transpose" in caught.value.hint


def test_per_trial_responses_must_match_the_test() -> None:
    with pytest.raises(ShapeError, match="expected \\(trials, 4, 10\\)"):
        base.ResponsesTrainTestSplit(
            responses(4, 30), test=responses(4, 10), test_by_trial=np.zeros((3, 4, 9))
        )
    with pytest.raises(ShapeError, match="per-trial"):
        base.ResponsesTrainTestSplit(
            responses(4, 30), test=responses(4, 10), test_by_trial=np.zeros((4, 10))
        )
    with pytest.raises(DataValidationError, match="without matching test"):
        base.ResponsesTrainTestSplit(
            responses(4, 30),
            {"a": responses(4, 10)},
            test_by_trial_dict={"b": np.zeros((2, 4, 10))},
        )


@pytest.mark.parametrize("name", ["train", "validation"])
def test_test_stimulus_named_like_a_split_is_rejected(name: str) -> None:
    with pytest.raises(InvalidNameError, match=name):
        base.MoviesTrainTestSplit(movie(30), {name: movie(10)})
    with pytest.raises(InvalidNameError, match=name):
        base.ResponsesTrainTestSplit(responses(4, 30), {name: responses(4, 10)})


@pytest.mark.parametrize("cls", ["MoviesTrainTestSplit", "ResponsesTrainTestSplit"])
def test_exactly_one_of_test_and_test_dict(cls: str) -> None:
    split = getattr(base, cls)
    train, test = (
        (movie(30), movie(10)) if cls.startswith("Movies") else (responses(3, 30), responses(3, 10))
    )
    with pytest.raises(DataValidationError, match="neither"):
        split(train)
    with pytest.raises(DataValidationError, match="both"):
        split(train, {"a": test}, test)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_rejected_with_their_position(bad: float) -> None:
    train = movie(30)
    train[1, 17, 2, 3] = bad
    with pytest.raises(NonFiniteError, match="train movie .*\\(1, 17, 2, 3\\)"):
        base.MoviesTrainTestSplit(train, test=movie(10))
    test = responses(4, 10)
    test[2, 9] = bad
    with pytest.raises(NonFiniteError, match="test responses 'test'.*\\(2, 9\\)"):
        base.ResponsesTrainTestSplit(responses(4, 30), test=test)
    trials = np.ones((2, 4, 10))
    trials[1, 0, 0] = bad
    with pytest.raises(NonFiniteError, match="per-trial"):
        base.ResponsesTrainTestSplit(responses(4, 30), test=responses(4, 10), test_by_trial=trials)


def test_non_finite_scan_walks_slabs_and_reports_the_absolute_frame(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(array_checks, "SLAB_ELEMENTS", 40)  # two frames of 2x4x5 per slab
    train = movie(30)
    train[0, 27, 1, 1] = np.nan
    with pytest.raises(NonFiniteError, match="\\(0, 27, 1, 1\\)"):
        base.MoviesTrainTestSplit(train, test=movie(10))


def test_memory_mapped_movies_are_not_scanned_at_construction(tmp_path: Path) -> None:
    path = tmp_path / "train.npy"
    values = movie(30)
    values[0, 3, 0, 0] = np.nan
    np.save(path, values)
    mapped = np.load(path, mmap_mode="r")
    assert not array_checks.holds_values_in_memory(mapped)
    assert not array_checks.holds_values_in_memory(mapped[:, 2:5])
    assert array_checks.holds_values_in_memory(values[:, 2:5])
    split = base.MoviesTrainTestSplit(mapped, test=movie(10))
    assert split.train is mapped  # kept as the memory map, not copied


# --- from_pickle ------------------------------------------------------------------------


def test_from_pickle_matches_openretina(reference: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "movies.pkl"
    content = {
        "train": movie(30),
        "test": movie(10),
        "random_sequences": np.arange(12).reshape(3, 4),
        "movie_stats": {"dichromatic": {"mean": np.array([0.25]), "sd": np.float32(2.0)}},
    }
    path.write_bytes(pickle.dumps(content, protocol=2))
    ours = base.MoviesTrainTestSplit.from_pickle(path)
    theirs = reference.MoviesTrainTestSplit.from_pickle(path)
    np.testing.assert_array_equal(ours.train, theirs.train)
    np.testing.assert_array_equal(ours.test_movie, theirs.test_movie)
    np.testing.assert_array_equal(ours.random_sequences, theirs.random_sequences)
    assert (ours.norm_mean, ours.norm_std) == (theirs.norm_mean, theirs.norm_std) == (0.25, 2.0)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_from_pickle_reads_every_pickle_protocol(tmp_path: Path, protocol: int) -> None:
    path = tmp_path / "movies.pkl"
    content = {
        "train": np.asfortranarray(movie(30)),
        "test": movie(10),
        "movie_stats": {"dichromatic": {"mean": np.float32(0.5), "sd": 2.0}},
        "extras": ({1, 2}, frozenset({3}), 1j, [np.int64(4)]),
    }
    path.write_bytes(pickle.dumps(content, protocol=protocol))
    split = base.MoviesTrainTestSplit.from_pickle(path)
    np.testing.assert_array_equal(split.train, content["train"])
    assert (split.norm_mean, split.norm_std) == (0.5, 2.0)


def test_from_pickle_without_stats_gives_nan_like_openretina(tmp_path: Path) -> None:
    path = tmp_path / "movies.pkl"
    path.write_bytes(pickle.dumps({"train": movie(30), "test": movie(10)}))
    split = base.MoviesTrainTestSplit.from_pickle(path)
    assert np.isnan(split.norm_mean) and np.isnan(split.norm_std)  # type: ignore[arg-type]


class _Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.mkdir, (self.marker,))


def test_from_pickle_refuses_code_and_does_not_run_it(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"train": _Payload(str(marker)), "test": movie(10)}))
    with pytest.raises(UnsafeContentError, match="posix.mkdir|os.mkdir|nt.mkdir"):
        base.MoviesTrainTestSplit.from_pickle(path)
    assert not marker.exists()


def test_from_pickle_names_a_missing_entry(tmp_path: Path) -> None:
    path = tmp_path / "movies.pkl"
    path.write_bytes(pickle.dumps({"train": movie(30)}))
    with pytest.raises(MissingKeyError, match="'test'"):
        base.MoviesTrainTestSplit.from_pickle(path)
