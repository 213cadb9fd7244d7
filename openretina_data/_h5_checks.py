"""Checks of a native dataset folder's arguments and shapes, for the h5 reader.

Each raises one of :mod:`openretina_data.errors` naming the session, file and key,
with a hint; none reads array data.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from openretina_data._h5_session import RESPONSES_PREFIX, SessionContents
from openretina_data.base import RESERVED_SPLIT_NAMES
from openretina_data.errors import (
    DataValidationError,
    InvalidNameError,
    ShapeError,
    SourceNotFoundError,
)


def check_stimulus_size(shape: tuple[int, ...], size: tuple[int, int, int], where: str) -> None:
    if len(shape) != 4:
        raise ShapeError(
            f"stimulus {where} has shape {shape}; expected 4 dimensions "
            "(channels, time, height, width)",
            hint="Save movies as (channels, time, height, width).",
        )
    if (shape[0], *shape[2:]) != size:
        raise ShapeError(
            f"stimulus {where} has shape {shape}, which does not fit stimulus_size {list(size)} "
            "(channels, height, width)",
            hint="Pass the stimulus_size of the dataset, or re-export the stimulus at that size.",
        )


def check_arguments(base_data_path: str | os.PathLike[str], test_names: Iterable[str]) -> list[str]:
    if not os.path.isdir(base_data_path):
        raise SourceNotFoundError(
            f"{os.fspath(base_data_path)!r} is not a directory",
            path=base_data_path,
            hint="Pass the dataset folder: the one holding the session .hdf5 files and stimuli/.",
        )
    if isinstance(test_names, str):
        raise DataValidationError(
            f"test_names is the string {test_names!r}, not a list of names",
            hint=f"Pass a list: test_names=[{test_names!r}].",
        )
    names = sorted(test_names)
    if not names:
        raise DataValidationError(
            "test_names is empty: every session needs at least one test stimulus",
            hint="Name the test stimuli, e.g. test_names=['natural_test'].",
        )
    for name in names:
        if name in RESERVED_SPLIT_NAMES:
            raise InvalidNameError(
                f"test stimulus {name!r} has the name of a dataloader split and would overwrite it",
                key=name,
                hint="Rename the stimulus (e.g. 'test_movie') in the dataset and in test_names.",
            )
    return names


def check_lengths(contents: SessionContents, frames_by_stimulus: Mapping[str, int]) -> None:
    """Responses must be (neurons, time) with one bin per frame of their stimulus."""
    for stimulus, shape in contents.responses.items():
        key = RESPONSES_PREFIX + stimulus
        if len(shape) != 2:
            raise ShapeError(
                f"responses to {stimulus!r} have shape {shape}; expected (neurons, time)",
                path=contents.path,
                key=key,
                session=contents.name,
                hint="Store one (neurons, time) array per stimulus; put repeats in test_by_trial_<stim>.",
            )
        frames = frames_by_stimulus.get(stimulus)
        if frames is None or shape[1] == frames:
            continue
        if shape[0] == frames:
            raise ShapeError(
                f"responses to {stimulus!r} have shape {shape}: {shape[0]} rows match the "
                f"stimulus's {frames} frames, so they look like (time, neurons)",
                path=contents.path,
                key=key,
                session=contents.name,
                hint="Transpose the responses to (neurons, time).",
            )
        raise ShapeError(
            f"responses to {stimulus!r} have {shape[1]} time bins but the stimulus has {frames} frames",
            path=contents.path,
            key=key,
            session=contents.name,
            hint="Responses need one bin per stimulus frame; re-bin them or trim the stimulus.",
        )


def require_train_and_test(
    train_names: list[str], test_stimuli: list[str], test_names: list[str]
) -> None:
    if not train_names:
        raise DataValidationError(
            f"every stimulus of this session is a test stimulus ({test_stimuli}); "
            "there is nothing to train on",
            hint="Remove one stimulus from test_names, or add responses to a training stimulus.",
        )
    if not test_stimuli:
        raise DataValidationError(
            f"this session has responses to none of the test stimuli {test_names}",
            hint="Name at least one stimulus the session has responses to in test_names.",
        )
