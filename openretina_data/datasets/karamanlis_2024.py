"""Preset: Karamanlis et al. (2024) fixation movies (MAT v7.3) -> layout v1.

Paper: Karamanlis D, Khani MH, Schreyer HM, Zapp SJ, Mietsch M, Gollisch T,
"Nonlinear receptive fields evoke redundant retinal coding of natural scenes",
Nature (2024), https://doi.org/10.1038/s41586-024-08212-3.
Data: https://doi.org/10.12751/g-node.ejk8kx (unpack each recording's archive; zips are
refused with a hint).

Presets ``karamanlis_2024_mouse`` and ``karamanlis_2024_marmoset`` convert the
``*fixationmovie_data.mat`` file of every recording folder whose name contains the
species (as openretina's loader selects them). The movies are rebuilt from images and
gaze fixations by :mod:`.fixation_movie` at 60 x 80 pixels (see there for how this
differs from openretina). Responses are the binned spike counts per frame
(``spikes/bin``): ``runningbin`` blocks concatenated for training, ``frozenbin`` trials
as ``test_by_trial`` and their mean as the test responses. The files openretina reads
hold no frame rate, so the card's ``frame_rate_hz`` is ``None``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from openretina_data.convert import Progress
from openretina_data.datasets.fixation_movie import DOWNSAMPLED_SIZE, fixation_movie
from openretina_data.datasets.preset import species_presets
from openretina_data.errors import ShapeError, SourceNotFoundError
from openretina_data.layout import DatasetWriter, source_file
from openretina_data.maheswaranathan_2023.archive import get_dataset, open_archive_file

DATA_URL = "https://doi.org/10.12751/g-node.ejk8kx"
STIM_TYPE = "fixationmovie"
SPECIES = {"mouse": "mouse (Mus musculus)", "marmoset": "marmoset (Callithrix jacchus)"}

CITATION = {
    "title": "Nonlinear receptive fields evoke redundant retinal coding of natural scenes",
    "authors": "Karamanlis D, Khani MH, Schreyer HM, Zapp SJ, Mietsch M, Gollisch T",
    "journal": "Nature (2024)",
    "doi": "10.1038/s41586-024-08212-3",
    "data_doi": "10.12751/g-node.ejk8kx",
    "url": DATA_URL,
    "license": "as stated on the G-Node GIN record (not checked by openretina-data)",
    "species": "",
    "recording_method": "multielectrode array, spike-sorted ganglion cells, natural images with fixational gaze shifts",
    "units": "spikes/bin: spike count per stimulus frame",
}


@dataclass(frozen=True)
class _Recording:
    session: str
    path: Path
    test_sha256: str
    train_sha256: str


def find_recordings(archive_dir: str | os.PathLike[str], species: str) -> dict[str, Path]:
    """``<folder name> -> *fixationmovie_data.mat`` for each recording folder of ``species``."""
    base = Path(archive_dir)
    if not base.is_dir():
        raise SourceNotFoundError(
            "the Karamanlis 2024 archive folder does not exist",
            path=base,
            hint=f"Download the recordings from {DATA_URL}, unpack them and pass their folder.",
        )
    zipped = sorted(p.name for p in base.glob(f"*{species}*.zip"))
    if zipped:
        raise SourceNotFoundError(
            f"recordings are still zipped: {', '.join(zipped)}",
            path=base,
            hint="Unzip each recording into a folder of the same name first.",
        )
    files: dict[str, Path] = {}
    for folder in sorted(p for p in base.iterdir() if p.is_dir() and species in p.name):
        matches = sorted(folder.glob(f"*{STIM_TYPE}_data.mat"))
        if len(matches) > 1:
            raise SourceNotFoundError(
                f"{len(matches)} files end in {STIM_TYPE}_data.mat; expected one",
                path=folder,
                hint="Keep one fixation-movie file per recording folder.",
            )
        if matches:
            files[folder.name] = matches[0]
    if not files:
        raise SourceNotFoundError(
            f"no {species} recording folder holds a *{STIM_TYPE}_data.mat file",
            path=base,
            hint=f"Pass the folder holding the unpacked recordings from {DATA_URL}.",
        )
    return files


def convert_archive(
    archive_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    species: str = "mouse",
) -> Iterator[Progress]:
    """Convert Karamanlis 2024 ``species`` recordings in ``archive_dir`` to a dataset at ``out_dir``."""
    files = find_recordings(archive_dir, species)
    total = 2 * len(files)
    recordings = []
    for done, (session, path) in enumerate(files.items(), start=1):
        recordings.append(_fingerprint(session, path))
        yield Progress("read", done, total, f"session {session}: read the fixations and images")
    test_names = _names(recordings, "test")
    train_names = _names(recordings, "train")
    with DatasetWriter(
        out_dir, frame_rate_hz=None, response_unit="spikes/bin", overwrite=overwrite
    ) as writer:
        written: set[str] = set()
        for done, recording in enumerate(recordings, start=len(files) + 1):
            _write_recording(writer, recording, test_names, train_names, written)
            yield Progress(
                "session", done, total, f"session {recording.session}: wrote movies and responses"
            )
        writer.card.test_stimuli = sorted(set(test_names.values()))
        writer.card.citation = {**CITATION, "species": SPECIES[species]}
        writer.card.description = (
            f"Karamanlis et al. (2024), {species}, fixation movie rebuilt at "
            f"{DOWNSAMPLED_SIZE[0]}x{DOWNSAMPLED_SIZE[1]} pixels, {len(files)} recordings, "
            f"converted from {DATA_URL}. Frame rate not stored in the source files."
        )


def _fingerprint(session: str, path: Path) -> _Recording:
    """SHA-256 of what defines each movie: its images and fixations."""
    digests = {}
    with open_archive_file(path) as handle:
        for split, (images, fixations) in {
            "test": ("frozenImages", "frozenfixations"),
            "train": ("runningImages", "runningfixations"),
        }.items():
            digest = hashlib.sha256()
            for key in (images, fixations):
                data = get_dataset(handle, key, session)
                digest.update(f"{key}{data.shape}".encode())
                for start in range(0, max(data.shape[0], 1)):
                    digest.update(np.ascontiguousarray(data[start]).tobytes())
            digests[split] = digest.hexdigest()
    return _Recording(session, path, digests["test"], digests["train"])


def _names(recordings: list[_Recording], split: str) -> dict[str, str]:
    """Stimulus name per session: one shared name when every recording saw the same movie."""
    digest = {r.session: r.test_sha256 if split == "test" else r.train_sha256 for r in recordings}
    if len(set(digest.values())) == 1:
        return {session: f"{STIM_TYPE}_{split}" for session in digest}
    owner: dict[str, str] = {}
    return {
        session: f"{STIM_TYPE}_{split}_{owner.setdefault(d, session)}"
        for session, d in digest.items()
    }


def _images(handle: h5py.File, key: str, session: str) -> np.ndarray:
    """(n_images, height, width) from the stored (n_images, width, height)."""
    data = np.asarray(get_dataset(handle, key, session)[()], dtype=np.float32)
    if data.ndim != 3:
        raise ShapeError(
            f"{key} has shape {data.shape}; expected (images, width, height)",
            path=handle.filename,
            key=key,
            session=session,
        )
    return np.ascontiguousarray(data.transpose(0, 2, 1))


def _write_recording(
    writer: DatasetWriter,
    recording: _Recording,
    test_names: dict[str, str],
    train_names: dict[str, str],
    written: set[str],
) -> None:
    session, path = recording.session, recording.path
    out = writer.create_session(session, source_files=[source_file(path)])
    with open_archive_file(path) as handle:
        frozen_fix = np.asarray(get_dataset(handle, "frozenfixations", session)[()])
        running_fix = np.asarray(get_dataset(handle, "runningfixations", session)[()])
        frozen_bin = np.asarray(get_dataset(handle, "frozenbin", session)[()], dtype=np.float32)
        running_bin = np.asarray(get_dataset(handle, "runningbin", session)[()], dtype=np.float32)
        _check_counts(frozen_bin, frozen_fix[np.newaxis], "frozen", path, session)
        _check_counts(running_bin, running_fix, "running", path, session)
        test_name, train_name = test_names[session], train_names[session]
        if test_name not in written:
            movie = fixation_movie(_images(handle, "frozenImages", session), frozen_fix)
            writer.write_stimulus(test_name, movie[np.newaxis])
            written.add(test_name)
        if train_name not in written:
            images = _images(handle, "runningImages", session)
            n_frames = running_fix.shape[0] * running_fix.shape[1]
            slabs = writer.create_stimulus(train_name, (1, n_frames, *DOWNSAMPLED_SIZE), np.float32)
            for block, fixations in enumerate(running_fix):
                slabs.write(
                    fixation_movie(images, fixations)[np.newaxis], block * running_fix.shape[1]
                )
            written.add(train_name)
    by_trial = frozen_bin.transpose(0, 2, 1)  # (trials, neurons, frames)
    out.write_responses(train_name, np.concatenate(list(running_bin), axis=0).T)
    out.write_responses(test_name, by_trial.mean(axis=0))
    out.write_test_by_trial(test_name, by_trial)


def _check_counts(
    counts: np.ndarray, fixations: np.ndarray, which: str, path: Path, session: str
) -> None:
    """``<which>bin`` must be (blocks or trials, frames, neurons) with one bin per fixation frame."""
    if counts.ndim != 3 or fixations.ndim != 3 or counts.shape[1] != fixations.shape[1]:
        raise ShapeError(
            f"{which}bin has shape {counts.shape} but {which}fixations describe {fixations.shape[:-1]} "
            "(blocks, frames)",
            path=path,
            key=f"{which}bin",
            session=session,
            hint="Each block/trial needs one response bin per movie frame; the file may be from another stimulus.",
        )
    if which == "running" and counts.shape[0] != fixations.shape[0]:
        raise ShapeError(
            f"runningbin has {counts.shape[0]} blocks but runningfixations {fixations.shape[0]}",
            path=path,
            key="runningbin",
            session=session,
        )


PRESETS = species_presets(
    name="karamanlis_2024_{species}",
    title="Karamanlis et al. 2024 - {species} ganglion cells, fixation movies (MEA, MAT v7.3)",
    archive_layout="ARCHIVE_DIR/<recording with '{species}'>/*fixationmovie_data.mat (unzipped)",
    citation=CITATION,
    species=SPECIES,
    run=convert_archive,
)
