"""Kilosort / Phy output folders: spike times in samples → per-unit times in seconds + labels.

Files read (Kilosort 2, 2.5, 3 and 4 write them; Phy curation rewrites the tables):

- ``spike_times.npy``: (spikes,) or (spikes, 1) integer sample indices;
- ``spike_clusters.npy`` (or ``spike_templates.npy`` when absent): (spikes,) unit ids;
- ``cluster_group.tsv`` (Phy curation; Kilosort 4 also writes it, with a ``KSLabel``
  or ``group`` column), ``cluster_KSLabel.tsv`` (Kilosort's own labels) and
  ``cluster_info.tsv`` (Phy): the label of each unit, manual labels winning;
- ``params.py``: read as DATA — each ``name = literal`` line through
  :func:`ast.literal_eval`, never executed or imported — for ``sample_rate``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from openretina_data.errors import ShapeError
from openretina_data.sources.base import (
    SourceInfo,
    SourceReader,
    Variable,
    missing_key,
    register,
    sniff_folder,
)
from openretina_data.sources.lazy import IndexableArray, LazyArray
from openretina_data.sources.numpy_files import NpyReader
from openretina_data.sources.spikes import SpikeUnits, group_spikes
from openretina_data.sources.table import parse_id, read_table

LABEL_FILES = ("cluster_KSLabel.tsv", "cluster_info.tsv", "cluster_group.tsv")
LABEL_COLUMNS = ("KSLabel", "group")  # automatic, then manual: manual wins


def read_params(path: Path) -> tuple[dict[str, Any], list[str]]:
    """``params.py`` as data: ``{name: value}`` and notes on lines that are not literals.

    The file is parsed (never run); only ``name = <Python literal>`` assignments count.
    """
    if not path.is_file():
        return {}, ["no params.py: state the spike sample rate in the recipe"]
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"), filename=str(path))
    except SyntaxError as error:
        return {}, [f"params.py is not valid Python syntax ({error.msg}, line {error.lineno})"]
    params: dict[str, Any] = {}
    notes: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                try:
                    params[target.id] = ast.literal_eval(node.value)
                except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                    notes.append(f"params.py: {target.id} is not a plain value; ignored")
    return params, notes


def read_labels(folder: Path) -> dict[int, str]:
    """Unit id → label from the cluster tables present.

    A ``group`` column (Phy's manual curation, in any table) wins over a ``KSLabel``
    column (Kilosort's automatic label); Kilosort 4 may write either into
    ``cluster_group.tsv``. Empty cells are ignored.
    """
    found: dict[str, dict[int, str]] = {column: {} for column in LABEL_COLUMNS}
    for name in LABEL_FILES:
        path = folder / name
        if not path.exists():
            continue
        table = read_table(path, delimiter="\t")
        id_column = next((c for c in ("cluster_id", "id") if c in table.header), None)
        if id_column is None:
            continue
        for line, row in zip(table.lines, table.records(), strict=True):
            ident = row[id_column].strip()
            if not ident:
                continue
            unit = parse_id(ident, path=path, line=line)
            for column in LABEL_COLUMNS:
                value = (row.get(column) or "").strip()
                if value:
                    found[column][unit] = value
    labels: dict[int, str] = {}
    for column in LABEL_COLUMNS:  # later columns win
        labels.update(found[column])
    return labels


@register
class KilosortReader(SourceReader):
    name = "kilosort"
    description = "Kilosort/Phy output folder (spike_times.npy, spike_clusters.npy, params.py)"
    folders = True

    @classmethod
    def sniff(cls, path: Path, header: bytes) -> int:
        return sniff_folder(path, "spike_times.npy", ("spike_clusters.npy", "spike_templates.npy"))

    def __init__(self, path: Any) -> None:
        super().__init__(path)
        self.params, notes = read_params(self.path / "params.py")
        self.notes = list(notes)
        self._times = NpyReader(self.path / "spike_times.npy")
        clusters_file = self.path / "spike_clusters.npy"
        if not clusters_file.is_file():
            clusters_file = self.path / "spike_templates.npy"
            self.notes.append("no spike_clusters.npy; using template ids as unit ids")
        self._clusters = NpyReader(clusters_file)
        self.n_spikes = self._times.shape[0] if self._times.shape else 0
        if self._times.shape not in ((self.n_spikes,), (self.n_spikes, 1)):
            raise ShapeError(
                f"spike_times.npy has shape {self._times.shape}; expected (spikes,) or (spikes, 1)",
                path=self._times.path,
                hint="Point at the folder Kilosort wrote, unchanged.",
            )
        if int(np.prod(self._clusters.shape)) != self.n_spikes:
            raise ShapeError(
                f"spike_times.npy has {self.n_spikes} spikes but {clusters_file.name} has "
                f"{int(np.prod(self._clusters.shape))}",
                path=self.path,
                hint="The two files come from different sorting runs; re-export the folder.",
            )
        self.labels = read_labels(self.path)
        rate = self.params.get("sample_rate")
        self.sample_rate = float(rate) if isinstance(rate, int | float) and rate > 0 else None
        if self.sample_rate is None:
            self.notes.append("params.py gives no sample_rate; state it in the recipe")

    def _flat(self, reader: NpyReader) -> LazyArray:
        view = reader.array(reader.key)
        return IndexableArray(view._target.reshape(-1)) if view.ndim == 2 else view  # type: ignore[attr-defined]

    def probe(self) -> SourceInfo:
        n = self.n_spikes
        ids = sorted(self.labels)
        variables = (
            Variable("spike_times", (n,), self._times.dtype.str, "spike_times", 0.95, "samples",
                     "Kilosort spike_times.npy: sample index of each spike"),
            Variable("spike_clusters", (n,), self._clusters.dtype.str, "cell_metadata", 0.9, None,
                     "Kilosort spike_clusters.npy: unit id of each spike"),
            Variable("cluster_id", (len(ids),), np.dtype(np.int64).str, "cell_metadata", 0.9, None,
                     "units listed in the cluster tables"),
            Variable("cluster_label", (len(ids),), np.dtype(object).str, "cell_metadata", 0.9, None,
                     "good / mua / noise from the cluster tables"),
        )  # fmt: skip
        counts: dict[str, int] = {}
        for label in self.labels.values():
            counts[label] = counts.get(label, 0) + 1
        attrs = {
            "sample_rate": self.sample_rate,
            "n_spikes": n,
            "n_labelled_units": len(ids),
            "label_counts": counts,
            "params": self.params,
        }
        return SourceInfo(str(self.path), self.name, variables, attrs, tuple(self.notes))

    def array(self, key: str) -> LazyArray:
        if key == "spike_times":
            return self._flat(self._times)
        if key == "spike_clusters":
            return self._flat(self._clusters)
        ids = sorted(self.labels)
        if key == "cluster_id":
            return IndexableArray(np.array(ids, dtype=np.int64))
        if key == "cluster_label":
            out = np.empty(len(ids), dtype=object)
            out[:] = [self.labels[i] for i in ids]
            return IndexableArray(out)
        raise missing_key(
            key, ["spike_times", "spike_clusters", "cluster_id", "cluster_label"], self.path
        )

    def units(
        self, labels: Iterable[str] | None = ("good",), sample_rate: float | None = None
    ) -> SpikeUnits:
        """Per-unit spike times in seconds, keeping units whose label is in ``labels``.

        Parameters
        ----------
        labels
            Labels to keep (``None``: every unit, unlabelled ones get ``""``).
        sample_rate
            Hz; overrides ``params.py`` (required when it gives none).
        """
        rate = sample_rate or self.sample_rate
        if rate is None:
            raise ShapeError(
                "the sample rate is unknown: params.py has no sample_rate",
                path=self.path / "params.py",
                hint="Give sample_rate (Hz) explicitly.",
            )
        samples = np.asarray(self.array("spike_times"))
        clusters = np.asarray(self.array("spike_clusters")).astype(np.int64)
        ids = np.union1d(np.unique(clusters), np.array(sorted(self.labels), dtype=np.int64))
        times = group_spikes(samples.astype(np.float64) / rate, clusters, ids)
        everything = SpikeUnits(
            ids, tuple(self.labels.get(int(i), "") for i in ids), times, float(rate), str(self.path)
        )
        return everything.select(labels)
