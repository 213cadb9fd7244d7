"""What a native dataset folder holds and whether it fits, for the h5 reader.

Every check raises one of :mod:`openretina_data.errors` naming the session, file
and key, with a hint; none reads array data. Problems in files no session needs
are warnings. :func:`stimuli_the_card_vouches_for` says which stimuli the dataset
card lets the lazy loader trust.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from openretina_data._h5_session import (
    RESPONSES_PREFIX,
    STIMULUS_PREFIX,
    SessionContents,
    npy_shape,
    open_npy,
    scan_session,
    session_files,
    stimulus_files,
)
from openretina_data.base import RESERVED_SPLIT_NAMES
from openretina_data.errors import (
    DatasetFolderNotFoundError,
    DataValidationError,
    InvalidNameError,
    LayoutError,
    MissingKeyError,
    NonFiniteError,
    OpenRetinaDataError,
    ShapeError,
    UnreadableSourceError,
)
from openretina_data.layout import read_card
from openretina_data.layout.names import STIMULI_DIR, STIMULUS_SUFFIX


def check_stimulus_size(shape: tuple[int, ...], size: tuple[int, int, int], where: str) -> None:
    """A movie ``shape`` must be 4-D with ``(channels, height, width) == size``; ``where`` names it."""
    if len(shape) != 4:
        raise ShapeError(  # openretina's sentence first: "Expected four dimensional stimulus ..."
            "Expected four dimensional stimulus (channels, time, height, width), but "
            f"stimulus {where} has shape {shape}",
            hint="Save movies as (channels, time, height, width).",
        )
    if (shape[0], *shape[2:]) != size:
        raise ShapeError(  # openretina's sentence first
            f"The spatial dimensions of stimulus {where} did not match the provided stimulus "
            f"size: it has shape {shape}, which does not fit stimulus_size {list(size)} "
            "(channels, height, width)",
            hint="Pass the stimulus_size of the dataset, or re-export the stimulus at that size.",
        )


def check_arguments(base_data_path: str | os.PathLike[str], test_names: Iterable[str]) -> list[str]:
    """The loaders' common arguments: an existing folder and a non-empty list of allowed names.

    Returns the test names sorted.
    """
    if not os.path.isdir(base_data_path):
        raise DatasetFolderNotFoundError(  # openretina raises ValueError with this sentence
            f"base_data_path={os.fspath(base_data_path)!r} is not a directory. "
            + ("It is a file" if os.path.exists(base_data_path) else "Nothing exists there"),
            path=base_data_path,
            hint="Pass the dataset folder: the one holding the session .hdf5 files and stimuli/.",
        )
    if isinstance(test_names, str):
        raise DataValidationError(
            f"test_names is the string {test_names!r}, not a list of names",
            hint=f"Pass a list: test_names=[{test_names!r}].",
        )
    names = sorted(test_names)
    if not names:
        raise DataValidationError(
            "test_names is empty: every session needs at least one test stimulus",
            hint="Name the test stimuli, e.g. test_names=['natural_test'].",
        )
    for name in names:
        if name in RESERVED_SPLIT_NAMES:
            raise InvalidNameError(
                f"test stimulus {name!r} has the name of a dataloader split and would overwrite it",
                key=name,
                hint="Rename the stimulus (e.g. 'test_movie') in the dataset and in test_names.",
            )
    return names


def check_lengths(contents: SessionContents, frames_by_stimulus: Mapping[str, int]) -> None:
    """Responses must be (neurons, time) with one bin per frame of their stimulus."""
    for stimulus, shape in contents.responses.items():
        key = RESPONSES_PREFIX + stimulus
        if len(shape) != 2:
            raise ShapeError(
                f"responses to {stimulus!r} have shape {shape}; expected (neurons, time)",
                path=contents.path,
                key=key,
                session=contents.name,
                hint="Store one (neurons, time) array per stimulus; put repeats in test_by_trial_<stim>.",
            )
        frames = frames_by_stimulus.get(stimulus)
        if frames is None or shape[1] == frames:
            continue
        if shape[0] == frames:
            raise ShapeError(
                f"responses to {stimulus!r} have shape {shape}: {shape[0]} rows match the "
                f"stimulus's {frames} frames, so they look like (time, neurons)",
                path=contents.path,
                key=key,
                session=contents.name,
                hint="Transpose the responses to (neurons, time).",
            )
        raise ShapeError(
            f"responses to {stimulus!r} have {shape[1]} time bins but the stimulus has {frames} frames",
            path=contents.path,
            key=key,
            session=contents.name,
            hint="Responses need one bin per stimulus frame; re-bin them or trim the stimulus.",
        )


def require_train_and_test(
    train_names: list[str],
    test_stimuli: list[str],
    test_names: list[str],
    session: str | None = None,
) -> None:
    """A session needs at least one training and one test stimulus among those it has responses to.

    Parameters
    ----------
    train_names, test_stimuli
        The session's training and test stimuli.
    test_names
        Every test stimulus name asked for, for the message.
    session
        Session name, for the message.
    """
    if not train_names:
        raise DataValidationError(
            f"every stimulus of this session is a test stimulus ({test_stimuli}); "
            "there is nothing to train on",
            session=session,
            hint="Remove one stimulus from test_names, or add responses to a training stimulus.",
        )
    if not test_stimuli:
        raise DataValidationError(
            f"this session has responses to none of the test stimuli {test_names}: "
            f"none of its stimuli ({train_names}) is a test stimulus",
            session=session,
            hint="Name at least one stimulus the session has responses to in test_names.",
        )


def sessions_with_responses(base_data_path: str | os.PathLike[str]) -> list[SessionContents]:
    """What every session file holds, skipping (with a warning) files without responses."""
    sessions = []
    for name, path in session_files(base_data_path).items():
        contents = scan_session(name, path)
        if not contents.responses:
            warnings.warn(
                f"session file {path} has no {RESPONSES_PREFIX}<stimulus> arrays; skipped",
                UserWarning,
                stacklevel=3,
            )
            continue
        sessions.append(contents)
    return sessions


def open_shared_stimuli(
    base_data_path: str | os.PathLike[str],
    sessions: list[SessionContents],
    size: tuple[int, int, int] | None,
) -> dict[str, Any]:
    """Open the ``stimuli/*.npy`` that some session needs; warn about unusable unneeded ones.

    Returns read-only memory maps by stimulus name: raw frames stay in the page cache,
    never in the process's own memory, and normalising reads through them.
    """
    files = stimulus_files(base_data_path)
    needed = {s for c in sessions for s in c.responses if s not in c.stimuli}
    opened: dict[str, Any] = {}
    for name, path in files.items():
        if name not in needed:
            shape = npy_shape(path)
            try:
                if shape is None:
                    raise UnreadableSourceError("unreadable", path=path)
                if size is not None:
                    check_stimulus_size(shape, size, repr(name))
            except OpenRetinaDataError as error:
                warnings.warn(
                    f"stimulus file {path} is not usable ({error.message}); no session needs it, "
                    "so it is ignored",
                    UserWarning,
                    stacklevel=3,
                )
            continue
        array = open_npy(path, mmap=True)
        if size is not None:
            try:
                check_stimulus_size(tuple(array.shape), size, path)
            except OpenRetinaDataError as error:
                error.path = path
                raise
        opened[name] = array
    for contents in sessions:
        for stimulus in contents.responses:
            if stimulus not in contents.stimuli and stimulus not in opened:
                raise MissingKeyError(
                    f"responses to {stimulus!r} have no stimulus: neither stimuli/{stimulus}.npy "
                    f"nor {STIMULUS_PREFIX}{stimulus} in the session file exists",
                    path=contents.path,
                    key=RESPONSES_PREFIX + stimulus,
                    session=contents.name,
                    hint=f"Add stimuli/{stimulus}.npy or {STIMULUS_PREFIX}{stimulus} to the session file.",
                )
    return opened


def frames_by_stimulus(
    contents: SessionContents, shared_frames: Mapping[str, int]
) -> dict[str, int]:
    """Frames of every stimulus a session can use: ``shared_frames`` (``stimuli/*.npy``),
    overridden by the session file's own 4-D ``stimulus_<stim>``."""
    frames = dict(shared_frames)
    frames.update({n: s[1] for n, s in contents.stimuli.items() if len(s) == 4})
    return frames


def stimuli_the_card_vouches_for(
    base_data_path: str | os.PathLike[str], shared: Mapping[str, Any]
) -> set[str]:
    """Names of the shared stimuli that a dataset card matching their files records as finite.

    With ``mmap=True`` nothing is scanned at load time (DESIGN.md §6: full passes run once,
    at write/check): these stimuli are trusted, every other one is checked batch by batch
    as it is read. A matching card that recorded NaN/Inf in a stimulus stops the load.
    """
    try:
        card = read_card(base_data_path)
    except LayoutError:
        return set()  # openretina ignores the card; so does the loader (``check`` reports it)
    if card is None:
        return set()
    stale = set(card.stale_files(base_data_path))
    trusted = set()
    for name in shared:
        relative = f"{STIMULI_DIR}/{name}{STIMULUS_SUFFIX}"
        result = card.checks.get(relative)
        if result is None or relative in stale:
            continue
        if not result.all_finite:
            raise NonFiniteError(
                f"the dataset card records NaN/Inf in stimulus {name!r}",
                path=os.path.join(os.fspath(base_data_path), relative),
                key=name,
                hint="Run `openretina-data check` on the folder to find the bad frames, then "
                "fix or re-export that stimulus.",
            )
        if relative in card.files:  # fingerprinted and unchanged since the card was written
            trusted.add(name)
    return trusted
