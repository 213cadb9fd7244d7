"""The Maheswaranathan et al. (2023) raw archive: ``ganglion_cell_data/<session>/<stimulus>.h5``.

Accepts the archive's top folder (holding ``ganglion_cell_data/``), the
``ganglion_cell_data`` folder itself, or one session folder. Keys are
``<session>/<stimulus type>/<path in the file>``, e.g.
``15-10-07/naturalscene/train/response/firing_rate_10ms``; ``SourceInfo.attrs`` lists
``sessions``, ``stim_types`` and ``n_cells`` per session. Each file is opened with
h5py and read lazily.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py

from openretina_data.sources.base import (
    BY_MARKER,
    NO,
    SourceInfo,
    SourceReader,
    missing_key,
    register,
)
from openretina_data.sources.hdf5 import H5Array, h5_guard, list_datasets, open_h5, variable_of
from openretina_data.sources.lazy import LazyArray

STIM_TYPES = ("naturalscene", "whitenoise")
DATA_FOLDER = "ganglion_cell_data"


def _is_session(folder: Path) -> bool:
    return folder.is_dir() and any((folder / f"{s}.h5").is_file() for s in STIM_TYPES)


def session_folders(path: Path) -> list[Path]:
    """The session folders under ``path`` (archive root, data folder or one session)."""
    if _is_session(path):
        return [path]
    data = path / DATA_FOLDER if (path / DATA_FOLDER).is_dir() else path
    if not data.is_dir():
        return []
    return sorted(p for p in data.iterdir() if _is_session(p))


@register
class MaheswaranathanReader(SourceReader):
    name = "maheswaranathan"
    native_risk = True
    description = "Maheswaranathan 2023 archive folder (ganglion_cell_data/<session>/*.h5)"
    folders = True

    @classmethod
    def sniff(cls, path: Path, header: bytes) -> int:
        if path.is_dir() and (
            path.name == DATA_FOLDER or (path / DATA_FOLDER).is_dir() or _is_session(path)
        ):
            return BY_MARKER if session_folders(path) else NO
        return NO

    def __init__(self, path: Any) -> None:
        super().__init__(path)
        self.sessions = {folder.name: folder for folder in session_folders(self.path)}
        self._files: dict[tuple[str, str], h5py.File] = {}

    def _file(self, session: str, stim: str) -> h5py.File:
        if (session, stim) not in self._files:
            path = self.sessions[session] / f"{stim}.h5"
            self._files[session, stim] = open_h5(path, "Maheswaranathan archive file")
        return self._files[session, stim]

    def probe(self) -> SourceInfo:
        variables = []
        stim_types: set[str] = set()
        n_cells: dict[str, int] = {}
        for session, folder in self.sessions.items():
            for stim in STIM_TYPES:
                if not (folder / f"{stim}.h5").is_file():
                    continue
                stim_types.add(stim)
                handle = self._file(session, stim)
                with h5_guard(folder / f"{stim}.h5", "the archive file"):
                    for key, dataset in list_datasets(handle):
                        variables.append(variable_of(f"{session}/{stim}/{key}", dataset))
                    binned = handle.get("train/response/binned")
                    if isinstance(binned, h5py.Dataset) and binned.ndim == 2:
                        n_cells[session] = int(binned.shape[0])
        attrs = {
            "sessions": list(self.sessions),
            "stim_types": sorted(stim_types),
            "n_cells": n_cells,
        }
        return SourceInfo(str(self.path), self.name, tuple(variables), attrs)

    def array(self, key: str) -> LazyArray:
        parts = key.strip("/").split("/", 2)
        if len(parts) == 3 and parts[0] in self.sessions and parts[1] in STIM_TYPES:
            session, stim, inner = parts
            if (self.sessions[session] / f"{stim}.h5").is_file():
                with h5_guard(self.path, "the archive file", key):
                    obj = self._file(session, stim).get(inner)
                if isinstance(obj, h5py.Dataset):
                    return H5Array(obj, self.path, key)
        raise missing_key(key, self.probe().keys, self.path)

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()
