"""Preset: Höfling et al. (2024) mouse two-photon recordings -> layout v1 (30 Hz).

Paper: Höfling L, Szatko KP, Behrens C, Deng Y, Qiu Y, Klindt DA, Jessen Z, Schwartz GW,
Bethge M, Berens P, Franke K, Ecker AS, Euler T, "A chromatic feature detector in the
retina signals visual context changes", eLife 13:e86860 (2024),
https://doi.org/10.7554/eLife.86860. Data: https://gin.g-node.org/eulerlab/rgc-natstim
(also on openretina's Hugging Face hub).

``ARCHIVE_DIR`` holds the movie pickle and the responses HDF5 file (one of each; see
:mod:`openretina_data.testing.hoefling` for what they contain). Conversion follows what
openretina 1.1.1's ``hoefling_2024`` code does with them, with every size read from the
files instead of hard-coded:

* responses: the inferred spikes of each field are interpolated onto the stimulus
  frames (``clip_length`` frames per trigger, 30 Hz) and divided by their standard
  deviation per neuron (unit ``a.u.``); the three test blocks (first, middle, last)
  become ``test_by_trial_natural_test_<eye>`` and their mean the test responses;
* stimuli: the training clips in the order this field saw them
  (``random_sequences[:, scan_sequence_idx]``), mirrored left-right for the left eye,
  stored once per (sequence, eye) as ``natural_train_seqNN_<eye>``; the test movie
  as ``natural_test_<eye>``. Movies are stored as in the pickle and the card's
  ``norm_mean``/``norm_std`` are 0 and 1, so openretina's reader leaves them as
  openretina's own Höfling pipeline does.
* ``group_assignment``, ``roi_ids`` and ``roi_mask`` go to ``session_info``.

Anything the files do not pin down (a trigger count that does not match the movie, an
unknown eye) stops the conversion with the value found and what was expected.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from openretina_data.convert import Progress
from openretina_data.datasets.preset import Preset
from openretina_data.errors import (
    DataValidationError,
    MissingKeyError,
    ShapeError,
    SourceNotFoundError,
    TimingError,
)
from openretina_data.layout import DatasetWriter, source_file
from openretina_data.safe_pickle import load_plain_pickle

FRAME_RATE_HZ = 30.0
DATA_URL = "https://gin.g-node.org/eulerlab/rgc-natstim"

CITATION = {
    "title": "A chromatic feature detector in the retina signals visual context changes",
    "authors": "Höfling L, Szatko KP, Behrens C, Deng Y, Qiu Y, Klindt DA, Jessen Z, Schwartz GW, "
    "Bethge M, Berens P, Franke K, Ecker AS, Euler T",
    "journal": "eLife 13:e86860 (2024)",
    "doi": "10.7554/eLife.86860",
    "data_doi": "none known; see url",
    "url": DATA_URL,
    "license": "as stated on the GIN repository (not checked by openretina-data)",
    "species": "mouse (Mus musculus)",
    "recording_method": "two-photon calcium imaging of retinal ganglion cells, inferred spikes",
    "units": "a.u.: inferred spike rate at 30 Hz, divided by its standard deviation per neuron",
}


@dataclass(frozen=True)
class _Movies:
    train: np.ndarray  # (2, clips * clip_length, h, w), clips in index order
    test: np.ndarray  # (2, test_clips * clip_length, h, w)
    sequences: np.ndarray  # (clips, n_sequences)
    clip_length: int

    @property
    def n_clips(self) -> int:
        return int(self.sequences.shape[0])

    @property
    def test_clips(self) -> int:
        return self.test.shape[1] // self.clip_length


def find_files(archive_dir: str | os.PathLike[str]) -> tuple[Path, Path]:
    """The one movie pickle and the one responses HDF5 file in ``archive_dir``."""
    folder = Path(archive_dir)
    if not folder.is_dir():
        raise SourceNotFoundError(
            "the Höfling 2024 folder does not exist", path=folder, hint=f"Download {DATA_URL}."
        )
    pickles = sorted(folder.glob("*.pkl"))
    tables = sorted([*folder.glob("*.h5"), *folder.glob("*.hdf5")])
    if len(pickles) != 1 or len(tables) != 1:
        raise SourceNotFoundError(
            f"expected one movie .pkl and one responses .h5, found {len(pickles)} and {len(tables)}",
            path=folder,
            hint="Put the movie pickle and the responses file of the natural-movie stimulus in one folder.",
        )
    return pickles[0], tables[0]


def read_movies(path: Path) -> _Movies:
    """Load and check the movie pickle (plain arrays only; see :mod:`openretina_data.safe_pickle`)."""
    content = load_plain_pickle(path)
    missing = [key for key in ("train", "test", "random_sequences") if key not in content]
    if not isinstance(content, dict) or missing:
        raise MissingKeyError(
            f"the movie pickle lacks {', '.join(missing) or 'a dict'}",
            path=path,
            hint="Use the natural-movie pickle of the Höfling 2024 data.",
        )
    train, test = np.asarray(content["train"], np.float32), np.asarray(content["test"], np.float32)
    sequences = np.asarray(content["random_sequences"]).astype(np.int64)
    if train.ndim != 4 or test.ndim != 4 or sequences.ndim != 2:
        raise ShapeError(
            f"train {train.shape}, test {test.shape}, random_sequences {sequences.shape}: expected "
            "(channels, time, height, width) movies and (clips, sequences)",
            path=path,
        )
    clip_length, rest = divmod(train.shape[1], sequences.shape[0])
    if rest or clip_length == 0 or test.shape[1] % clip_length:
        raise ShapeError(
            f"{train.shape[1]} train frames do not split into {sequences.shape[0]} clips, or "
            f"{test.shape[1]} test frames into clips of {clip_length}",
            path=path,
        )
    return _Movies(train, test, sequences, clip_length)


def _value(group: h5py.Group, *keys: str) -> Any:
    """The first of ``keys`` found as a dataset or attribute of ``group``."""
    for key in keys:
        if key in group:
            return group[key][()]
        if key in group.attrs:
            return group.attrs[key]
    raise MissingKeyError(
        f"field has none of {', '.join(keys)}",
        path=group.file.filename,
        key=keys[0],
        session=group.name.strip("/"),
        hint=f"Available: {', '.join(sorted([*group.keys(), *group.attrs.keys()]))}.",
    )


def _text(value: Any) -> str:
    value = np.asarray(value).ravel()[0] if np.ndim(value) else value
    return value.decode() if isinstance(value, bytes) else str(value)


def field_responses(group: h5py.Group, movies: _Movies) -> tuple[np.ndarray, np.ndarray]:
    """(train (neurons, clips*L), test_by_trial (3, neurons, test_clips*L)) of one field."""
    session = group.name.strip("/")
    traces = np.asarray(
        _value(group, "natural_inferred_spikes", "natural_spikes"), dtype=np.float64
    )
    if "natural_traces_times" in group:
        times = np.asarray(group["natural_traces_times"][()], dtype=np.float64)
    else:
        t0 = np.atleast_1d(
            np.asarray(_value(group, "natural_traces_t0"), dtype=np.float64).squeeze()
        )[:, None]
        dt = np.atleast_1d(
            np.asarray(_value(group, "natural_traces_dt"), dtype=np.float64).squeeze()
        )[:, None]
        times = np.arange(traces.shape[1])[None, :] * dt + t0
    triggers = np.asarray(_value(group, "natural_trigger_times"), dtype=np.float64)
    triggers = triggers[0] if triggers.ndim == 2 else triggers
    L, n_train, n_test = movies.clip_length, movies.n_clips, movies.test_clips
    expected = 3 * n_test + n_train
    if triggers.shape != (expected,) or n_train % 2:
        raise TimingError(
            f"{triggers.size} triggers; the movie needs {expected} (3 x {n_test} test clips + {n_train} train clips)",
            path=group.file.filename,
            key="natural_trigger_times",
            session=session,
            hint="Use the responses and movie files of the same natural-movie stimulus.",
        )
    if times.shape != traces.shape:
        raise ShapeError(
            f"trace times {times.shape} do not match traces {traces.shape}", session=session
        )
    frame_times = (triggers[:, None] + np.arange(L)[None, :] / FRAME_RATE_HZ).ravel()
    upsampled = np.stack([np.interp(frame_times, t, x) for t, x in zip(times, traces, strict=True)])
    std = upsampled.std(axis=1, keepdims=True)
    if np.any(std == 0):
        raise DataValidationError(
            "a neuron's responses are constant, so they cannot be divided by their standard deviation",
            path=group.file.filename,
            session=session,
        )
    upsampled /= std
    clips = upsampled.reshape(upsampled.shape[0], expected, L)
    half = n_train // 2
    test_starts = (0, n_test + half, 2 * n_test + n_train)
    by_trial = np.stack([clips[:, s : s + n_test].reshape(clips.shape[0], -1) for s in test_starts])
    train = np.concatenate(
        [clips[:, n_test : n_test + half], clips[:, 2 * n_test + half : 2 * n_test + n_train]],
        axis=1,
    )
    return train.reshape(train.shape[0], -1), by_trial


def _train_movie(movies: _Movies, sequence: int | None, eye: str) -> np.ndarray:
    order = np.arange(movies.n_clips) if sequence is None else movies.sequences[:, sequence]
    L = movies.clip_length
    movie = np.concatenate([movies.train[:, c * L : (c + 1) * L] for c in order], axis=1)
    return movie[..., ::-1].copy() if eye == "left" else movie


def convert_archive(
    archive_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    overwrite: bool = False,
) -> Iterator[Progress]:
    """Convert the movie pickle and responses file in ``archive_dir`` into a dataset at ``out_dir``."""
    pickle_path, responses_path = find_files(archive_dir)
    movies = read_movies(pickle_path)
    sources = [source_file(pickle_path), source_file(responses_path)]
    with (
        h5py.File(responses_path, "r") as table,
        DatasetWriter(
            out_dir, frame_rate_hz=FRAME_RATE_HZ, response_unit="a.u.", overwrite=overwrite
        ) as writer,
    ):
        fields = sorted(k for k in table if isinstance(table[k], h5py.Group))
        written: set[str] = set()
        test_names: set[str] = set()
        for done, field in enumerate(fields, start=1):
            group = table[field]
            eye = _text(_value(group, "eye"))
            if eye not in ("left", "right"):
                raise DataValidationError(
                    f"eye is {eye!r}; expected 'left' or 'right'", session=field
                )
            sequence = (
                int(np.asarray(group["scan_sequence_idx"][()]).ravel()[0])
                if "scan_sequence_idx" in group
                else None
            )
            if sequence is not None and not 0 <= sequence < movies.sequences.shape[1]:
                raise DataValidationError(
                    f"scan_sequence_idx {sequence} is outside the {movies.sequences.shape[1]} random sequences",
                    session=field,
                )
            train_name = (
                f"natural_train_seq{sequence:02d}_{eye}"
                if sequence is not None
                else f"natural_train_{eye}"
            )
            test_name = f"natural_test_{eye}"
            if train_name not in written:
                writer.write_stimulus(train_name, _train_movie(movies, sequence, eye))
                written.add(train_name)
            if test_name not in written:
                writer.write_stimulus(
                    test_name, movies.test[..., ::-1].copy() if eye == "left" else movies.test
                )
                written.add(test_name)
            train, by_trial = field_responses(group, movies)
            session = writer.create_session(field, source_files=sources)
            session.write_responses(train_name, train.astype(np.float32))
            session.write_responses(test_name, by_trial.mean(axis=0).astype(np.float32))
            session.write_test_by_trial(test_name, by_trial.astype(np.float32))
            for key in ("group_assignment", "roi_ids", "roi_mask"):
                if key in group:
                    session.write_session_info(key, np.asarray(group[key][()]))
            test_names.add(test_name)
            yield Progress(
                "session", done, len(fields), f"session {field}: {eye} eye, stimulus {train_name!r}"
            )
        card = writer.card
        card.test_stimuli = sorted(test_names)
        card.norm_mean, card.norm_std = 0.0, 1.0
        card.citation = dict(CITATION)
        card.description = (
            f"Höfling et al. (2024), natural movie, {len(fields)} fields, {movies.n_clips} training clips of "
            f"{movies.clip_length} frames at 30 Hz, converted from {DATA_URL}. Movies stored as in the pickle."
        )


PRESETS = (
    Preset(
        name="hoefling_2024",
        title="Höfling et al. 2024 - mouse ganglion cells, two-photon calcium, natural movie (30 Hz)",
        citation=CITATION,
        archive_layout="ARCHIVE_DIR/<movies>.pkl and ARCHIVE_DIR/<responses>.h5 (natural movie)",
        run=convert_archive,
    ),
)
