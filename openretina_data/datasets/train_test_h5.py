"""Convert archives of per-session ``train``/``test`` HDF5 files into layout v1.

Several published datasets (Maheswaranathan et al. 2023; the formatted Goldin et al.
2022 files) store one HDF5 file per session with the same shape of contents::

    train/stimulus            (time, height, width)   one frame per response bin
    train/response/<kind>     (neurons, time)
    test/stimulus             (time, height, width)   the repeated test movie
    test/response/<kind>      (neurons, time)         mean over repeats
    test/repeats/...          single trials (read by a dataset-specific function)

:func:`convert_train_test_files` turns such files into a dataset: movies stored once
per distinct content under ``stimuli/``, responses as float32, repeats as
``test_by_trial_<test movie>`` with an HDF5 attribute ``unit``. The card's
``units`` entry names the unit of both, because an archive's repeats need not be in
the unit of its responses. Movies are hashed and copied in slabs of frames.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from openretina_data.convert import Progress
from openretina_data.errors import ShapeError
from openretina_data.layout import DatasetWriter, source_file
from openretina_data.layout.names import test_by_trial_key
from openretina_data.maheswaranathan_2023.archive import (
    SLAB_FRAMES,
    get_dataset,
    open_archive_file,
)

SPLITS = ("train", "test")


@dataclass(frozen=True)
class Repeats:
    """Single-trial test responses and their unit.

    Attributes
    ----------
    trials
        (repeats, neurons, time).
    unit
        What one value means, e.g. ``Hz`` or ``spikes/bin (10 ms)``.
    """

    trials: np.ndarray
    unit: str


#: ``read_repeats(path, session)``: :class:`Repeats`, a bare (repeats, neurons, time)
#: array in the responses' unit, or ``None`` when the file has no repeats.
RepeatsReader = Callable[[Path, str], "Repeats | np.ndarray | None"]


@dataclass(frozen=True)
class TrainTestArchive:
    """What differs between archives of this shape.

    Attributes
    ----------
    stim_prefix
        Stimulus names start with it: ``<prefix>_train``, ``<prefix>_test[_<session>]``.
    response_key
        Dataset under ``<split>/response/`` to convert (``firing_rate_20ms``, ``binned``).
    response_unit
        Unit of those responses for the card (``Hz``, ``spikes/bin``).
    frame_rate_hz
        Frames per second, or ``None`` when a bin is not a movie frame.
    citation
        The card's citation fields.
    description
        First sentence of the card's description.
    read_repeats
        Reads the single-trial test responses of one file, or ``None`` if it has none.
    """

    stim_prefix: str
    response_key: str
    response_unit: str
    frame_rate_hz: float | None
    citation: dict[str, str]
    description: str
    read_repeats: RepeatsReader


@dataclass(frozen=True)
class _Movie:
    session: str
    split: str
    path: Path
    n_frames: int
    sha256: str


def convert_train_test_files(
    files: dict[str, Path],
    out_dir: str | os.PathLike[str],
    archive: TrainTestArchive,
    *,
    overwrite: bool = False,
) -> Iterator[Progress]:
    """Write ``files`` (session name -> HDF5 file) as one dataset at ``out_dir``.

    Yields one :class:`Progress` per movie hashed, per stimulus and per session written.
    Responses longer than their movie are cut to its length (noted in the step and in the
    card's description); shorter ones raise :class:`ShapeError` and nothing is written.
    """
    total = 2 * len(files) * 2 + len(files)
    done = 0
    movies: list[_Movie] = []
    for session, path in files.items():
        for split in SPLITS:
            movies.append(_hash_movie(path, session, split))
            done += 1
            yield Progress("read", done, total, f"session {session}: read the {split} movie")
    names = _movie_names(movies, archive.stim_prefix)
    notes: list[str] = []
    repeats_units: dict[str, str] = {}
    with DatasetWriter(
        out_dir,
        frame_rate_hz=archive.frame_rate_hz,
        response_unit=archive.response_unit,
        overwrite=overwrite,
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
            session_notes, unit = _write_session(writer, session, path, names, lengths, archive)
            if unit is not None:
                repeats_units[session] = unit
            notes.extend(f"session {session}: {note}" for note in session_notes)
            done += 1
            message = f"session {session}: wrote responses" + "".join(
                f"; {n}" for n in session_notes
            )
            yield Progress("session", done, total, message)
        card = writer.card
        card.test_stimuli = sorted({names[(m.session, "test")] for m in movies})
        card.citation = dict(archive.citation)
        card.description = archive.description + "".join(f" {note}." for note in notes)
        card.extra["units"] = _units_entry(archive.response_unit, repeats_units)


def _units_entry(response_unit: str, repeats_units: dict[str, str]) -> dict[str, object]:
    """The card's ``units``: one unit for the repeats, or one per session where they differ."""
    entry: dict[str, object] = {"responses": response_unit}
    distinct = set(repeats_units.values())
    if len(distinct) == 1:
        entry["test_by_trial"] = distinct.pop()
    elif distinct:
        entry["test_by_trial"] = dict(repeats_units)
    return entry


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


def _movie_names(movies: list[_Movie], prefix: str) -> dict[tuple[str, str], str]:
    """Stimulus name of each (session, split): shared movies once, others per session."""
    names: dict[tuple[str, str], str] = {}
    for split in SPLITS:
        of_split = [m for m in movies if m.split == split]
        if len({m.sha256 for m in of_split}) == 1:
            names.update({(m.session, split): f"{prefix}_{split}" for m in of_split})
            continue
        first_session: dict[str, str] = {}
        for m in of_split:
            owner = first_session.setdefault(m.sha256, m.session)
            names[(m.session, split)] = f"{prefix}_{split}_{owner}"
    return names


def _copy_movie(writer: DatasetWriter, name: str, movie: _Movie) -> None:
    """Copy a (time, h, w) movie into ``stimuli/<name>.npy`` as (1, time, h, w), slab by slab."""
    with open_archive_file(movie.path) as handle:
        source = get_dataset(handle, f"{movie.split}/stimulus", movie.session)
        dtype = source.dtype if source.dtype in (np.uint8, np.float32) else np.dtype(np.float32)
        slabs = writer.create_stimulus(name, (1, *source.shape), dtype)
        for start in range(0, source.shape[0], SLAB_FRAMES):
            slab = np.asarray(source[start : start + SLAB_FRAMES], dtype=dtype)
            slabs.write(slab[np.newaxis], start)


def _write_session(
    writer: DatasetWriter,
    session: str,
    path: Path,
    names: dict[tuple[str, str], str],
    lengths: dict[str, int],
    archive: TrainTestArchive,
) -> tuple[list[str], str | None]:
    """Write one session's responses and test repeats.

    Returns the notes on trimmed bins and the unit of the repeats (``None``: no repeats).
    """
    notes = []
    out = writer.create_session(session, source_files=[source_file(path)])
    key = archive.response_key
    with open_archive_file(path) as handle:
        responses = {
            split: np.asarray(
                get_dataset(handle, f"{split}/response/{key}", session)[()], dtype=np.float32
            )
            for split in SPLITS
        }
    for split in SPLITS:
        array = responses[split]
        n_frames = lengths[split]
        if array.ndim != 2 or array.shape[1] < n_frames:
            raise ShapeError(
                f"{split} responses have shape {array.shape} for a movie of {n_frames} frames",
                path=path,
                key=f"{split}/response/{key}",
                session=session,
                hint="Expected (neurons, time) with at least one bin per frame; re-download the file.",
            )
        if array.shape[1] > n_frames:
            notes.append(
                f"dropped the last {array.shape[1] - n_frames} of {array.shape[1]} "
                f"{split} response bins to match the {n_frames}-frame movie"
            )
        out.write_responses(names[(session, split)], array[:, :n_frames])
    read = archive.read_repeats(path, session)
    if read is None:
        return notes, None
    if not isinstance(read, Repeats):
        read = Repeats(read, archive.response_unit)
    repeats = read.trials
    n_test = lengths["test"]
    if repeats.ndim != 3 or repeats.shape[-1] < n_test:
        raise ShapeError(
            f"test repeats have shape {repeats.shape} for a movie of {n_test} frames",
            path=path,
            key="test/repeats",
            session=session,
            hint="Expected (repeats, neurons, time) with at least one bin per frame.",
        )
    test_name = names[(session, "test")]
    out.write_test_by_trial(test_name, np.asarray(repeats[..., :n_test], dtype=np.float32))
    out.file[test_by_trial_key(test_name)].attrs["unit"] = read.unit
    return notes, read.unit
