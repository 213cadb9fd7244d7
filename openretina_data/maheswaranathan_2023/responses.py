"""Ganglion-cell responses of Maheswaranathan et al. (2023), with openretina's API.

Paper: https://doi.org/10.1016/j.neuron.2023.06.007
Data:  https://doi.org/10.25740/rk663dm5577

Drop-in for ``openretina.data_io.maheswaranathan_2023.responses``: same function,
argument names, defaults and return value, plus one keyword. What differs, on purpose:

* **Test length.** The archive's test responses are one bin longer than its test movie
  (5997 bins for 5996 frames in session ``15-10-07``). openretina 1.1.1 returns them
  as they are, so ``check_matching_stimulus`` fails and the dataloader trims silently.
  Here ``trim_to_stimulus=True`` (the default) cuts responses and repeats to the movie
  length and logs a WARNING saying how many bins were dropped per session; pass
  ``trim_to_stimulus=False`` for openretina's untrimmed arrays. Responses *shorter*
  than the movie raise :class:`~openretina_data.errors.ShapeError` either way.
* ``fr_normalization`` divides the trial repeats in both layouts of ``test/repeats``
  (openretina forgets it when the repeats are stored per response type).
* Base path, session order, file matching, errors and logging as in :mod:`.stimuli`.

In the per-cell layout (``test/repeats/cellNN``) the archive stores one kind of repeat
whatever ``response_type`` is asked for; it does not say which, so ``test_by_trial``
may be in different units from ``test`` there (openretina behaves the same).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any, Literal

import h5py
import numpy as np

from openretina_data.base import ResponsesTrainTestSplit
from openretina_data.errors import MissingKeyError, ShapeError
from openretina_data.maheswaranathan_2023.archive import (
    RESPONSE_TYPES,
    check_choice,
    find_session_files,
    get_dataset,
    open_archive_file,
)

LOGGER = logging.getLogger(__name__)

_CELL_KEY = re.compile(r"cell(\d+)$")


def load_test_repeats_for_session(
    session_path: str | os.PathLike[str],
    response_type: Literal[
        "firing_rate_5ms", "firing_rate_10ms", "firing_rate_20ms"
    ] = "firing_rate_20ms",
    fr_normalization: float = 1,
) -> np.ndarray:
    """Trial repeats of the test movie in one session file.

    Returns
    -------
    np.ndarray
        (repeats, neurons, test_time), divided by ``fr_normalization``.
    """
    path = Path(session_path)
    with open_archive_file(path) as handle:
        return _read_repeats(handle, response_type, fr_normalization, session=path.parent.name)


def load_all_responses(
    base_data_path: str | os.PathLike[str],
    response_type: Literal[
        "firing_rate_5ms", "firing_rate_10ms", "firing_rate_20ms"
    ] = "firing_rate_20ms",
    stim_type: Literal["naturalscene", "whitenoise"] = "naturalscene",
    fr_normalization: float = 1,
    *,
    trim_to_stimulus: bool = True,
) -> dict[str, ResponsesTrainTestSplit]:
    """Load train and test responses and the test repeats of every session.

    Parameters
    ----------
    base_data_path
        The unpacked archive folder (holding ``ganglion_cell_data``) or that subfolder.
    response_type
        ``firing_rate_5ms`` / ``_10ms`` / ``_20ms``: spike rate in Hz smoothed with a
        Gaussian of that width (``binned``, spikes per 10 ms bin, is accepted too).
    stim_type
        ``"naturalscene"`` or ``"whitenoise"``.
    fr_normalization
        Every response is divided by this number.
    trim_to_stimulus
        Cut responses longer than the movie shown with them to the movie's length
        (logged); see the module docstring.

    Returns
    -------
    dict[str, ResponsesTrainTestSplit]
        Session name -> split with ``train`` (neurons, train_time), ``test``
        (neurons, test_time), ``test_by_trial`` (repeats, neurons, test_time) and
        ``stim_id`` = ``stim_type``; arrays keep the file's dtype.
    """
    check_choice(response_type, RESPONSE_TYPES, "response_type")
    result: dict[str, ResponsesTrainTestSplit] = {}
    for session, path in find_session_files(base_data_path, stim_type).items():
        LOGGER.info("loading responses from %s", path)
        with open_archive_file(path) as handle:
            lengths = {split: _movie_length(handle, split, session) for split in ("train", "test")}
            train = _read_2d(handle, f"train/response/{response_type}", session)
            test = _read_2d(handle, f"test/response/{response_type}", session)
            repeats = _read_repeats(handle, response_type, fr_normalization, session)
        if train.shape[0] != test.shape[0]:
            raise ShapeError(
                f"train responses have {train.shape[0]} neurons but test responses {test.shape[0]}",
                path=path,
                session=session,
                hint="The file is not a consistent archive file; re-download it.",
            )
        if trim_to_stimulus:
            train = _trim(train, lengths["train"], path, session, "train responses")
            if repeats.shape[-1] == test.shape[-1]:  # the usual case: one log line for both
                repeats = repeats[..., : lengths["test"]]
            else:
                repeats = _trim(repeats, lengths["test"], path, session, "test repeats")
            test = _trim(test, lengths["test"], path, session, "test responses and repeats")
        result[session] = ResponsesTrainTestSplit(
            train=train / fr_normalization,
            test=test / fr_normalization,
            stim_id=stim_type,
            test_by_trial=repeats,
        )
    return result


def _movie_length(handle: h5py.File, split: str, session: str) -> int:
    return int(get_dataset(handle, f"{split}/stimulus", session).shape[0])


def _read_2d(handle: h5py.File, key: str, session: str) -> np.ndarray:
    data = np.asarray(get_dataset(handle, key, session)[()])
    if data.ndim != 2:
        raise ShapeError(
            f"{key} has shape {data.shape}; expected (neurons, time)",
            path=handle.filename,
            key=key,
            session=session,
        )
    return data


def _read_repeats(
    handle: h5py.File, response_type: str, fr_normalization: float, session: str
) -> np.ndarray:
    """(repeats, neurons, time) from either layout of ``test/repeats``."""
    group = handle.get("test/repeats")
    if not isinstance(group, h5py.Group):
        raise MissingKeyError(
            "the file has no group 'test/repeats'",
            path=handle.filename,
            key="test/repeats",
            session=session,
            hint="Is this a file of the Maheswaranathan archive (ganglion_cell_data/<session>/<stim>.h5)?",
        )
    if response_type in group:
        stacked = np.asarray(get_dataset(handle, f"test/repeats/{response_type}", session)[()])
        if stacked.ndim != 3:
            raise ShapeError(
                f"test/repeats/{response_type} has shape {stacked.shape}; expected (repeats, neurons, time)",
                path=handle.filename,
                session=session,
            )
        return stacked / fr_normalization
    cells = sorted(
        ((int(match.group(1)), key) for key in group if (match := _CELL_KEY.search(key))),
    )
    if not cells:
        raise MissingKeyError(
            f"test/repeats holds neither {response_type!r} nor cellNN datasets",
            path=handle.filename,
            key="test/repeats",
            session=session,
            hint=f"Available: {', '.join(sorted(group.keys())) or 'nothing'}.",
        )
    per_cell = [
        np.asarray(get_dataset(handle, f"test/repeats/{key}", session)[()]) for _, key in cells
    ]
    if len({a.shape for a in per_cell}) != 1 or per_cell[0].ndim != 2:
        raise ShapeError(
            "the per-cell test repeats differ in shape or are not (repeats, time)",
            path=handle.filename,
            key="test/repeats",
            session=session,
        )
    # (neurons, repeats, time) -> (repeats, neurons, time)
    return np.stack(per_cell, axis=1) / fr_normalization


def _trim(responses: np.ndarray, n_frames: int, path: Path, session: str, what: str) -> np.ndarray:
    """Cut the time axis (last) to ``n_frames``, logging how much was dropped."""
    n_bins = responses.shape[-1]
    if n_bins < n_frames:
        raise ShapeError(
            f"{what} have {n_bins} bins but the movie has {n_frames} frames",
            path=path,
            session=session,
            hint="Pass trim_to_stimulus=False to load them anyway, and trim the movie yourself.",
        )
    if n_bins > n_frames:
        LOGGER.warning(
            "session %s: %s have %d bins for %d movie frames; dropped the last %d "
            "(trim_to_stimulus=False keeps them)",
            session,
            what,
            n_bins,
            n_frames,
            n_bins - n_frames,
        )
    return responses[..., :n_frames]


def __getattr__(name: str) -> Any:
    """``NeuronDataBaccus`` (openretina's name for this dataset's neuron split), imported on use.

    It is :class:`openretina_data.base_dataloader.NeuronDataSplit`; importing it lazily
    keeps torch out of a plain ``load_all_responses``.
    """
    if name == "NeuronDataBaccus":
        from openretina_data.base_dataloader import NeuronDataSplit

        return NeuronDataSplit
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
