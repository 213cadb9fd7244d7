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
  ``test_by_trial_<test movie>`` (repeats, neurons, time), float32; the repeats carry
  an HDF5 attribute ``unit``.
* The card: test stimuli, frame rate (from the archive's ``time`` arrays),
  ``response_unit`` ``Hz``,
  ``units`` = ``{"responses": "Hz", "test_by_trial": ...}``, the mean/std over all
  training movies (openretina normalises with these), citation.

**The repeats are copied as they are, in their own unit.** ``responses_<stim>`` is the
archive's ``firing_rate_20ms`` (Hz, smoothed). The archive stores its test repeats in
one of two ways (the two that openretina 1.1.1's ``load_test_repeats_for_session``
reads, also without converting anything):

* ``test/repeats/firing_rate_20ms`` (repeats, cells, time): named like the responses
  and read as the same quantity, so the unit is ``Hz``.
* ``test/repeats/cellNN`` (repeats, time) per cell: the archive does not say what these
  hold. When their mean over trials equals ``test/response/binned`` (spike counts per
  time bin), they are spike counts and the unit is ``spikes/bin (<bin> ms)``, the bin
  being the step of ``test/time``. Otherwise the unit is recorded as ``unknown``.

Counts are not converted to Hz: the archive does not document the kernel behind its
``firing_rate_*`` (only its name's width; not whether that is a Gaussian's sigma or
its full width, nor how edges are handled), so a converted repeat would not match
``responses_<stim>`` and would only look comparable. With counts,
``test_by_trial.mean(0) / bin_seconds`` is the unsmoothed rate in Hz; reliability
computed from the repeats alone (e.g. split-half correlation) is unaffected by the unit.
So for per-cell repeats, layout v1's "``responses_<stim>`` is the trial mean of
``test_by_trial_<stim>``" holds only up to that unit and smoothing; read ``units``.

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

import h5py
import numpy as np

from openretina_data.convert import Progress
from openretina_data.datasets.preset import Preset
from openretina_data.datasets.train_test_h5 import (
    Repeats,
    TrainTestArchive,
    convert_train_test_files,
)
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
    "units": "responses: Hz, spike rate smoothed with a 20 ms Gaussian, one bin per stimulus "
    "frame; test_by_trial: the archive's repeats as stored (see the card's 'units')",
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


def _read_repeats(path: Path, session: str) -> Repeats:
    trials = load_test_repeats_for_session(path, RESPONSE_TYPE)
    return Repeats(trials, _repeats_unit(path, session, trials))


def _repeats_unit(path: Path, session: str, trials: np.ndarray) -> str:
    """Unit of ``trials`` (repeats, cells, time), from how the archive stores them.

    See the module docstring: ``Hz`` for per-response-type repeats, spike counts per bin
    when per-cell repeats average to ``test/response/binned``, else ``unknown``.
    """
    with open_archive_file(path) as handle:
        stored = handle.get("test/repeats")
        if isinstance(stored, h5py.Group) and RESPONSE_TYPE in stored:
            return "Hz"
        binned_item = handle.get("test/response/binned")
        if not isinstance(binned_item, h5py.Dataset):
            return "unknown"
        binned = np.asarray(binned_item[()], dtype=np.float64)
        times = np.asarray(get_dataset(handle, "test/time", session)[()], dtype=np.float64)
    n_bins = min(binned.shape[-1], trials.shape[-1])
    mean = trials.mean(axis=0)
    if binned.shape[0] != mean.shape[0] or times.size < 2 or n_bins == 0:
        return "unknown"
    if not np.allclose(mean[:, :n_bins], binned[:, :n_bins], rtol=1e-5, atol=1e-6):
        return "unknown"
    bin_ms = float(np.median(np.diff(times))) * 1000.0
    return f"spikes/bin ({bin_ms:.6g} ms)"


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
