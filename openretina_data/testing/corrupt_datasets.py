"""Corpus cases in a native dataset: damaged, hostile or inconsistent files in the layout.

Each starts from a small valid dataset (one session ``s0``, stimuli ``train`` 200
frames and ``test`` 50 frames of 8 x 6 px, 4 neurons) and breaks one thing. The
dataset is the input here: ``check``, the loaders and the dataloaders must refuse it
clearly and never change it. See :mod:`openretina_data.testing.corrupt`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np

from openretina_data.testing.corrupt import (
    CHECK,
    CHECK_CLI,
    DATALOADERS,
    DATASET,
    LOAD_RESPONSES,
    LOAD_STIMULI,
    MARKER,
    Built,
    Case,
    flip_bits,
    new_built,
    npy_header,
    payload_npy,
    truncate,
)
from openretina_data.testing.movie_sessions import write_native_dataset

N_FRAMES, TEST_FRAMES, FRAME_SIZE, N_NEURONS = 200, 50, (8, 6), 4
CHECKS = (CHECK, CHECK_CLI)
LOADERS = (LOAD_STIMULI, LOAD_RESPONSES)
STIMULUS_SEEN = (CHECK, CHECK_CLI, LOAD_STIMULI, DATALOADERS)  # load_responses never reads movies
RESPONSES_SEEN = (CHECK, CHECK_CLI, LOAD_RESPONSES, DATALOADERS)


def _dataset(damage: Callable[[Built, Path], None]) -> Callable[[Path], Built]:
    def build(root: Path) -> Built:
        built = new_built(root)
        folder = write_native_dataset(
            built.inputs / "dataset",
            n_frames=N_FRAMES,
            test_frames=TEST_FRAMES,
            frame_size=FRAME_SIZE,
            n_neurons=N_NEURONS,
        )
        damage(built, folder)
        built.dataset = built.target = folder
        return built

    return build


def _session(folder: Path) -> Path:
    return folder / "s0.hdf5"


def _stimulus(folder: Path) -> Path:
    return folder / "stimuli" / "train.npy"


def _truncate_session(built: Built, folder: Path) -> None:
    truncate(_session(folder))


def _empty_session(built: Built, folder: Path) -> None:
    _session(folder).write_bytes(b"")


def _flip_session_superblock(built: Built, folder: Path) -> None:
    flip_bits(_session(folder), [13])


def _truncate_stimulus(built: Built, folder: Path) -> None:
    truncate(_stimulus(folder), 0.7)


def _garble_stimulus_header(built: Built, folder: Path) -> None:
    path = _stimulus(folder)
    start = path.read_bytes().index(b"'shape': (") + len(b"'shape': (")
    flip_bits(path, [start, start + 1], 0x40)


def _absurd_stimulus(built: Built, folder: Path) -> None:
    data = np.zeros((1, 4, *FRAME_SIZE), np.float32).tobytes()
    _stimulus(folder).write_bytes(npy_header("<f4", (1, 10**12, *FRAME_SIZE)) + data)


def _overflowing_stimulus(built: Built, folder: Path) -> None:
    _stimulus(folder).write_bytes(npy_header("<f4", (1, 2**32, 2**32, 2**32)) + bytes(64))


def _pickled_stimulus(built: Built, folder: Path) -> None:
    payload_npy(_stimulus(folder), built.root / MARKER)


def _string_stimulus(built: Built, folder: Path) -> None:
    np.save(_stimulus(folder), np.full((1, N_FRAMES, *FRAME_SIZE), "ab", dtype="<U2"))


def _complex_stimulus(built: Built, folder: Path) -> None:
    np.save(_stimulus(folder), np.ones((1, N_FRAMES, *FRAME_SIZE), np.complex64))


def _replace_responses(
    values: np.ndarray, key: str = "responses_train"
) -> Callable[[Built, Path], None]:
    def damage(built: Built, folder: Path) -> None:
        with h5py.File(_session(folder), "r+") as file:
            del file[key]
            file[key] = values

    return damage


def _nan_responses() -> np.ndarray:
    values = np.ones((N_NEURONS, N_FRAMES), np.float32)
    values[1, 123] = np.nan
    return values


def _inf_stimulus(built: Built, folder: Path) -> None:
    movie = np.load(_stimulus(folder))
    movie = movie.astype(np.float32)
    movie[0, 7, 2, 3] = np.inf
    np.save(_stimulus(folder), movie)


def _twin_session(suffix_name: str) -> Callable[[Built, Path], None]:
    def damage(built: Built, folder: Path) -> None:
        (folder / suffix_name).write_bytes(_session(folder).read_bytes())

    return damage


def _symlink_outside(built: Built, folder: Path) -> None:
    elsewhere = built.root / "elsewhere"
    elsewhere.mkdir()
    real = _session(folder).rename(elsewhere / "s0.hdf5")
    _session(folder).symlink_to(real)
    built.outside.append(real)


def _stimulus_named_dotdot(built: Built, folder: Path) -> None:
    with h5py.File(_session(folder), "r+") as file:
        file["responses_..%2F..%2Fx"] = np.ones((N_NEURONS, 10), np.float32)
        file["responses_../x"] = np.ones((N_NEURONS, 10), np.float32)


def dataset_cases() -> list[Case]:
    """Native datasets with one broken thing each."""
    off_by = {
        "one": np.ones((N_NEURONS, N_FRAMES - 1), np.float32),
        "thousands": np.ones((N_NEURONS, N_FRAMES + 5000), np.float32),
    }
    return [
        Case("ds-session-truncated", "a session file cut in half",
             _dataset(_truncate_session), DATASET),
        Case("ds-session-zero-length", "an empty session file",
             _dataset(_empty_session), DATASET),
        Case("ds-session-superblock-flipped", "a session file with a flipped superblock byte",
             _dataset(_flip_session_superblock), DATASET),
        Case("ds-stimulus-truncated", "a stimulus .npy cut short",
             _dataset(_truncate_stimulus), STIMULUS_SEEN),
        Case("ds-stimulus-header-flipped", "a stimulus .npy with flipped bits in its header",
             _dataset(_garble_stimulus_header), STIMULUS_SEEN),
        Case("ds-stimulus-absurd-shape", "a stimulus header claiming 10^12 frames",
             _dataset(_absurd_stimulus), STIMULUS_SEEN),
        Case("ds-stimulus-overflowing-shape", "a stimulus header whose size overflows 64 bits",
             _dataset(_overflowing_stimulus), STIMULUS_SEEN),
        Case("ds-stimulus-pickle-payload", "a stimulus .npy whose pickle would run code",
             _dataset(_pickled_stimulus), STIMULUS_SEEN),
        Case("ds-stimulus-strings", "a stimulus of strings",
             _dataset(_string_stimulus), STIMULUS_SEEN),
        Case("ds-stimulus-complex", "a complex-valued stimulus",
             _dataset(_complex_stimulus), STIMULUS_SEEN),
        Case("ds-stimulus-inf", "a stimulus with an Inf",
             _dataset(_inf_stimulus), STIMULUS_SEEN),  # no card: the lazy loaders check each batch
        Case("ds-responses-nan", "responses with a NaN",
             _dataset(_replace_responses(_nan_responses())), RESPONSES_SEEN),
        Case("ds-responses-complex", "complex-valued responses",
             _dataset(_replace_responses(np.ones((N_NEURONS, N_FRAMES), np.complex64))), RESPONSES_SEEN),
        Case("ds-responses-strings", "responses stored as strings",
             _dataset(_replace_responses(np.full((N_NEURONS, N_FRAMES), b"x"))), RESPONSES_SEEN),
        Case("ds-responses-short-by-one", "responses one frame shorter than the stimulus",
             _dataset(_replace_responses(off_by["one"])), DATASET),
        Case("ds-responses-long-by-thousands", "responses 5 000 frames longer than the stimulus",
             _dataset(_replace_responses(off_by["thousands"])), DATASET),
        Case("ds-session-h5-and-hdf5", "s0.hdf5 next to s0.h5 (openretina lets one overwrite the other)",
             _dataset(_twin_session("s0.h5")), DATASET),
        Case("ds-sessions-differ-in-case", "s0.hdf5 next to S0.hdf5",
             _dataset(_twin_session("S0.hdf5")), DATASET,
             may_accept=LOADERS + (DATALOADERS,)),  # distinct files on Linux; check warns
        Case("ds-session-symlink-outside", "a session file that is a symlink out of the dataset",
             _dataset(_symlink_outside), CHECKS, may_accept=CHECKS),  # reading through it is harmless
        Case("ds-response-key-escapes", "response keys naming ../x as a stimulus",
             _dataset(_stimulus_named_dotdot), CHECKS + LOADERS),
    ]  # fmt: skip
