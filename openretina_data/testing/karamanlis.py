"""A miniature of the Karamanlis et al. (2024) archive (MAT v7.3 files), for tests.

The archive (https://doi.org/10.12751/g-node.ejk8kx) has one folder per recording,
the species in its name, and one MATLAB v7.3 file per stimulus. openretina 1.1.1 reads
the fixation-movie file with h5py, so these are the shapes *as h5py sees them*
(MATLAB's own order is reversed)::

    <root>/<recording with 'mouse' or 'marmoset'>/<...>fixationmovie_data.mat
        frozenImages        (n_images, width, height)   images of the repeated movie
        frozenfixations     (frames, 3)                 image index (1-based), x, y
        frozenbin           (trials, frames, neurons)   spike counts per frame
        runningImages       (n_images, width, height)   images of the training movie
        runningfixations    (blocks, frames, 3)
        runningbin          (blocks, frames, neurons)

Files carry MATLAB's 512-byte v7.3 header and a ``MATLAB_class`` attribute on each
variable, so format probes recognise them as MAT files. The real images fill an
800 x 600 screen; the miniature's are smaller and shifted by small gaze steps.
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np

_HEADER = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."


def _write_header(path: Path) -> None:
    header = bytearray(_HEADER.ljust(116, b" "))
    header += b"\x00" * 8  # subsystem data offset
    header += (0x0200).to_bytes(2, "little") + b"IM"  # version, endianness
    with open(path, "r+b") as handle:
        handle.write(bytes(header.ljust(512, b"\x00")))


def _variable(f: h5py.File, name: str, data: np.ndarray) -> None:
    f.create_dataset(name, data=data.astype(np.float64))
    f[name].attrs["MATLAB_class"] = np.bytes_("double")


def _fixations(
    rng: np.random.Generator, n_frames: int, n_images: int, image_size: tuple[int, int]
) -> np.ndarray:
    """(frames, 3): image index (1-based), and the image pixel (x, y) at the screen centre, drifting."""
    height, width = image_size
    index = rng.integers(1, n_images + 1, size=n_frames)
    x = np.clip(width // 2 + np.cumsum(rng.integers(-3, 4, size=n_frames)), 0, width - 1)
    y = np.clip(height // 2 + np.cumsum(rng.integers(-3, 4, size=n_frames)), 0, height - 1)
    return np.stack([index, x, y], axis=1).astype(np.float64)


def write_karamanlis_archive(
    root: str | os.PathLike[str],
    *,
    sessions: tuple[str, ...] = ("20220301_mouse_1", "20220415_mouse_2", "20221103_marmoset_1"),
    n_neurons: tuple[int, ...] = (6, 4, 5),
    n_images: int = 4,
    image_size: tuple[int, int] = (300, 400),
    test_frames: int = 20,
    test_trials: int = 4,
    train_blocks: int = 3,
    frames_per_block: int = 30,
    seed: int = 0,
) -> Path:
    """Write one ``<session>/<session>_fixationmovie_data.mat`` per session; return ``root``.

    Recordings of the same species share the frozen (test) images and fixations, as the
    repeated movie does in the real archive; training blocks differ.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    frozen: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for session, neurons in zip(sessions, n_neurons, strict=True):
        species = "marmoset" if "marmoset" in session else "mouse"
        frozen_images, frozen_fix = frozen.setdefault(
            species,
            (
                rng.integers(0, 256, size=(n_images, image_size[1], image_size[0])).astype(
                    np.float64
                ),
                _fixations(rng, test_frames, n_images, image_size),
            ),
        )
        running_images = rng.integers(0, 256, size=(n_images, image_size[1], image_size[0])).astype(
            np.float64
        )
        running_fix = np.stack(
            [_fixations(rng, frames_per_block, n_images, image_size) for _ in range(train_blocks)]
        )
        folder = root / session
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{session}_fixationmovie_data.mat"
        with h5py.File(path, "w-", userblock_size=512) as f:
            _variable(f, "frozenImages", frozen_images)
            _variable(f, "frozenfixations", frozen_fix)
            _variable(f, "frozenbin", rng.poisson(0.5, size=(test_trials, test_frames, neurons)))
            _variable(f, "runningImages", running_images)
            _variable(f, "runningfixations", running_fix)
            _variable(
                f, "runningbin", rng.poisson(0.5, size=(train_blocks, frames_per_block, neurons))
            )
        _write_header(path)
    return root
