"""``check`` for one session file: every problem found, nothing raised."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py

from openretina_data.layout.names import (
    RESPONSES_PREFIX,
    SESSION_INFO_GROUP,
    STIMULUS_PREFIX,
    TEST_BY_TRIAL_PREFIX,
)
from openretina_data.layout.reading import all_finite
from openretina_data.layout.report import Report

_NUMERIC = "biuf"


@dataclass
class SessionContents:
    """Shapes found in one session file (only the readable, well-formed parts)."""

    responses: dict[str, tuple[int, ...]] = field(default_factory=dict)
    movies: dict[str, tuple[int, ...]] = field(default_factory=dict)
    test_by_trial: dict[str, tuple[int, ...]] = field(default_factory=dict)
    readable: bool = True


def check_session(path: Path, relative: str, report: Report) -> SessionContents:
    """Inspect ``path``; add problems to ``report``; return what could be read."""
    contents = SessionContents()
    try:
        handle = h5py.File(path, "r")
    except Exception as error:  # noqa: BLE001 - any failure to open is a finding
        size = path.stat().st_size if path.exists() else 0
        reason = (
            "it is empty (0 bytes)" if size == 0 else f"it is not a readable HDF5 file ({error})"
        )
        report.add(
            "error",
            "unreadable-file",
            f"session file cannot be opened: {reason}",
            "Re-copy or re-convert this session; the file is truncated or corrupt.",
            file=relative,
        )
        contents.readable = False
        return contents
    with handle:
        try:
            keys = sorted(handle.keys())
        except Exception as error:  # noqa: BLE001
            report.add(
                "error",
                "unreadable-file",
                f"cannot list the file's keys ({error})",
                "Re-copy or re-convert this session; the file is corrupt.",
                file=relative,
            )
            contents.readable = False
            return contents
        for key in keys:
            _check_key(handle, key, relative, report, contents)
    if not contents.responses and not any(
        p.file == relative and p.code in ("unreadable-key", "response-shape", "response-dtype")
        for p in report.problems
    ):
        report.add(
            "error",
            "no-responses",
            f"the session has no responses_<stimulus> dataset (keys: {keys})",
            "Add responses_<stimulus> (neurons, time) datasets, or remove this file from the folder.",
            file=relative,
        )
    _check_consistency(relative, report, contents)
    return contents


def _open(handle: h5py.File, key: str, relative: str, report: Report) -> Any:
    try:
        return handle[key]
    except Exception as error:  # noqa: BLE001
        report.add(
            "error",
            "unreadable-key",
            f"cannot read {key!r} ({error})",
            "Re-convert this session; part of the file is corrupt.",
            file=relative,
            key=key,
        )
        return None


def _check_key(
    handle: h5py.File, key: str, relative: str, report: Report, contents: SessionContents
) -> None:
    node = _open(handle, key, relative, report)
    if node is None:
        return
    if key == SESSION_INFO_GROUP:
        _check_session_info(node, relative, report)
        return
    for prefix in (RESPONSES_PREFIX, STIMULUS_PREFIX, TEST_BY_TRIAL_PREFIX):
        if key.startswith(prefix):
            break
    else:
        return  # other keys are ignored by openretina and by us
    if not isinstance(node, h5py.Dataset):
        report.add(
            "error",
            "not-a-dataset",
            f"{key!r} is a group, not an array",
            "Store it as one array dataset.",
            file=relative,
            key=key,
        )
        return
    shape, dtype = tuple(node.shape), node.dtype
    if dtype.kind not in _NUMERIC or dtype.kind == "b":
        report.add(
            "error",
            "response-dtype" if prefix != STIMULUS_PREFIX else "stimulus-dtype",
            f"{key!r} has dtype {dtype}; numbers are needed",
            "Store the array as float32.",
            file=relative,
            key=key,
        )
        return
    stimulus = key[len(prefix) :]
    if prefix == RESPONSES_PREFIX:
        if len(shape) != 2 or 0 in shape:
            report.add(
                "error",
                "response-shape",
                f"{key!r} has shape {shape}; expected (neurons, time) with both > 0",
                "Store responses as a 2-D (neurons, time) array.",
                file=relative,
                key=key,
            )
            return
        contents.responses[stimulus] = shape
        time_axis = 1
    elif prefix == STIMULUS_PREFIX:
        if len(shape) != 4 or 0 in shape:
            report.add(
                "error",
                "stimulus-shape",
                f"{key!r} has shape {shape}; expected (channels, time, height, width)",
                "Store the movie as a 4-D array; add a channel axis of 1 for greyscale.",
                file=relative,
                key=key,
            )
            return
        contents.movies[stimulus] = shape
        time_axis = 1
    else:
        time_axis = 2
        if len(shape) != 3:
            report.add(
                "error",
                "test-by-trial-shape",
                f"{key!r} has shape {shape}; expected (trials, neurons, time)",
                "Store single-trial repeats as a 3-D (trials, neurons, time) array.",
                file=relative,
                key=key,
            )
            return
        contents.test_by_trial[stimulus] = shape
    _scan_finite(node, time_axis, key, relative, report)


def _scan_finite(
    node: h5py.Dataset, time_axis: int, key: str, relative: str, report: Report
) -> None:
    try:
        finite, at = all_finite(node, time_axis)
    except Exception as error:  # noqa: BLE001
        report.add(
            "error",
            "unreadable-key",
            f"reading {key!r} failed ({error})",
            "Re-convert this session; the file is truncated or corrupt.",
            file=relative,
            key=key,
        )
        return
    if not finite:
        report.add(
            "error",
            "non-finite",
            f"{key!r} contains NaN or Inf (first in the chunk from frame {at})",
            "Remove or interpolate NaN/Inf values (openretina would yield empty batches).",
            file=relative,
            key=key,
        )


def _check_session_info(node: Any, relative: str, report: Report) -> None:
    if not isinstance(node, h5py.Group):
        report.add(
            "warning",
            "session-info",
            f"{SESSION_INFO_GROUP!r} is not a group",
            "Make session_info a group with one dataset per key.",
            file=relative,
            key=SESSION_INFO_GROUP,
        )
        return
    for name in node:
        item = _open(node, name, relative, report)
        if isinstance(item, h5py.Group):
            report.add(
                "warning",
                "session-info",
                f"session_info/{name} is a nested group; openretina reads only flat datasets",
                "Flatten it into one dataset per key.",
                file=relative,
                key=f"session_info/{name}",
            )


def _check_consistency(relative: str, report: Report, contents: SessionContents) -> None:
    neurons = {stim: shape[0] for stim, shape in contents.responses.items()}
    if len(set(neurons.values())) > 1:
        report.add(
            "error",
            "neuron-count-mismatch",
            f"responses list different numbers of neurons: {neurons}",
            "Every stimulus of a session must list the same neurons in the same order.",
            file=relative,
        )
    for stimulus, shape in contents.test_by_trial.items():
        key = TEST_BY_TRIAL_PREFIX + stimulus
        responses = contents.responses.get(stimulus)
        if responses is None:
            report.add(
                "error",
                "test-by-trial-without-responses",
                f"{key!r} has no matching responses_{stimulus}",
                "Also store the trial-averaged responses_<stimulus> (neurons, time).",
                file=relative,
                key=key,
            )
        elif shape[1:] != responses:
            report.add(
                "error",
                "test-by-trial-shape",
                f"{key!r} has shape {shape} but responses_{stimulus} has {responses}; "
                f"expected (trials, {responses[0]}, {responses[1]})",
                "Store repeats as (trials, neurons, time) with the responses' neurons and time.",
                file=relative,
                key=key,
            )


def movie_frame_size(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """``(channels, height, width)`` of a ``(channels, time, height, width)`` movie shape."""
    return (shape[0], shape[2], shape[3])
