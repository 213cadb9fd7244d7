"""Preset: the Maheswaranathan et al. (2023) archive -> layout v1.

Archive (https://doi.org/10.25740/rk663dm5577, unpacked)::

    ARCHIVE_DIR/ganglion_cell_data/<session>/{naturalscene,whitenoise}.h5

One dataset per stimulus type (presets ``maheswaranathan_2023`` for natural scenes and
``maheswaranathan_2023_whitenoise``), with the ``firing_rate_20ms`` responses (Hz)
that openretina's loaders default to. What the dataset holds:

* ``stimuli/<stim>_train[_<session>].npy`` and ``<stim>_test[_<session>].npy`` — the
  raw uint8 movies as (1, time, 50, 50). A movie that is byte-identical across sessions
  is stored once without the session suffix; otherwise the suffix names the first
  session that showed it.
* ``<session>.hdf5`` — ``responses_<train movie>``, ``responses_<test movie>`` and
  ``test_by_trial_<test movie>`` (repeats, neurons, time), float32.
* The card: test stimuli, frame rate (from the archive's ``time`` arrays), unit ``Hz``,
  the mean/std over all training movies (openretina normalises with these), citation.

Responses longer than their movie (the archive's one extra test bin) are cut to the
movie's length; each cut is reported as a step and listed in the card's description.
Responses shorter than their movie stop the conversion with a :class:`ShapeError`.

Unlike ``load_all_stimuli``, which z-scores each session with its own statistics, the
native layout has one mean/std for the whole dataset (openretina's ``h5_dataset_reader``
takes a single pair): they are computed over every training movie.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Final

import numpy as np

from openretina_data.convert import Progress
from openretina_data.datasets.preset import Preset
from openretina_data.datasets.train_test_h5 import TrainTestArchive, convert_train_test_files
from openretina_data.errors import TimingError
from openretina_data.maheswaranathan_2023.archive import (
    DOWNLOAD_URL,
    SLAB_FRAMES,
    find_session_files,
    get_dataset,
    open_archive_file,
)
from openretina_data.maheswaranathan_2023.responses import load_test_repeats_for_session

RESPONSE_TYPE: Final = "firing_rate_20ms"

CITATION = {
    "title": "Interpreting the retinal neural code for natural scenes: From computations to neurons",
    "authors": "Maheswaranathan N, McIntosh LT, Tanaka H, Grant S, Kastner DB, Melander JB, "
    "Nayebi A, Brezovec LE, Wang JH, Ganguli S, Baccus SA",
    "journal": "Neuron 111(17):2742-2755 (2023)",
    "doi": "10.1016/j.neuron.2023.06.007",
    "data_doi": "10.25740/rk663dm5577",
    "url": DOWNLOAD_URL,
    "license": "as stated on the Stanford Digital Repository page (not checked by openretina-data)",
    "species": "tiger salamander (Ambystoma tigrinum)",
    "recording_method": "multielectrode array, spike-sorted ganglion cells",
    "units": "Hz: spike rate smoothed with a 20 ms Gaussian, one bin per stimulus frame",
}


def convert_archive(
    archive_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    stim_type: str = "naturalscene",
) -> Iterator[Progress]:
    """Convert ``ARCHIVE_DIR/ganglion_cell_data/*/<stim_type>.h5`` into a dataset at ``out_dir``.

    Yields
    ------
    Progress
        One per movie hashed, stimulus written and session written.
    """
    files = find_session_files(archive_dir, stim_type)
    archive = TrainTestArchive(
        stim_prefix=stim_type,
        response_key=RESPONSE_TYPE,
        response_unit="Hz",
        frame_rate_hz=_frame_rate(files),
        citation=CITATION,
        description=(
            f"Maheswaranathan et al. (2023), {stim_type} stimulus, {RESPONSE_TYPE} responses, "
            f"{len(files)} sessions, converted from {DOWNLOAD_URL}."
        ),
        read_repeats=_read_repeats,
    )
    yield from convert_train_test_files(files, out_dir, archive, overwrite=overwrite)


def _read_repeats(path: Path, session: str) -> np.ndarray:
    return load_test_repeats_for_session(path, RESPONSE_TYPE)


def _frame_rate(files: dict[str, Path]) -> float:
    """Frames per second from the archive's ``train/time`` (seconds), the same in every file."""
    rates = {}
    for session, path in files.items():
        with open_archive_file(path) as handle:
            times = np.asarray(
                get_dataset(handle, "train/time", session)[: SLAB_FRAMES + 1], dtype=np.float64
            )
        steps = np.diff(times)
        if steps.size == 0 or not np.all(steps > 0):
            raise TimingError(
                "train/time is too short or not increasing, so the frame rate is unknown",
                path=path,
                key="train/time",
                session=session,
                hint="Re-download the file; the archive's time arrays step by one frame.",
            )
        rates[session] = round(1.0 / float(np.median(steps)), 6)
    if len(set(rates.values())) != 1:
        raise TimingError(
            f"sessions have different frame rates: {rates}",
            hint="Convert the sessions separately, one dataset per frame rate.",
        )
    return next(iter(rates.values()))


PRESETS = (
    Preset(
        name="maheswaranathan_2023",
        title="Maheswaranathan et al. 2023 - salamander ganglion cells, natural scenes (MEA)",
        citation=CITATION,
        archive_layout="ARCHIVE_DIR/ganglion_cell_data/<session>/naturalscene.h5 (unpacked neural_code_data)",
        run=partial(convert_archive, stim_type="naturalscene"),
    ),
    Preset(
        name="maheswaranathan_2023_whitenoise",
        title="Maheswaranathan et al. 2023 - salamander ganglion cells, white noise (MEA)",
        citation=CITATION,
        archive_layout="ARCHIVE_DIR/ganglion_cell_data/<session>/whitenoise.h5 (unpacked neural_code_data)",
        run=partial(convert_archive, stim_type="whitenoise"),
    ),
)
