"""Writing one session file: responses, session stimuli, test repeats, session_info, attrs."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from openretina_data.array_checks import require_ndim
from openretina_data.errors import DataValidationError, InvalidNameError, OutputError
from openretina_data.layout.card import SourceFile
from openretina_data.layout.names import (
    SESSION_INFO_GROUP,
    responses_key,
    stimulus_key,
    test_by_trial_key,
    validate_name,
)
from openretina_data.layout.slabs import SlabWriter

STIMULUS_DTYPES = (np.dtype("uint8"), np.dtype("float32"), np.dtype("float64"))
RESPONSE_DTYPES = (np.dtype("float32"), np.dtype("float64"))


def source_file(path: str | os.PathLike[str], *, chunk_bytes: int = 1 << 22) -> SourceFile:
    """Name, size and SHA-256 of an input file (read in chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return SourceFile(name=Path(path).name, size=os.path.getsize(path), sha256=digest.hexdigest())


def check_dtype(dtype: Any, allowed: Sequence[np.dtype], *, what: str, label: str) -> np.dtype:
    """``dtype`` as a numpy dtype; :class:`DataValidationError` naming ``label`` unless it is in ``allowed``."""
    resolved = np.dtype(dtype)
    if resolved not in allowed:
        raise DataValidationError(
            f"{what} dtype {resolved} is not supported",
            key=label,
            hint=f"Use one of {', '.join(str(d) for d in allowed)}.",
        )
    return resolved


class SessionWriter:
    """One ``<session>.hdf5`` being written; made by :meth:`DatasetWriter.create_session`.

    Every array is created with its final shape and filled through the returned
    :class:`SlabWriter`, or written whole with the ``write_*`` methods.
    """

    def __init__(
        self,
        name: str,
        path: Path,
        *,
        attrs: dict[str, Any],
        source_files: Sequence[SourceFile],
        allow_nonfinite: bool,
    ) -> None:
        self.name = name
        self.path = path
        self.file_name = f"{name}.hdf5"
        self.source_files = list(source_files)
        self.allow_nonfinite = allow_nonfinite
        self.responses: dict[str, SlabWriter] = {}
        self.stimuli: dict[str, SlabWriter] = {}
        self.test_by_trial: dict[str, SlabWriter] = {}
        self.session_info: dict[str, tuple[int, ...]] = {}
        try:
            self._file: h5py.File | None = h5py.File(path, "w")
        except OSError as error:
            raise OutputError(
                f"cannot create the session file ({error})",
                path=os.fspath(path),
                session=name,
                hint="Check free disk space and write permission of the output folder.",
            ) from None
        for key, value in attrs.items():
            self._file.attrs[key] = value
        self._file.attrs["source_files"] = json.dumps(
            [vars(s) for s in self.source_files], sort_keys=True
        )

    @property
    def file(self) -> h5py.File:
        if self._file is None:
            raise OutputError(
                "the session file is already closed",
                session=self.name,
                hint="Write everything before the dataset writer commits.",
            )
        return self._file

    def _create(
        self, key: str, shape: Sequence[int], dtype: np.dtype, time_axis: int
    ) -> SlabWriter:
        if key in self.file:
            raise InvalidNameError(
                f"{key} is written twice", session=self.name, key=key, hint="Write each key once."
            )
        if any(int(s) < 0 for s in shape):
            raise DataValidationError(
                f"{key} has a negative size {tuple(shape)}",
                session=self.name,
                key=key,
                hint="Pass the array's real sizes (neurons, frames, trials are counts >= 0).",
            )
        dataset = self.file.create_dataset(key, shape=tuple(int(s) for s in shape), dtype=dtype)
        return SlabWriter(
            dataset,
            time_axis=time_axis,
            label=f"{self.file_name}/{key}",
            allow_nonfinite=self.allow_nonfinite,
        )

    def create_responses(
        self, stimulus: str, n_neurons: int, n_frames: int, dtype: Any = "float32"
    ) -> SlabWriter:
        """Create ``responses_<stimulus>`` of shape ``(n_neurons, n_frames)``; fill along time."""
        validate_name(stimulus, kind="stimulus")
        resolved = check_dtype(dtype, RESPONSE_DTYPES, what="responses", label=stimulus)
        slabs = self._create(responses_key(stimulus), (n_neurons, n_frames), resolved, 1)
        self.responses[stimulus] = slabs
        return slabs

    def write_responses(self, stimulus: str, responses: Any) -> None:
        """Write ``responses`` ``(neurons, time)`` to this stimulus in one go."""
        array = np.asarray(responses)
        require_ndim(
            array, 2, what="responses", axes="(neurons, time)", session=self.name, key=stimulus
        )
        dtype = array.dtype if array.dtype in RESPONSE_DTYPES else np.dtype("float32")
        self.create_responses(stimulus, array.shape[0], array.shape[1], dtype).write(array, 0)

    def create_stimulus(self, stimulus: str, shape: Sequence[int], dtype: Any) -> SlabWriter:
        """Create a session-specific movie ``stimulus_<stimulus>``, ``(channels, time, h, w)``."""
        validate_name(stimulus, kind="stimulus")
        resolved = check_dtype(dtype, STIMULUS_DTYPES, what="stimulus", label=stimulus)
        if len(shape) != 4:
            raise DataValidationError(
                f"session stimulus {stimulus!r} needs 4 axes (channels, time, height, width), got {tuple(shape)}",
                session=self.name,
                key=stimulus,
                hint="Add a channel axis of length 1 for greyscale movies.",
            )
        slabs = self._create(stimulus_key(stimulus), shape, resolved, 1)
        self.stimuli[stimulus] = slabs
        return slabs

    def write_stimulus(self, stimulus: str, movie: Any) -> None:
        """Write a session-specific ``movie`` ``(channels, time, height, width)`` in one go."""
        array = np.asarray(movie)
        self.create_stimulus(stimulus, array.shape, array.dtype).write(array, 0)

    def create_test_by_trial(
        self, stimulus: str, n_trials: int, n_neurons: int, n_frames: int, dtype: Any = "float32"
    ) -> SlabWriter:
        """Create ``test_by_trial_<stimulus>`` of shape ``(trials, neurons, time)``."""
        validate_name(stimulus, kind="stimulus")
        resolved = check_dtype(dtype, RESPONSE_DTYPES, what="test_by_trial", label=stimulus)
        shape = (n_trials, n_neurons, n_frames)
        slabs = self._create(test_by_trial_key(stimulus), shape, resolved, 2)
        self.test_by_trial[stimulus] = slabs
        return slabs

    def write_test_by_trial(self, stimulus: str, repeats: Any) -> None:
        """Write per-repeat test responses ``repeats`` ``(trials, neurons, time)`` in one go."""
        array = np.asarray(repeats)
        require_ndim(
            array,
            3,
            what="test_by_trial",
            axes="(trials, neurons, time)",
            session=self.name,
            key=stimulus,
        )
        dtype = array.dtype if array.dtype in RESPONSE_DTYPES else np.dtype("float32")
        trials, neurons, frames = array.shape
        self.create_test_by_trial(stimulus, trials, neurons, frames, dtype).write(array, 0)

    def write_session_info(self, key: str, value: Any) -> None:
        """Store ``session_info/<key>``: one array per key, e.g. ``cell_types (neurons,)``.

        Strings are stored as UTF-8 HDF5 strings.
        """
        validate_name(key, kind="session_info key")
        array = np.asarray(value)
        if array.dtype.kind == "O" or array.dtype.kind == "U":
            array = np.asarray(array.astype(str), dtype=h5py.string_dtype("utf-8"))
        elif array.dtype.kind not in "biuf":
            raise DataValidationError(
                f"session_info {key!r} has unsupported dtype {array.dtype}",
                session=self.name,
                key=key,
                hint="Store numbers or strings; encode anything else as strings.",
            )
        group = self.file.require_group(SESSION_INFO_GROUP)
        if key in group:
            raise InvalidNameError(
                f"session_info {key!r} is written twice",
                session=self.name,
                key=key,
                hint="Write each key once.",
            )
        group.create_dataset(key, data=array)
        self.session_info[key] = tuple(array.shape)

    def all_slabs(self) -> list[SlabWriter]:
        return [*self.responses.values(), *self.stimuli.values(), *self.test_by_trial.values()]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
