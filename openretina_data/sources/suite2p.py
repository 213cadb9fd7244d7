"""suite2p plane folders (``suite2p/plane0``): fluorescence traces, cell flags, frame rate.

``F.npy`` / ``Fneu.npy`` / ``spks.npy`` are (rois, frames) float32 and memory-mapped;
``iscell.npy`` is (rois, 2): [is a cell (0/1), classifier probability]. ``ops.npy``
is a pickled dict: it is read through a restricted unpickler that admits only numpy
arrays/scalars/dtypes and builtin containers (the policy of
:mod:`openretina_data.safe_pickle`) and refuses anything else before it runs.
The frame rate is ``ops["fs"]`` (Hz), in ``SourceInfo.attrs["fs"]``.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from openretina_data.errors import UnreadableSourceError, UnsafeContentError
from openretina_data.layout.reading import parse_npy_header
from openretina_data.safe_pickle import unpickle_plain_data
from openretina_data.sources.base import (
    SourceInfo,
    SourceReader,
    Variable,
    missing_key,
    register,
    sniff_folder,
)
from openretina_data.sources.lazy import LazyArray
from openretina_data.sources.numpy_files import NpyReader

TRACES = {
    "F": ("traces", 0.9, "a.u.", "suite2p F.npy: ROI fluorescence (rois, frames)"),
    "Fneu": ("traces", 0.6, "a.u.", "suite2p Fneu.npy: neuropil fluorescence (rois, frames)"),
    "spks": ("traces", 0.7, "a.u.", "suite2p spks.npy: deconvolved activity (rois, frames)"),
    "iscell": ("cell_metadata", 0.9, None, "suite2p iscell.npy: (rois, [is cell, probability])"),
}
SCALAR_OPS = ("fs", "nframes", "nplanes", "nchannels", "tau", "Ly", "Lx")


def load_pickled_npy(path: Path) -> Any:
    """The value inside an object ``.npy`` (``np.save`` of a dict), loaded as data only.

    Raises
    ------
    UnsafeContentError
        The pickle names anything but numpy data types and builtin containers.
    UnreadableSourceError
        The file is truncated or not an object ``.npy``.
    """
    try:
        with path.open("rb") as handle:
            if not parse_npy_header(handle).dtype.hasobject:
                raise ValueError("the array holds no Python objects")
            value = unpickle_plain_data(handle, path)
    except UnsafeContentError:
        raise
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        OSError,
    ) as error:
        raise UnreadableSourceError(f"cannot read the pickled dict: {error}", path=path) from error
    if isinstance(value, np.ndarray) and value.dtype.hasobject and value.shape == ():
        value = value.item()
    return value


@register
class Suite2pReader(SourceReader):
    name = "suite2p"
    description = "suite2p plane folder (F.npy, Fneu.npy, iscell.npy, ops.npy)"
    folders = True

    @classmethod
    def sniff(cls, path: Path, header: bytes) -> int:
        return sniff_folder(path, "F.npy", ("ops.npy", "iscell.npy"))

    def __init__(self, path: Any) -> None:
        super().__init__(path)
        self.files = {
            key: NpyReader(self.path / f"{key}.npy")
            for key in TRACES
            if (self.path / f"{key}.npy").is_file()
        }
        self.ops: dict[str, Any] = {}
        self.notes: list[str] = []
        if (self.path / "ops.npy").is_file():
            ops = load_pickled_npy(self.path / "ops.npy")
            if isinstance(ops, dict):
                self.ops = ops
            else:
                self.notes.append("ops.npy does not hold a dict; frame rate unknown")
        else:
            self.notes.append("no ops.npy; frame rate unknown")

    @property
    def frame_rate(self) -> float | None:
        """``ops["fs"]`` in Hz, or ``None``."""
        fs = self.ops.get("fs")
        return float(fs) if isinstance(fs, int | float | np.number) and fs > 0 else None

    def probe(self) -> SourceInfo:
        variables = []
        for key, reader in self.files.items():
            role, confidence, unit, reason = TRACES[key]
            variables.append(
                Variable(key, reader.shape, reader.dtype.str, role, confidence, unit, reason)  # type: ignore[arg-type]
            )
        attrs: dict[str, Any] = {
            k: (v.item() if isinstance(v, np.generic) else v)
            for k, v in self.ops.items()
            if k in SCALAR_OPS
        }
        return SourceInfo(str(self.path), self.name, tuple(variables), attrs, tuple(self.notes))

    def array(self, key: str) -> LazyArray:
        if key not in self.files:
            raise missing_key(key, list(self.files), self.path)
        return self.files[key].array(key)
