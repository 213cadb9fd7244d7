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

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Final

import numpy as np

from openretina_data.convert import Progress
from openretina_data.datasets.preset import Preset
from openretina_data.errors import ShapeError, TimingError
from openretina_data.layout import DatasetWriter, source_file
from openretina_data.maheswaranathan_2023.archive import (
    DOWNLOAD_URL,
    SLAB_FRAMES,
    find_session_files,
    get_dataset,
    open_archive_file,
)
from openretina_data.maheswaranathan_2023.responses import load_test_repeats_for_session

RESPONSE_TYPE: Final = "firing_rate_20ms"
SPLITS = ("train", "test")

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


@dataclass(frozen=True)
class _Movie:
    """One (session, split) movie of the archive."""

    session: str
    split: str
    path: Path
    n_frames: int
    sha256: str


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
        One per movie hashed, movie written and session written.
    """
    files = find_session_files(archive_dir, stim_type)
    total = 2 * len(files) * 2 + len(files)
    done = 0
    movies: list[_Movie] = []
    for session, path in files.items():
        for split in SPLITS:
            movies.append(_hash_movie(path, session, split))
            done += 1
            yield Progress("read", done, total, f"session {session}: read the {split} movie")
    names = _movie_names(movies, stim_type)
    frame_rate = _frame_rate(files)
    notes: list[str] = []
    with DatasetWriter(
        out_dir, frame_rate_hz=frame_rate, response_unit="Hz", overwrite=overwrite
    ) as writer:
        written: set[str] = set()
        for movie in movies:
            name = names[(movie.session, movie.split)]
            if name not in written:
                _copy_movie(writer, name, movie)
                written.add(name)
            done += 1
            message = f"session {movie.session}: {movie.split} movie is stimulus {name!r}"
            yield Progress("stimulus", done, total, message)
        for session, path in files.items():
            lengths = {m.split: m.n_frames for m in movies if m.session == session}
            session_notes = _write_session(writer, session, path, names, lengths)
            notes.extend(f"session {session}: {note}" for note in session_notes)
            done += 1
            message = f"session {session}: wrote responses" + "".join(
                f"; {n}" for n in session_notes
            )
            yield Progress("session", done, total, message)
        card = writer.card
        card.test_stimuli = sorted({names[(m.session, "test")] for m in movies})
        card.citation = dict(CITATION)
        card.description = (
            f"Maheswaranathan et al. (2023), {stim_type} stimulus, {RESPONSE_TYPE} responses, "
            f"{len(files)} sessions, converted from {DOWNLOAD_URL}."
            + "".join(f" {note}." for note in notes)
        )


def _hash_movie(path: Path, session: str, split: str) -> _Movie:
    digest = hashlib.sha256()
    with open_archive_file(path) as handle:
        movie = get_dataset(handle, f"{split}/stimulus", session)
        if movie.ndim != 3:
            raise ShapeError(
                f"{split}/stimulus has shape {movie.shape}; expected (time, height, width)",
                path=path,
                key=f"{split}/stimulus",
                session=session,
            )
        digest.update(f"{movie.shape}{movie.dtype}".encode())
        for start in range(0, movie.shape[0], SLAB_FRAMES):
            digest.update(np.ascontiguousarray(movie[start : start + SLAB_FRAMES]).tobytes())
        return _Movie(session, split, path, int(movie.shape[0]), digest.hexdigest())


def _movie_names(movies: list[_Movie], stim_type: str) -> dict[tuple[str, str], str]:
    """Stimulus name of each (session, split): shared movies once, others per session."""
    names: dict[tuple[str, str], str] = {}
    for split in SPLITS:
        of_split = [m for m in movies if m.split == split]
        if len({m.sha256 for m in of_split}) == 1:
            names.update({(m.session, split): f"{stim_type}_{split}" for m in of_split})
            continue
        first_session: dict[str, str] = {}
        for m in of_split:
            owner = first_session.setdefault(m.sha256, m.session)
            names[(m.session, split)] = f"{stim_type}_{split}_{owner}"
    return names


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


def _copy_movie(writer: DatasetWriter, name: str, movie: _Movie) -> None:
    with open_archive_file(movie.path) as handle:
        source = get_dataset(handle, f"{movie.split}/stimulus", movie.session)
        slabs = writer.create_stimulus(name, (1, *source.shape), source.dtype)
        for start in range(0, source.shape[0], SLAB_FRAMES):
            slabs.write(source[start : start + SLAB_FRAMES][np.newaxis], start)


def _write_session(
    writer: DatasetWriter,
    session: str,
    path: Path,
    names: dict[tuple[str, str], str],
    lengths: dict[str, int],
) -> list[str]:
    """Write one session's responses and test repeats; return notes on trimmed bins."""
    notes = []
    out = writer.create_session(session, source_files=[source_file(path)])
    with open_archive_file(path) as handle:
        responses = {
            split: np.asarray(
                get_dataset(handle, f"{split}/response/{RESPONSE_TYPE}", session)[()],
                dtype=np.float32,
            )
            for split in SPLITS
        }
    repeats = np.asarray(load_test_repeats_for_session(path, RESPONSE_TYPE), dtype=np.float32)
    for split in SPLITS:
        array = responses[split]
        n_frames = lengths[split]
        if array.ndim != 2 or array.shape[1] < n_frames:
            raise ShapeError(
                f"{split} responses have shape {array.shape} for a movie of {n_frames} frames",
                path=path,
                key=f"{split}/response/{RESPONSE_TYPE}",
                session=session,
                hint="Expected (neurons, time) with at least one bin per frame; re-download the file.",
            )
        if array.shape[1] > n_frames:
            notes.append(
                f"dropped the last {array.shape[1] - n_frames} of {array.shape[1]} "
                f"{split} response bins to match the {n_frames}-frame movie"
            )
        out.write_responses(names[(session, split)], array[:, :n_frames])
    n_test = lengths["test"]
    if repeats.shape[-1] < n_test:
        raise ShapeError(
            f"test repeats have {repeats.shape[-1]} bins for a movie of {n_test} frames",
            path=path,
            key="test/repeats",
            session=session,
        )
    out.write_test_by_trial(names[(session, "test")], repeats[..., :n_test])
    return notes


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
