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
from typing import Any, Literal

import h5py
import numpy as np

from openretina_data.base import MoviesTrainTestSplit
from openretina_data.maheswaranathan_2023.archive import (
    MovieStats,
    find_session_files,
    get_dataset,
    memmap_movie,
    movie_stats,
    normalized_copy,
    open_archive_file,
)
from openretina_data.maheswaranathan_2023.constants import CLIP_LENGTH
from openretina_data.movie_view import NormalizedMovie

LOGGER = logging.getLogger(__name__)

__all__ = ["CLIP_LENGTH", "load_all_stimuli"]  # openretina's stimuli module has CLIP_LENGTH too


def load_all_stimuli(
    base_data_path: str | os.PathLike[str],
    stim_type: Literal["naturalscene", "whitenoise"] = "naturalscene",
    normalize_stimuli: bool = True,
    *,
    lazy: bool = False,
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
    lazy
        Keep the movies in the archive files: ``train`` and ``test`` become read-only
        memory maps (normalised on read by a
        :class:`~openretina_data.movie_view.NormalizedMovie` when ``normalize_stimuli``),
        so loading takes one streaming pass for the statistics and almost no memory.
        Values read are identical to the eager ones. Needs contiguous HDF5 datasets.

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
            stats = movie_stats(train_movie) if normalize_stimuli else None
            if lazy:
                train, test = _lazy_movies(train_movie, test_movie, stats, session, stim_type)
            elif stats is not None:
                train = normalized_copy(train_movie, stats)[np.newaxis]
                test = normalized_copy(test_movie, stats)[np.newaxis]
            else:
                train = np.asarray(train_movie[()])[np.newaxis]
                test = np.asarray(test_movie[()])[np.newaxis]
        result[session] = MoviesTrainTestSplit(
            train=train,
            test=test,
            stim_id=stim_type,
            random_sequences=None,
            norm_mean=None if stats is None else stats.mean,
            norm_std=None if stats is None else stats.std,
        )
    return result


def _lazy_movies(
    train_movie: h5py.Dataset,
    test_movie: h5py.Dataset,
    stats: MovieStats | None,
    session: str,
    stim_type: str,
) -> tuple[Any, Any]:
    """Memory maps of both movies, wrapped to normalise on read when ``stats`` is given."""
    train_map, test_map = memmap_movie(train_movie, session), memmap_movie(test_movie, session)
    if stats is None:
        return train_map, test_map
    return (
        NormalizedMovie([train_map], stats.mean, stats.std, names=[f"{stim_type}_train"]),
        NormalizedMovie([test_map], stats.mean, stats.std, names=[f"{stim_type}_test"]),
    )
