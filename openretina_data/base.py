"""Stimulus and response containers with openretina 1.1.1's API, validated at construction.

Drop-in for ``openretina.data_io.base``: the same classes, fields, defaults,
properties and results. What differs is what happens with bad input. Where
openretina asserts, warns or fails later with a stack error, these raise one of
:mod:`openretina_data.errors` at construction, naming the array and saying what
to do:

* wrong number of dimensions → :class:`~openretina_data.errors.ShapeError`;
* responses given as (time, neurons) (more neurons than time bins) or a movie
  given with more channels than frames → ``ShapeError`` (openretina only warns);
* train and test movies with different channels or frame size, responses with
  different neuron counts, per-trial responses that do not match their test
  → ``ShapeError``;
* a test stimulus named ``train`` or ``validation`` (it would overwrite that
  split in the dataloaders) → :class:`~openretina_data.errors.InvalidNameError`;
* values that are not numbers (strings, objects, bool, complex) →
  :class:`~openretina_data.errors.DataValidationError` (integers and floats of any
  width are accepted, as in openretina);
* NaN/Inf in an in-memory array → :class:`~openretina_data.errors.NonFiniteError`.
  Arrays that live on disk (memory maps, HDF5 datasets, lazy views) are not
  scanned here — that full pass runs once when a dataset is written or checked.

Where openretina itself detects a mistake, ours is caught by the same ``except``
clause (:class:`~openretina_data.errors.ShapeAssertionError` and
:class:`~openretina_data.errors.MismatchError` are ``AssertionError`` s where
openretina asserts, and ``ValueError`` s as well) and the message begins with
openretina's own sentence, then says more (``tests/interop/test_error_contract.py``).

``from_pickle`` reads through a restricted unpickler (plain arrays and
containers only). :class:`DatasetStatistics`, :func:`normalize_train_test_movies`
and :func:`compute_data_info` live in :mod:`openretina_data._data_info` and are
exported here; torch is imported lazily, only by :func:`compute_data_info`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import InitVar, dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from openretina_data._data_info import (
    DatasetStatistics,
    compute_data_info,
    normalize_train_test_movies,
)
from openretina_data.array_checks import (
    holds_values_in_memory,
    require_finite,
    require_ndim,
    require_real_numbers,
)
from openretina_data.errors import (
    DataValidationError,
    InvalidNameError,
    MismatchError,
    MissingKeyError,
    ShapeAssertionError,
    ShapeError,
)
from openretina_data.layout.names import RESERVED_TEST_NAMES
from openretina_data.safe_pickle import load_plain_pickle

__all__ = [
    "RESERVED_SPLIT_NAMES",
    "DatasetStatistics",
    "MoviesTrainTestSplit",
    "ResponsesTrainTestSplit",
    "compute_data_info",
    "get_n_neurons_per_session",
    "normalize_train_test_movies",
]

#: Split names the dataloaders create themselves; a test stimulus must not take them
#: (the layout's ``RESERVED_TEST_NAMES``, under the name openretina users see).
RESERVED_SPLIT_NAMES = RESERVED_TEST_NAMES

MOVIE_AXES = "(channels, time, height, width)"
RESPONSE_AXES = "(neurons, time)"
TRIAL_AXES = "(trials, neurons, time)"
MOVIE_DTYPE_HINT = "Convert the movie to numbers, e.g. movie.astype(np.float32) (uint8 works too)."
RESPONSE_DTYPE_HINT = "Convert the responses to numbers, e.g. responses.astype(np.float32)."


def _lift_single_test(test_dict: dict[str, Any], test: Any, kind: str) -> None:
    """Put ``test`` under the key ``"test"`` when no ``test_dict`` is given (openretina's rule)."""
    if (len(test_dict) == 0) == (test is None):
        given = "both were" if test is not None else "neither was"
        raise DataValidationError(
            f"Exactly one of test_dict and test should be set, but {given} given to {kind}",
            hint="Pass a single test array as test=..., or several as test_dict={'name': array}.",
        )
    if len(test_dict) == 0:
        test_dict["test"] = test


def _check_test_names(test_dict: dict[str, Any], kind: str) -> None:
    for name in test_dict:
        if name in RESERVED_SPLIT_NAMES:
            raise InvalidNameError(
                f"{kind} has a test stimulus named {name!r}, which would overwrite the "
                f"{name!r} split of the dataloaders",
                key=name,
                hint="Rename that test stimulus (e.g. 'test' or 'test_natural').",
            )


def _check_values(array: Any, what: str, time_axis: int) -> None:
    if holds_values_in_memory(array):
        require_finite(array, what=what, time_axis=time_axis)


@dataclass(frozen=True)
class MoviesTrainTestSplit:
    """Stimulus movies of one session: a training movie and one or more test movies.

    Attributes
    ----------
    train : (channels, train_time, height, width) array
        The training movie, all training stimuli joined on time.
    test_dict : dict[str, (channels, test_time, height, width) array]
        Test movies by name. Pass ``test`` instead for a single one; it is stored as ``{"test": test}``.
    test : (channels, test_time, height, width) array, init only
        Convenience for a single test movie.
    stim_id : str or None
        Identifier (e.g. ``"natural"``) that keeps movies and responses paired.
    random_sequences : array or None
        Clip permutations (Höfling 2024 format).
    norm_mean, norm_std : float or None
        Normalisation statistics the movies were normalised with (stimulus units).
    train_joins : tuple[int, ...]
        Not a dataclass field (openretina's code never sees it): the frames of ``train``
        where one training stimulus ends and the next begins, recorded by
        :meth:`mark_train_joins` (``h5_dataset_reader.load_stimuli`` does). Our
        dataloaders keep training chunks from crossing them unless
        ``allow_over_boundaries=True``. Empty by default.

    Raises
    ------
    ShapeError, InvalidNameError, NonFiniteError, DataValidationError
        On construction, for the problems listed in the module docstring.
    """

    train_joins: ClassVar[tuple[int, ...]] = ()

    train: np.ndarray
    test_dict: dict = field(default_factory=dict)
    test: InitVar[np.ndarray | None] = None
    stim_id: str | None = None
    random_sequences: np.ndarray | None = None
    norm_mean: float | None = None
    norm_std: float | None = None

    def __post_init__(self, test: np.ndarray | None) -> None:
        _lift_single_test(self.test_dict, test, "MoviesTrainTestSplit")
        _check_test_names(self.test_dict, "MoviesTrainTestSplit")
        # openretina's checks, in its order and with its sentences
        train_shape = tuple(getattr(self.train, "shape", ()))
        if len(train_shape) != 4:
            raise ShapeAssertionError(
                f"Train movie should have 4 dimensions. It has shape {train_shape} "
                f"({len(train_shape)} dimensions); expected {MOVIE_AXES}",
                hint=f"Reshape or transpose the movie to {MOVIE_AXES}, e.g. movie[None] "
                "adds a channel axis.",
            )
        test_shape = self.test_shape
        if train_shape[0] != test_shape[0]:
            raise ShapeAssertionError(
                "Channel dimension does not match in train and test movies. The train movie "
                f"has {train_shape[0]} channels, the test movies {test_shape[0]}",
                hint="Re-export the stimuli so every movie has the same channels.",
            )
        if train_shape[2:] != test_shape[2:]:
            raise ShapeAssertionError(
                "Spatial dimensions do not match in train and test movies. The train movie's "
                f"frames are {train_shape[2:]} (height, width), the test movies' {test_shape[2:]}",
                hint="Resize or re-export the stimuli so every movie has the same frame size.",
            )
        # ours
        require_real_numbers(self.train, what="train movie", hint=MOVIE_DTYPE_HINT)
        for name, movie in self.test_dict.items():
            require_real_numbers(
                movie, what=f"test movie {name!r}", hint=MOVIE_DTYPE_HINT, key=name
            )
        channels, frames = self.train.shape[:2]
        if channels > frames:
            raise ShapeError(
                f"train movie has shape {tuple(self.train.shape)}: more channels ({channels}) "
                f"than frames ({frames})",
                hint=f"Movies must be {MOVIE_AXES}; move the time axis to position 1.",
            )
        _check_values(self.train, "train movie", time_axis=1)
        for name, movie in self.test_dict.items():
            _check_values(movie, f"test movie {name!r}", time_axis=1)

    def mark_train_joins(self, joins: Iterable[int]) -> MoviesTrainTestSplit:
        """Record where one training stimulus ends and the next begins in ``train``.

        Parameters
        ----------
        joins
            Frame numbers of ``train`` (each between 1 and its frames - 1) where a new
            training stimulus starts.

        Returns
        -------
        MoviesTrainTestSplit
            This split (the joins are stored on it, as ``train_joins``).

        Raises
        ------
        ShapeError
            A join lies outside the training movie.
        """
        frames = int(self.train.shape[1])
        marked = tuple(sorted({int(join) for join in joins}))
        outside = [join for join in marked if not 0 < join < frames]
        if outside:
            raise ShapeError(
                f"training stimulus joins {outside} lie outside the train movie's {frames} frames",
                hint=f"Give the frames where a new training stimulus starts, between 1 and {frames - 1}.",
            )
        object.__setattr__(self, "train_joins", marked)
        return self

    @cached_property
    def test_shape(self) -> tuple[int, int, int, int]:
        """(channels, longest test time, height, width) over all test movies."""
        if not self.test_dict:
            raise DataValidationError(
                "No test stimuli present.",
                hint="Give at least one test movie (test=... or test_dict=...).",
            )
        for name, movie in self.test_dict.items():
            shape = tuple(getattr(movie, "shape", ()))
            if len(shape) != 4:
                raise ShapeError(
                    f"Test stimulus {name} is not 4 dimensional: it has shape {shape}; "
                    f"expected {MOVIE_AXES}",
                    key=name,
                    hint=f"Reshape or transpose the movie to {MOVIE_AXES}.",
                )
        longest = max(movie.shape[1] for movie in self.test_dict.values())
        shapes = {(m.shape[0], longest, m.shape[2], m.shape[3]) for m in self.test_dict.values()}
        if len(shapes) > 1:
            raise ShapeError(
                f"Inconsistent test shapes: the test movies have channels, longest time, "
                f"height and width {sorted(shapes)}",
                hint="Every test movie must have the same channels, height and width.",
            )
        return next(iter(shapes))

    @property
    def test_movie(self) -> np.ndarray:
        """The only test movie; an error if there are several (use ``test_dict``)."""
        if len(self.test_dict) > 1:
            raise DataValidationError(
                f"Multiple test responses present: {list(self.test_dict)} (these are test movies)",
                hint="Pick one from test_dict by name.",
            )
        return next(iter(self.test_dict.values()))

    @classmethod
    def from_pickle(cls, file_path: str | os.PathLike[str]) -> MoviesTrainTestSplit:
        """Build from a Höfling-2024-style pickle: ``train``, ``test``, optional ``random_sequences``
        and ``movie_stats["dichromatic"]["mean"/"sd"]`` (NaN when absent, as in openretina).

        The file is read with a restricted unpickler: anything but numpy arrays and plain
        containers raises :class:`~openretina_data.errors.UnsafeContentError`.
        """
        content = load_plain_pickle(file_path)
        if not isinstance(content, dict):
            raise DataValidationError(
                f"the pickle holds a {type(content).__name__}, not a dict of movies",
                path=os.fspath(file_path),
                hint="Save a dict with keys 'train' and 'test'.",
            )
        for required in ("train", "test"):
            if required not in content:
                raise MissingKeyError(
                    f"the pickle has no {required!r} entry (it has {sorted(content)})",
                    path=os.fspath(file_path),
                    key=required,
                    hint="Save a dict with keys 'train' and 'test'.",
                )
        stats = content.get("movie_stats", {}).get("dichromatic", {})
        return cls(
            train=content["train"],
            test=content["test"],
            random_sequences=content.get("random_sequences"),
            norm_mean=np.asarray(stats.get("mean", np.nan)).item(),
            norm_std=np.asarray(stats.get("sd", np.nan)).item(),
        )


@dataclass
class ResponsesTrainTestSplit:
    """Neural responses of one session, paired with a :class:`MoviesTrainTestSplit`.

    Attributes
    ----------
    train : (neurons, train_time) array
        Training responses, one row per neuron, one column per stimulus frame.
    test_dict : dict[str, (neurons, test_time) array]
        Test responses (usually the mean over repeats) by test stimulus name. Pass ``test``
        instead for a single one; it is stored as ``{"test": test}``.
    test : (neurons, test_time) array, init only
        Convenience for a single test response.
    test_by_trial : (trials, neurons, test_time) array or None
        Single-test convenience for ``test_by_trial_dict``.
    test_by_trial_dict : dict[str, (trials, neurons, test_time) array]
        Per-repeat test responses, keyed like ``test_dict``.
    stim_id : str or None
        Identifier matching the movies' ``stim_id``.
    session_kwargs : dict
        Session metadata (e.g. ``cell_types`` of shape (neurons,)).

    Raises
    ------
    ShapeError, InvalidNameError, NonFiniteError, DataValidationError
        On construction, for the problems listed in the module docstring.
    """

    train: np.ndarray
    test_dict: dict = field(default_factory=dict)
    test: InitVar[np.ndarray | None] = None
    test_by_trial: np.ndarray | None = None
    test_by_trial_dict: dict = field(default_factory=dict)
    stim_id: str | None = None
    session_kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self, test: np.ndarray | None) -> None:
        _lift_single_test(self.test_dict, test, "ResponsesTrainTestSplit")
        _check_test_names(self.test_dict, "ResponsesTrainTestSplit")
        if self.test_by_trial is not None:
            if len(self.test_dict) > 1:
                raise DataValidationError(
                    "Provide test_by_trial_dict when multiple test stimuli are present to keep "
                    f"keys disambiguated. test_by_trial cannot say which of {list(self.test_dict)} "
                    "it belongs to",
                    hint="Pass test_by_trial_dict={'name': (trials, neurons, time) array} instead.",
                )
            self.test_by_trial_dict.setdefault(next(iter(self.test_dict)), self.test_by_trial)
        extra = sorted(set(self.test_by_trial_dict) - set(self.test_dict))
        if extra:
            raise DataValidationError(
                f"test_by_trial_dict contains keys without matching test stimuli: {extra}",
                hint="Use the same names in test_by_trial_dict as in test_dict.",
            )
        self._check_shapes()
        _check_values(self.train, "train responses", time_axis=1)
        for name, responses in self.test_dict.items():
            _check_values(responses, f"test responses {name!r}", time_axis=1)
        for name, trials in self.test_by_trial_dict.items():
            _check_values(trials, f"per-trial test responses {name!r}", time_axis=2)

    def _check_shapes(self) -> None:
        require_ndim(self.train, 2, what="train responses", axes=RESPONSE_AXES)
        require_real_numbers(self.train, what="train responses", hint=RESPONSE_DTYPE_HINT)
        for name, responses in self.test_dict.items():
            require_real_numbers(
                responses, what=f"test responses {name!r}", hint=RESPONSE_DTYPE_HINT, key=name
            )
        for name, trials in self.test_by_trial_dict.items():
            require_real_numbers(
                trials,
                what=f"per-trial test responses {name!r}",
                hint=RESPONSE_DTYPE_HINT,
                key=name,
            )
        neurons, bins = self.train.shape
        if neurons > bins:
            raise ShapeError(
                f"train responses have shape {tuple(self.train.shape)}: more neurons ({neurons}) "
                f"than time bins ({bins}); they look like (time, neurons)",
                hint=f"Transpose the array: responses must be {RESPONSE_AXES}.",
            )
        test_neurons = self.test_neurons
        if test_neurons != neurons:
            raise ShapeAssertionError(
                "Train and test responses should have the same number of neurons. The train "
                f"responses have {neurons}, the test responses {test_neurons}",
                hint="Train and test responses must come from the same neurons, in the same order.",
            )
        for name, trials in self.test_by_trial_dict.items():
            require_ndim(
                trials, 3, what=f"per-trial test responses {name!r}", axes=TRIAL_AXES, key=name
            )
            expected = (neurons, self.test_dict[name].shape[1])
            if tuple(trials.shape[1:]) != expected:
                raise ShapeError(
                    f"per-trial test responses {name!r} have shape {tuple(trials.shape)}; expected "
                    f"(trials, {expected[0]}, {expected[1]}) to match the test responses",
                    key=name,
                    hint=f"Per-trial responses must be {TRIAL_AXES} with the test's neurons and length.",
                )

    @cached_property
    def test_neurons(self) -> int:
        """The number of neurons in the test responses (the same for every test stimulus)."""
        for name, responses in self.test_dict.items():
            shape = tuple(getattr(responses, "shape", ()))
            if len(shape) != 2:
                raise ShapeError(
                    f"Test responses for {name=} are not two dimensions: they have shape "
                    f"{shape}; expected {RESPONSE_AXES}",
                    key=name,
                    hint=f"Reshape or transpose the responses to {RESPONSE_AXES}; put repeats "
                    "in test_by_trial_dict.",
                )
        counts = {responses.shape[0] for responses in self.test_dict.values()}
        if len(counts) > 1:
            raise ShapeError(
                "Test responses have inconsistent number of neurons: the test responses hold "
                f"{sorted(counts)} neurons",
                hint="Every test response must hold the same neurons.",
            )
        return next(iter(counts))

    def check_matching_stimulus(self, movies: MoviesTrainTestSplit) -> None:
        """Raise unless ``movies`` fits these responses.

        Checks time lengths of train and every test stimulus, matching test names, and
        ``stim_id``, as openretina does; like openretina's, the errors are
        ``AssertionError`` s (:class:`~openretina_data.errors.ShapeAssertionError`,
        :class:`~openretina_data.errors.MismatchError`), and also ``ValueError`` s.
        """
        frames = movies.train.shape[1]
        if self.train.shape[1] != frames:
            transposed = self.train.shape[0] == frames
            raise ShapeAssertionError(
                "Train movie and responses should have the same timebins. The train responses "
                f"have {self.train.shape[1]} time bins but the train movie has {frames} frames"
                + ("; they look like (time, neurons)" if transposed else ""),
                hint="Transpose the responses to (neurons, time)."
                if transposed
                else "Responses need one bin per stimulus frame; re-bin them on the frame times.",
            )
        if set(self.test_dict) != set(movies.test_dict):
            raise MismatchError(
                "Test movie and responses should match: the test responses are "
                f"{sorted(self.test_dict)}, the test movies {sorted(movies.test_dict)}",
                hint="Use the same test stimulus names for movies and responses.",
            )
        for name, responses in self.test_dict.items():
            frames = movies.test_dict[name].shape[1]
            if responses.shape[1] != frames:
                raise ShapeAssertionError(
                    "Test movie and responses should have the same timebins. The test responses "
                    f"{name!r} have {responses.shape[1]} time bins but the test movie has "
                    f"{frames} frames",
                    key=name,
                    hint="Responses need one bin per stimulus frame; re-bin them on the frame times.",
                )
        if (
            self.stim_id is not None
            and movies.stim_id is not None
            and self.stim_id != movies.stim_id
        ):
            raise MismatchError(
                "Stimulus ID in responses and movies do not match. The responses have stim_id "
                f"{self.stim_id!r}, the movies {movies.stim_id!r}",
                hint="Pair each response split with the movies of the same stimulus.",
            )

    @property
    def n_neurons(self) -> int:
        """The number of neurons (rows of ``train``)."""
        return int(self.train.shape[0])

    @property
    def test_response(self) -> np.ndarray:
        """The only test response; an error if there are several (use ``test_dict``)."""
        if len(self.test_dict) > 1:
            raise DataValidationError(
                f"Multiple test stimuli: {list(self.test_dict)}",
                hint="Pick one from test_dict by name.",
            )
        return next(iter(self.test_dict.values()))

    def get_test_by_trial(self, name: str = "test") -> np.ndarray | None:
        """Per-trial responses (trials, neurons, time) of test stimulus ``name``, or None if absent."""
        if not self.test_by_trial_dict:
            return None
        return self.test_by_trial_dict.get(name)


def get_n_neurons_per_session(responses_dict: dict[str, ResponsesTrainTestSplit]) -> dict[str, int]:
    """``{session: number of neurons}``."""
    return {name: responses.n_neurons for name, responses in responses_dict.items()}
