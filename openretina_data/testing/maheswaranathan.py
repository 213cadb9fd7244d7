"""A miniature of the Maheswaranathan et al. (2023) archive, for tests and demos.

The real archive (https://doi.org/10.25740/rk663dm5577, ~30 GB unpacked) holds one
folder per recording session under ``ganglion_cell_data/``, each with one HDF5 file per
stimulus type::

    <root>/ganglion_cell_data/<session>/naturalscene.h5
    <root>/ganglion_cell_data/<session>/whitenoise.h5
        train/stimulus                  uint8   (time, 50, 50)   light intensity
        train/time                      float64 (time,)          seconds, 10 ms steps
        train/response/binned           float64 (cells, time)    spikes per bin
        train/response/firing_rate_5ms  float64 (cells, time)    Hz, smoothed
        train/response/firing_rate_10ms ...
        train/response/firing_rate_20ms ...
        test/...                        the same, for the repeated test movie
        test/repeats/cell01 ...         float64 (repeats, time)  one per cell ("by_cell"), or
        test/repeats/firing_rate_20ms   float64 (repeats, cells, time) ("by_response_type")

The per-cell repeats are written as spike counts per bin whose trial mean is
``test/response/binned``; the archive does not document what its per-cell repeats hold,
so this is the miniature's choice (the preset checks it rather than assuming it).

The group and dataset names, the two layouts of ``test/repeats`` and the one extra frame of
test responses (5997 responses for 5996 test frames in session ``15-10-07``) are what
openretina 1.1.1's loaders and the deep-retina code read. The archive documents neither
dtypes nor attributes; the dtypes above are the natural ones for the values (8-bit movie,
float rates) and no attributes are written, because no reader of the archive uses any.

The miniature keeps the real session names and frame size and shrinks time: a few hundred
frames per file, so a whole archive is a few MB and is written in well under a second.
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np

#: Session folders of the real archive (the ones openretina's Data I/O page shows).
SESSIONS: tuple[str, ...] = ("15-10-07", "15-11-21a", "15-11-21b")
#: Stimulus types, one HDF5 file each per session.
STIM_TYPES: tuple[str, ...] = ("naturalscene", "whitenoise")
#: Response datasets under ``<split>/response``; the firing rates are in Hz.
RESPONSE_TYPES: tuple[str, ...] = (
    "binned",
    "firing_rate_5ms",
    "firing_rate_10ms",
    "firing_rate_20ms",
)
FRAME_SIZE = 50
BIN_SECONDS = 0.01


def _movie(rng: np.random.Generator, n_frames: int, stim_type: str) -> np.ndarray:
    """A uint8 movie (time, 50, 50): smooth blobs for natural scenes, binary checks for noise."""
    shape = (n_frames, FRAME_SIZE, FRAME_SIZE)
    if stim_type == "whitenoise":
        return (rng.random(shape) < 0.5).astype(np.uint8) * np.uint8(255)
    coarse = np.clip(rng.gamma(2.0, 25.0, size=(n_frames, 5, 5)), 0, 255).astype(np.uint8)
    return np.repeat(np.repeat(coarse, 10, axis=1), 10, axis=2)


def _rates(rng: np.random.Generator, n_cells: int, n_frames: int) -> dict[str, np.ndarray]:
    """Binned spike counts and three smoothed rates (Hz) for each response type."""
    counts = rng.poisson(0.3, size=(n_cells, n_frames)).astype(np.float64)
    out = {"binned": counts}
    for width_ms in (5, 10, 20):
        sigma_bins = width_ms / 10.0
        taps = np.arange(-3 * int(np.ceil(sigma_bins)), 3 * int(np.ceil(sigma_bins)) + 1)
        kernel = np.exp(-0.5 * (taps / sigma_bins) ** 2)
        kernel /= kernel.sum()
        smoothed = np.stack([np.convolve(row, kernel, mode="same") for row in counts])
        out[f"firing_rate_{width_ms}ms"] = smoothed / BIN_SECONDS
    return out


def _write_split(
    group: h5py.Group,
    movie: np.ndarray,
    responses: dict[str, np.ndarray],
) -> None:
    group.create_dataset("stimulus", data=movie)
    n_times = next(iter(responses.values())).shape[1]
    group.create_dataset("time", data=np.arange(n_times, dtype=np.float64) * BIN_SECONDS)
    response_group = group.create_group("response")
    for name, values in responses.items():
        response_group.create_dataset(name, data=values)


def write_maheswaranathan_archive(
    root: str | os.PathLike[str],
    *,
    sessions: tuple[str, ...] = SESSIONS,
    n_cells: tuple[int, ...] = (9, 6, 5),
    stim_types: tuple[str, ...] = STIM_TYPES,
    train_frames: int = 360,
    test_frames: int = 120,
    n_repeats: int = 5,
    extra_test_response_frames: int = 1,
    repeats_layout: str = "by_cell",
    shared_test_movie: bool = True,
    seed: int = 0,
) -> Path:
    """Write a miniature archive under ``root`` and return ``root``.

    Parameters
    ----------
    root
        Folder to create ``ganglion_cell_data/`` in (the real archive's top folder,
        ``neural_code_data``); it may exist but must not already hold the miniature.
    sessions, n_cells
        Session folder names and the number of cells recorded in each.
    stim_types
        Which of ``naturalscene`` / ``whitenoise`` files to write per session.
    train_frames, test_frames
        Length of the train and test movies, in 10 ms frames.
    n_repeats
        Trials of the test movie under ``test/repeats``.
    extra_test_response_frames
        How many more bins the test responses have than the test movie has frames
        (1 in the real archive).
    repeats_layout
        ``"by_cell"`` (``test/repeats/cellNN``, (repeats, time) each) or
        ``"by_response_type"`` (``test/repeats/<response_type>``, (repeats, cells, time)).
    shared_test_movie
        Show every session the same test movie of a stimulus type (train movies differ).
    seed
        Seed of every random draw: the same arguments give byte-identical values.

    Returns
    -------
    Path
        ``root``; pass it as ``base_data_path`` to the loaders.
    """
    if repeats_layout not in ("by_cell", "by_response_type"):
        raise ValueError(
            f"repeats_layout must be 'by_cell' or 'by_response_type', not {repeats_layout!r}"
        )
    if len(n_cells) != len(sessions):
        raise ValueError("n_cells needs one entry per session")
    root = Path(root)
    rng = np.random.default_rng(seed)
    shared_tests = {stim: _movie(rng, test_frames, stim) for stim in stim_types}
    for session, cells in zip(sessions, n_cells, strict=True):
        folder = root / "ganglion_cell_data" / session
        folder.mkdir(parents=True, exist_ok=True)
        for stim in stim_types:
            test_movie = shared_tests[stim] if shared_test_movie else _movie(rng, test_frames, stim)
            n_test = test_frames + extra_test_response_frames
            with h5py.File(folder / f"{stim}.h5", "w-") as f:
                _write_split(
                    f.create_group("train"),
                    _movie(rng, train_frames, stim),
                    _rates(rng, cells, train_frames),
                )
                trials = [_rates(rng, cells, n_test) for _ in range(n_repeats)]
                test_mean = {
                    name: np.mean([t[name] for t in trials], axis=0) for name in RESPONSE_TYPES
                }
                test = f.create_group("test")
                _write_split(test, test_movie, test_mean)
                repeats = test.create_group("repeats")
                if repeats_layout == "by_cell":
                    for cell in range(cells):
                        by_trial = np.stack([t["binned"][cell] for t in trials])
                        repeats.create_dataset(f"cell{cell + 1:02d}", data=by_trial)
                else:
                    for name in RESPONSE_TYPES:
                        repeats.create_dataset(name, data=np.stack([t[name] for t in trials]))
    return root
