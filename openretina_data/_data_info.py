"""What a model needs to know about its data, and the movie normalisation that feeds it.

Helpers of :mod:`openretina_data.base` (import them from there, as from
``openretina.data_io.base``): :class:`DatasetStatistics`,
:func:`normalize_train_test_movies` and :func:`compute_data_info`. Movies are
reduced slab by slab along time, so a memory-mapped movie is never read whole
into RAM. Torch is imported lazily, only by :func:`compute_data_info`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from openretina_data.array_checks import time_slabs
from openretina_data.errors import DataValidationError, ShapeError

if TYPE_CHECKING:  # base imports this module; annotations only
    from openretina_data.base import MoviesTrainTestSplit, ResponsesTrainTestSplit


@dataclass
class DatasetStatistics:
    """Unique frames and frame transitions across sessions, computed from dataloaders.

    Attributes
    ----------
    unique_train_frames, unique_val_frames, unique_train_val_frames : int
        Unique frames in training, validation, and their union.
    unique_test_frames : dict[str, int]
        Unique frames per test split.
    unique_train_transitions, unique_val_transitions : int
        Unique consecutive-frame transitions in training and validation.
    unique_test_transitions : dict[str, int]
        Unique transitions per test split.
    n_sessions : int
        Number of sessions.
    """

    unique_train_frames: int
    unique_val_frames: int
    unique_train_val_frames: int
    unique_test_frames: dict[str, int]
    unique_train_transitions: int
    unique_val_transitions: int
    unique_test_transitions: dict[str, int]
    n_sessions: int

    @classmethod
    def empty(cls) -> DatasetStatistics:
        """All counts zero."""
        return cls(0, 0, 0, {}, 0, 0, {}, 0)


def _mean_and_std(movie: np.ndarray) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1, like torch) in float64, slab by slab."""
    frames = movie.shape[1]
    per_frame = movie.size // max(1, frames)
    total = 0.0
    for slab in time_slabs(frames, per_frame):
        total += float(np.sum(movie[:, slab], dtype=np.float64))
    mean = total / movie.size
    squares = 0.0
    for slab in time_slabs(frames, per_frame):
        centred = np.asarray(movie[:, slab], dtype=np.float64) - mean
        squares += float(np.dot(centred.ravel(), centred.ravel()))
    return mean, (squares / (movie.size - 1)) ** 0.5


def normalize_train_test_movies(
    train: np.ndarray, test: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[str, float | None]]:
    """z-score both movies with the mean and standard deviation of the train movie.

    Parameters
    ----------
    train : (channels, train_time, height, width) array
        The training movie, in stimulus units.
    test : (channels, test_time, height, width) array
        The test movie, in the same units.

    Returns
    -------
    train, test : float32 arrays of the input shapes
        ``(movie - mean) / std``.
    dict
        ``{"norm_mean": mean, "norm_std": std}`` of the train movie, as Python floats of float32
        precision (std with Bessel's correction, as openretina computes it).

    Notes
    -----
    Statistics are accumulated in float64 slab by slab (openretina: float32 in torch),
    so they may differ from openretina's in the last float32 digit.
    """
    mean64, std64 = _mean_and_std(np.asarray(train))
    mean, std = np.float32(mean64), np.float32(std64)
    outputs = []
    for movie in (train, test):
        normalised = np.subtract(movie, mean, dtype=np.float32)
        normalised /= std
        outputs.append(normalised)
    return outputs[0], outputs[1], {"norm_mean": float(mean), "norm_std": float(std)}


def _consistent(values: list[float], what: str) -> float:
    if not np.allclose(values, values[0], atol=1, rtol=0):
        raise DataValidationError(
            f"Normalization {what}s are not consistent across stimuli: {values} (more than 1 "
            "apart); the sessions' movies were normalised with different statistics",
            hint="Normalise every session's movies with the same statistics.",
        )
    return values[0]


def compute_data_info(
    neuron_data_dictionary: Mapping[str, ResponsesTrainTestSplit],
    movies_dictionary: Mapping[str, MoviesTrainTestSplit] | MoviesTrainTestSplit,
    partial_data_info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What a model needs to know about its data: neurons per session, input shape, stimulus stats.

    Parameters
    ----------
    neuron_data_dictionary
        Responses per session.
    movies_dictionary
        Movies per session, or one split shared by all sessions.
    partial_data_info
        Extra entries (from a training config) merged into the result; they win on clashes.

    Returns
    -------
    dict
        ``n_neurons_dict``, ``mean_activity_dict`` (session → float32 torch tensor (neurons,),
        the mean training response), ``input_shape`` (channels, height, width),
        ``sessions_kwargs``, ``stim_mean``, ``stim_std`` and the ``partial_data_info`` entries.
        With a dict of movies and no statistics set, ``stim_mean``/``stim_std`` fall back to 0/1
        with a warning, as in openretina.
    """
    import torch  # only here: the rest of this module must not need torch

    mean_activity = {
        session: torch.as_tensor(np.mean(responses.train, axis=1), dtype=torch.float32)
        for session, responses in neuron_data_dictionary.items()
    }
    stim_mean: float | None
    stim_std: float | None
    if not isinstance(movies_dictionary, Mapping):  # one MoviesTrainTestSplit for every session
        stim_mean, stim_std = movies_dictionary.norm_mean, movies_dictionary.norm_std
        train_shape = movies_dictionary.train.shape
        input_shape = (train_shape[0], *train_shape[2:])
    else:
        means = [m.norm_mean for m in movies_dictionary.values() if m.norm_mean is not None]
        stds = [m.norm_std for m in movies_dictionary.values() if m.norm_std is not None]
        if means:
            stim_mean = _consistent(means, "mean")
        else:
            stim_mean = 0.0
            warnings.warn(f"No stimulus mean set, setting {stim_mean=}", stacklevel=2)
        if stds:
            stim_std = _consistent(stds, "std")
        else:
            stim_std = 1.0
            warnings.warn(f"No stimulus stds set, setting {stim_std=}", stacklevel=2)
        shapes = {
            session: (m.train.shape[0], *m.train.shape[2:])
            for session, m in movies_dictionary.items()
        }
        if len(set(shapes.values())) > 1:
            raise ShapeError(
                "Input shapes are not consistent across stimuli: the sessions' movies have "
                f"(channels, height, width) {shapes}",
                hint="All sessions must share the stimulus channels and frame size.",
            )
        input_shape = next(iter(shapes.values()))
    return {
        "n_neurons_dict": {s: r.n_neurons for s, r in neuron_data_dictionary.items()},
        "mean_activity_dict": mean_activity,
        "input_shape": input_shape,
        "sessions_kwargs": {s: r.session_kwargs for s, r in neuron_data_dictionary.items()},
        "stim_mean": stim_mean,
        "stim_std": stim_std,
        **(partial_data_info or {}),
    }
