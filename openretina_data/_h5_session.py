"""What is in a native dataset folder, found without reading array data.

Helpers of :mod:`openretina_data.h5_dataset_reader`: list session files (refusing
``s0.h5`` next to ``s0.hdf5``), list what each session file holds (names and
shapes only), index ``stimuli/*.npy`` lazily, and read ``session_info`` —
nested groups, attributes and strings included.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from openretina_data.errors import InvalidNameError, LayoutError, UnreadableSourceError
from openretina_data.layout.names import (
    RESPONSES_PREFIX,
    SESSION_SUFFIXES,
    STIMULI_DIR,
    STIMULUS_PREFIX,
    STIMULUS_SUFFIX,
    TEST_BY_TRIAL_PREFIX,
)
from openretina_data.layout.names import SESSION_INFO_GROUP as SESSION_INFO_KEY
from openretina_data.layout.reading import read_npy_header

__all__ = [
    "RESPONSES_PREFIX",
    "STIMULUS_PREFIX",
    "TEST_BY_TRIAL_PREFIX",
    "SessionContents",
    "npy_shape",
    "open_npy",
    "read_session_info",
    "scan_session",
    "session_files",
    "stimulus_files",
]


@dataclass
class SessionContents:
    """Names and shapes inside one session file; no array data is read.

    Attributes
    ----------
    name : str
        The session name (file stem).
    path : str
        The session file.
    responses : dict[str, tuple[int, ...]]
        Shape of ``responses_<stim>`` by stimulus name, sorted by name.
    stimuli : dict[str, tuple[int, ...]]
        Shape of each session-specific ``stimulus_<stim>``.
    trials : dict[str, tuple[int, ...]]
        Shape of each ``test_by_trial_<stim>``.
    """

    name: str
    path: str
    responses: dict[str, tuple[int, ...]] = field(default_factory=dict)
    stimuli: dict[str, tuple[int, ...]] = field(default_factory=dict)
    trials: dict[str, tuple[int, ...]] = field(default_factory=dict)


def session_files(base_data_path: str | os.PathLike[str]) -> dict[str, str]:
    """``{session name: file path}`` of every ``*.h5``/``*.hdf5`` file, sorted by name.

    Raises
    ------
    InvalidNameError
        Two files share a stem (``s0.h5`` and ``s0.hdf5``): openretina would let one
        silently replace the other.
    """
    found: dict[str, str] = {}
    for file_name in sorted(os.listdir(base_data_path)):
        if not file_name.endswith(SESSION_SUFFIXES) or file_name.startswith("._"):
            continue
        session = Path(file_name).stem
        path = os.path.join(base_data_path, file_name)
        if session in found:
            raise InvalidNameError(
                f"two session files are both named {session!r}: "
                f"{os.path.basename(found[session])} and {file_name}",
                path=path,
                session=session,
                hint="Delete or rename one of them; each session needs its own file stem.",
            )
        found[session] = path
    return found


def scan_session(name: str, path: str) -> SessionContents:
    """List the responses, session-specific stimuli and per-trial arrays of one session file."""
    contents = SessionContents(name=name, path=path)
    try:
        with h5py.File(path, "r") as file:
            for key in sorted(file.keys()):
                item = file.get(key)
                if key.startswith(RESPONSES_PREFIX):
                    target = contents.responses
                    stimulus = key.removeprefix(RESPONSES_PREFIX)
                elif key.startswith(STIMULUS_PREFIX):
                    target = contents.stimuli
                    stimulus = key.removeprefix(STIMULUS_PREFIX)
                elif key.startswith(TEST_BY_TRIAL_PREFIX):
                    target = contents.trials
                    stimulus = key.removeprefix(TEST_BY_TRIAL_PREFIX)
                else:
                    continue
                if not isinstance(item, h5py.Dataset):
                    raise LayoutError(
                        f"{key!r} is a group, not an array",
                        path=path,
                        key=key,
                        session=name,
                        hint=f"Store {key!r} as one dataset (an array), not a group.",
                    )
                target[stimulus] = tuple(int(n) for n in item.shape)
    except OSError as error:
        raise UnreadableSourceError(
            f"cannot open the session file: {error}", path=path, session=name
        ) from error
    return contents


def stimulus_files(base_data_path: str | os.PathLike[str]) -> dict[str, str]:
    """``{stimulus name: path}`` of every ``stimuli/*.npy``; empty when the folder is missing."""
    folder = os.path.join(base_data_path, STIMULI_DIR)
    if not os.path.isdir(folder):
        return {}
    return {
        file_name.removesuffix(STIMULUS_SUFFIX): os.path.join(folder, file_name)
        for file_name in sorted(os.listdir(folder))
        if file_name.endswith(STIMULUS_SUFFIX)
    }


def open_npy(path: str, *, mmap: bool) -> np.ndarray:
    """``np.load`` without pickles, as a read-only memory map when ``mmap``.

    Raises
    ------
    UnreadableSourceError
        Truncated, not a ``.npy`` file, or an object array.
    """
    try:
        header = read_npy_header(path)
        if header.expected_size > os.path.getsize(path):  # before numpy sizes a memory map
            raise ValueError(
                f"its header promises {header.expected_size} bytes, the file has "
                f"{os.path.getsize(path)} (truncated, or a hostile header)"
            )
        array = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise UnreadableSourceError(f"cannot read the stimulus file: {error}", path=path) from error
    if array.dtype.kind not in "biuf":
        raise UnreadableSourceError(
            f"the stimulus holds {array.dtype} values, not real numbers",
            path=path,
            hint="Store stimuli as uint8 or float32 (channels, time, height, width).",
        )
    return array


def npy_shape(path: str) -> tuple[int, ...] | None:
    """The shape a ``.npy`` file declares (header only), or None if it cannot be read."""
    try:
        return tuple(int(n) for n in open_npy(path, mmap=True).shape)
    except UnreadableSourceError:
        return None


def read_session_info(file: h5py.File, session: str, path: str) -> dict[str, Any]:
    """``session_info`` as ``{key: value}`` (openretina's ``session_kwargs``).

    Numeric datasets become numpy arrays (as in openretina). Unlike openretina 1.1.1:
    string datasets become ``str`` arrays (or a ``str``), nested groups become nested
    dicts, attributes of the group become entries, a compound dataset becomes one entry
    per field, and a ``session_info`` file attribute holding a JSON object is read as a
    dict. Anything else there gives a warning and is ignored.
    """
    item = file.get(SESSION_INFO_KEY)
    if isinstance(item, h5py.Group):
        return _read_group(item)
    if isinstance(item, h5py.Dataset):
        if item.dtype.names:
            values = item[()]
            return {name: np.array(values[name]) for name in item.dtype.names}
        raise LayoutError(
            "'session_info' is a plain array, not a group of named entries",
            path=path,
            key=SESSION_INFO_KEY,
            session=session,
            hint="Store session_info as a group with one dataset per key (e.g. session_info/cell_types).",
        )
    if SESSION_INFO_KEY in file.attrs:
        value = _attribute_value(file.attrs[SESSION_INFO_KEY])
        if isinstance(value, str):
            try:
                parsed = json.loads(value)
            except json.JSONDecodeError:
                parsed = None
            if isinstance(parsed, dict):
                return {k: np.array(v) if isinstance(v, list) else v for k, v in parsed.items()}
        warnings.warn(
            f"session {session!r} ({path}): the 'session_info' attribute is not a JSON object; "
            "ignored. Store metadata as a session_info group with one dataset per key.",
            UserWarning,
            stacklevel=3,
        )
    return {}


def _read_group(group: h5py.Group) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, item in group.items():
        if isinstance(item, h5py.Group):
            values[key] = _read_group(item)
        elif isinstance(item, h5py.Dataset):
            values[key] = _read_dataset(item)
    for key, attribute in group.attrs.items():
        values.setdefault(key, _attribute_value(attribute))
    return values


def _read_dataset(dataset: h5py.Dataset) -> Any:
    if h5py.check_string_dtype(dataset.dtype) is not None:
        text = dataset.asstr()[()]
        return text if isinstance(text, str) else np.array(text, dtype=str)
    return np.array(dataset)


def _attribute_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray) and value.dtype.kind in "OS":
        return np.array(
            [
                v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v)
                for v in value.ravel()
            ]
        ).reshape(value.shape)
    return value
