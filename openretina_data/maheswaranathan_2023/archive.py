"""Find and read the files of the Maheswaranathan et al. (2023) archive.

Shared by :mod:`.stimuli`, :mod:`.responses` and the conversion preset in
:mod:`openretina_data.datasets.maheswaranathan_2023`. Nothing here loads a whole movie:
statistics and normalised copies are computed in slabs of frames, so peak memory is one
output array plus one slab.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from openretina_data.errors import (
    DataValidationError,
    MissingKeyError,
    ShapeError,
    SourceNotFoundError,
    UnreadableSourceError,
)

LOGGER = logging.getLogger(__name__)

ARCHIVE_FOLDER = "ganglion_cell_data"
STIM_TYPES = ("naturalscene", "whitenoise")
RESPONSE_TYPES = ("firing_rate_5ms", "firing_rate_10ms", "firing_rate_20ms", "binned")
DOWNLOAD_URL = "https://doi.org/10.25740/rk663dm5577"
#: Frames read at once when computing statistics or normalised copies (50x50 frames: 10 MB float32).
SLAB_FRAMES = 1024


def check_choice(value: str, allowed: tuple[str, ...], what: str) -> None:
    """Raise :class:`DataValidationError` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise DataValidationError(
            f"unknown {what} {value!r}",
            hint=f"Use one of: {', '.join(allowed)}.",
        )


def find_session_files(base_data_path: str | os.PathLike[str], stim_type: str) -> dict[str, Path]:
    """Map each session name to its ``<stim_type>.h5`` file, sorted by session name.

    ``base_data_path`` may be the archive's top folder (the one holding
    ``ganglion_cell_data``, as openretina expects) or ``ganglion_cell_data`` itself (as
    openretina's Data I/O page says). Sessions without a file for ``stim_type`` are
    skipped with a log line.
    """
    check_choice(stim_type, STIM_TYPES, "stim_type")
    text = os.fspath(base_data_path)
    if text.startswith(("https://", "http://")):
        raise SourceNotFoundError(
            "openretina-data does not download data",
            path=text,
            hint=f"Download the archive from {DOWNLOAD_URL} (or the mirror), unpack it and pass the local folder.",
        )
    base = Path(text).expanduser()
    if not base.is_dir():
        raise SourceNotFoundError(
            "the archive folder does not exist",
            path=base,
            hint="Pass the unpacked archive folder (the one that contains 'ganglion_cell_data').",
        )
    folder = base / ARCHIVE_FOLDER if (base / ARCHIVE_FOLDER).is_dir() else base
    files: dict[str, Path] = {}
    for session_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        candidate = session_dir / f"{stim_type}.h5"
        if candidate.is_file():
            files[session_dir.name] = candidate
        else:
            LOGGER.info("session %s has no %s; skipped", session_dir.name, candidate.name)
    if not files:
        raise SourceNotFoundError(
            f"no session folder with a {stim_type}.h5 file",
            path=folder,
            hint="Point to the unpacked archive: <folder>/ganglion_cell_data/<session>/"
            + f"{stim_type}.h5.",
        )
    return files


def open_archive_file(path: Path) -> h5py.File:
    """Open an archive file read-only, turning HDF5's errors into ours."""
    try:
        return h5py.File(path, "r")
    except OSError as error:
        raise UnreadableSourceError(f"cannot read the HDF5 file: {error}", path=path) from error


def get_dataset(handle: h5py.File, key: str, session: str) -> h5py.Dataset:
    """The dataset at ``key``; :class:`MissingKeyError` naming what is there instead."""
    item = handle.get(key)
    if not isinstance(item, h5py.Dataset):
        parent = handle.get(key.rsplit("/", 1)[0]) if "/" in key else handle
        available = sorted(parent.keys()) if isinstance(parent, h5py.Group) else []
        raise MissingKeyError(
            f"the file has no dataset {key!r}",
            path=handle.filename,
            key=key,
            session=session,
            hint=f"Available here: {', '.join(available) or 'nothing'}; is this the Maheswaranathan archive?",
        )
    return item


@dataclass(frozen=True)
class MovieStats:
    """Mean and sample standard deviation (ddof=1) of every pixel of a movie."""

    mean: float
    std: float


def movie_stats(movie: h5py.Dataset | np.ndarray) -> MovieStats:
    """Mean and standard deviation of a (time, ...) movie, read in slabs of frames.

    Slab results are merged with Chan et al.'s pairwise update in float64, so the result
    does not depend on the slab size beyond rounding and never needs a float copy of
    the movie. The standard deviation uses ``n - 1`` like ``torch.std``.
    """
    count, mean, m2 = 0, 0.0, 0.0
    for start in range(0, movie.shape[0], SLAB_FRAMES):
        slab = np.asarray(movie[start : start + SLAB_FRAMES], dtype=np.float64)
        n = slab.size
        if n == 0:
            continue
        slab_mean = float(slab.mean())
        slab_m2 = float(np.square(slab - slab_mean).sum())
        delta = slab_mean - mean
        total = count + n
        mean += delta * n / total
        m2 += slab_m2 + delta * delta * count * n / total
        count = total
    if count < 2:
        raise ShapeError("a movie needs at least two pixels to compute a standard deviation")
    std = float(np.sqrt(m2 / (count - 1)))
    if std == 0.0:
        raise DataValidationError(
            "the movie is constant, so it cannot be normalised",
            hint="Load it with normalize_stimuli=False.",
        )
    return MovieStats(mean=mean, std=std)


def normalized_copy(movie: h5py.Dataset | np.ndarray, stats: MovieStats) -> np.ndarray:
    """``(movie - mean) / std`` as float32, filled slab by slab."""
    out = np.empty(movie.shape, dtype=np.float32)
    mean, std = np.float32(stats.mean), np.float32(stats.std)
    for start in range(0, movie.shape[0], SLAB_FRAMES):
        slab = np.asarray(movie[start : start + SLAB_FRAMES], dtype=np.float32)
        out[start : start + SLAB_FRAMES] = (slab - mean) / std
    return out


def memmap_movie(movie: h5py.Dataset, session: str) -> np.memmap:
    """A read-only memory map of a (time, h, w) HDF5 movie, shaped (1, time, h, w).

    Only contiguous, uncompressed datasets can be mapped (the archive's are stored
    that way); anything else raises :class:`DataValidationError` with the fix.
    """
    offset = movie.id.get_offset()
    if movie.chunks is not None or movie.compression is not None or offset is None:
        raise DataValidationError(
            "this movie is chunked or compressed in the HDF5 file, so it cannot be memory-mapped",
            path=movie.file.filename,
            key=movie.name,
            session=session,
            hint="Load with lazy=False, or rewrite the file contiguous: h5repack -l CONTI in.h5 out.h5.",
        )
    return np.memmap(
        movie.file.filename,
        dtype=movie.dtype,
        mode="r",
        offset=int(offset),
        shape=(1, *movie.shape),
    )
