"""Stimulus movies of Maheswaranathan et al. (2023), with openretina's API.

Paper: https://doi.org/10.1016/j.neuron.2023.06.007
Data:  https://doi.org/10.25740/rk663dm5577 (unpack; pass the folder that holds
``ganglion_cell_data``).

Drop-in for ``openretina.data_io.maheswaranathan_2023.stimuli``: same function, argument
names, defaults and return value. What differs, on purpose:

* ``base_data_path`` may be the archive folder or ``ganglion_cell_data`` itself (the Data
  I/O page says the latter, openretina 1.1.1 needs the former); URLs are refused with a
  hint instead of downloaded.
* Only ``<session>/<stim_type>.h5`` is read (openretina takes any file whose name *ends*
  in it, the last one listed winning); sessions come out sorted by name.
* Normalisation streams over the movie in slabs (float64 statistics, float32 output):
  peak memory is the float32 movie plus one slab, where openretina holds the raw movie,
  a float32 tensor copy and the normalised result at once. Statistics agree with
  openretina's to float32 rounding (std uses ``n - 1`` as torch does).
* Problems raise :mod:`openretina_data.errors` with a hint; progress goes to ``logging``,
  not ``print``.
"""

from __future__ import annotations

import logging
import os
from typing import Literal

import numpy as np

from openretina_data.base import MoviesTrainTestSplit
from openretina_data.maheswaranathan_2023.archive import (
    find_session_files,
    get_dataset,
    movie_stats,
    normalized_copy,
    open_archive_file,
)

LOGGER = logging.getLogger(__name__)

CLIP_LENGTH = 90  # frames; the clip length openretina's configs use for this dataset


def load_all_stimuli(
    base_data_path: str | os.PathLike[str],
    stim_type: Literal["naturalscene", "whitenoise"] = "naturalscene",
    normalize_stimuli: bool = True,
) -> dict[str, MoviesTrainTestSplit]:
    """Load the train and test movie of every session.

    Parameters
    ----------
    base_data_path
        The unpacked archive folder (holding ``ganglion_cell_data``) or that subfolder.
    stim_type
        ``"naturalscene"`` or ``"whitenoise"``: which file of each session to read.
    normalize_stimuli
        z-score both movies with the train movie's mean and standard deviation, and
        record them as ``norm_mean`` / ``norm_std``.

    Returns
    -------
    dict[str, MoviesTrainTestSplit]
        Session name -> split with ``train`` (1, train_time, 50, 50) and ``test``
        (1, test_time, 50, 50): float32 when normalised, else the stored uint8
        intensities. ``stim_id`` is ``stim_type``.
    """
    result: dict[str, MoviesTrainTestSplit] = {}
    for session, path in find_session_files(base_data_path, stim_type).items():
        LOGGER.info("loading stimuli from %s", path)
        with open_archive_file(path) as handle:
            train_movie = get_dataset(handle, "train/stimulus", session)
            test_movie = get_dataset(handle, "test/stimulus", session)
            if normalize_stimuli:
                stats = movie_stats(train_movie)
                train = normalized_copy(train_movie, stats)
                test = normalized_copy(test_movie, stats)
                norm_mean: float | None = stats.mean
                norm_std: float | None = stats.std
            else:
                train, test = np.asarray(train_movie[()]), np.asarray(test_movie[()])
                norm_mean = norm_std = None
        result[session] = MoviesTrainTestSplit(
            train=train[np.newaxis],
            test=test[np.newaxis],
            stim_id=stim_type,
            random_sequences=None,
            norm_mean=norm_mean,
            norm_std=norm_std,
        )
    return result
