"""NWB files (Neurodata Without Borders 2.x, HDF5 backend), read lazily through h5py.

Keys are HDF5 paths, as pynwb writes them: ``units/spike_times``,
``acquisition/<name>/data``, ``processing/ophys/Fluorescence/RoiResponseSeries/data``,
``intervals/trials/start_time``, ``stimulus/presentation/<name>/data`` ... Roles come
from each object's ``neurodata_type`` (``Units`` → spike times, ``RoiResponseSeries``
→ traces, ``OpticalSeries``/``ImageSeries`` → stimulus, ``TimeIntervals`` → events);
a series' sampling rate and unit are in ``Variable.attrs``. :meth:`NwbReader.units`
gives the ``Units`` table as :class:`~openretina_data.sources.spikes.SpikeUnits`.

Reading needs only h5py; pynwb (the ``nwb`` extra) is what writes such files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np

from openretina_data.errors import MissingKeyError
from openretina_data.sources.base import (
    BY_MARKER,
    NO,
    SourceInfo,
    SourceReader,
    Variable,
    missing_key,
    register,
)
from openretina_data.sources.hdf5 import (
    H5_CORRUPT,
    H5Array,
    h5_guard,
    hdf5_signature_at,
    open_h5,
    read_attrs,
    variable_of,
)
from openretina_data.sources.lazy import LazyArray
from openretina_data.sources.spikes import SpikeUnits

DATA_GROUPS = ("acquisition", "processing", "stimulus", "intervals", "units", "analysis")
TRACE_TYPES = ("RoiResponseSeries", "ElectricalSeries", "SpikeEventSeries", "TwoPhotonSeries")
IMAGE_TYPES = ("OpticalSeries", "ImageSeries", "IndexSeries", "ImageMaskSeries")
LABEL_COLUMNS = ("quality", "label", "group", "KSLabel")


def _type(obj: h5py.HLObject) -> str:
    value = obj.attrs.get("neurodata_type", "")
    return value.decode() if isinstance(value, bytes) else str(value)


@register
class NwbReader(SourceReader):
    name = "nwb"
    native_risk = True
    description = "NWB file (.nwb)"
    suffixes = (".nwb",)

    @classmethod
    def sniff(cls, path: Path, header: bytes) -> int:
        if hdf5_signature_at(header) is None:
            return NO
        if path.suffix.lower() == ".nwb":
            return BY_MARKER
        try:
            with h5py.File(path, "r") as f:
                return BY_MARKER if "nwb_version" in f.attrs else NO
        except H5_CORRUPT:
            return NO

    def __init__(self, path: Any) -> None:
        super().__init__(path)
        self.file = open_h5(self.path, self.description)
        self._variables: dict[str, Variable] | None = None

    @property
    def variables(self) -> dict[str, Variable]:
        if self._variables is None:
            found: dict[str, Variable] = {}
            with h5_guard(self.path, "the NWB structure"):
                for top in DATA_GROUPS:
                    if isinstance(self.file.get(top), h5py.Group):
                        self._visit(self.file[top], top, found)
            self._variables = found
        return self._variables

    def _visit(self, group: h5py.Group, key: str, found: dict[str, Variable]) -> None:
        kind = _type(group)
        for name, child in group.items():
            child_key = f"{key}/{name}"
            if child is None:  # h5py gives None for a link to nothing
                continue
            if isinstance(child, h5py.Group):
                self._visit(child, child_key, found)
            elif not (
                name.endswith("_index") or (name in ("starting_time", "id") and kind != "Units")
            ):
                found[child_key] = self._describe(child_key, name, child, group, kind)

    def _describe(
        self, key: str, name: str, dataset: h5py.Dataset, parent: h5py.Group, kind: str
    ) -> Variable:
        attrs = read_attrs(dataset)
        attrs["neurodata_type"] = kind
        start = parent.get("starting_time")
        if isinstance(start, h5py.Dataset) and "rate" in start.attrs:
            attrs["rate"] = float(start.attrs["rate"])
        if f"{name}_index" in parent:
            attrs["ragged_index"] = f"{key}_index"
        guessed = variable_of(key, dataset, hint=kind)
        role, confidence, unit, reason = (
            guessed.role,
            guessed.confidence,
            guessed.unit,
            guessed.reason,
        )
        if kind == "Units":
            role, confidence = (
                ("spike_times", 0.95) if name == "spike_times" else ("cell_metadata", 0.8)
            )
            unit = "s" if name == "spike_times" else None
        elif name == "timestamps":
            role, confidence, unit = "timestamps", 0.9, "s"
        elif kind == "TimeIntervals":
            role, confidence = (
                ("triggers", 0.8) if name.endswith("_time") else ("cell_metadata", 0.5)
            )
            unit = "s" if name.endswith("_time") else None
        elif name == "data" and (kind in TRACE_TYPES or kind in IMAGE_TYPES):
            role, confidence = ("traces", 0.9) if kind in TRACE_TYPES else ("stimulus", 0.9)
            unit = attrs.get("unit")
        elif kind in ("PlaneSegmentation",):
            role, confidence = "cell_metadata", 0.7
        else:
            return Variable(
                key, guessed.shape, guessed.dtype, role, confidence, unit, reason, attrs
            )
        reason = f"NWB {kind} {name!r}"
        return Variable(key, guessed.shape, guessed.dtype, role, confidence, unit, reason, attrs)

    def probe(self) -> SourceInfo:
        attrs = {
            k: v for k, v in read_attrs(self.file).items() if k in ("nwb_version", "object_id")
        }
        return SourceInfo(str(self.path), self.name, tuple(self.variables.values()), attrs)

    def array(self, key: str) -> LazyArray:
        key = key.strip("/")
        if key not in self.variables:
            raise missing_key(key, list(self.variables), self.path)
        with h5_guard(self.path, "the dataset", key):
            return H5Array(self.file[key], self.path, key)

    def units(self, labels: tuple[str, ...] | None = None) -> SpikeUnits:
        """The ``Units`` table's spike times (s), ids, and labels from a quality-like column."""
        units = self.file.get("units")
        if not isinstance(units, h5py.Group) or "spike_times" not in units:
            raise MissingKeyError(
                "the file has no Units table with spike times",
                path=self.path,
                key="units/spike_times",
                hint="Use a file with sorted units, or read traces/series instead.",
            )
        with h5_guard(self.path, "the Units table", "units"):
            return self._read_units(units, labels)

    def _read_units(self, units: h5py.Group, labels: tuple[str, ...] | None) -> SpikeUnits:
        flat = np.asarray(units["spike_times"][()], dtype=np.float64)
        ends = np.asarray(units["spike_times_index"][()], dtype=np.int64)
        ids = np.asarray(units["id"][()], dtype=np.int64) if "id" in units else np.arange(len(ends))
        column = next((c for c in LABEL_COLUMNS if c in units), None)
        names = [""] * len(ends)
        if column is not None:
            dataset = units[column]
            text = h5py.check_string_dtype(dataset.dtype) is not None
            names = [str(v) for v in (dataset.asstr()[()] if text else dataset[()])]
        times = tuple(np.sort(t) for t in np.split(flat, ends[:-1]))
        return SpikeUnits(ids, tuple(names), times, None, str(self.path)).select(labels)

    def close(self) -> None:
        self.file.close()
