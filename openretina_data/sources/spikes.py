"""Sorted spikes as one value: per-unit spike times in seconds, with ids and labels."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SpikeUnits:
    """Spike times of sorted units (from a Kilosort/Phy folder or an NWB ``Units`` table).

    Attributes
    ----------
    unit_ids : (units,) int64
        The sorter's cluster / unit ids.
    labels : tuple of str, one per unit
        ``"good"``, ``"mua"``, ``"noise"`` (Kilosort/Phy) or ``""`` when unlabelled.
    spike_times : tuple of (spikes_u,) float64 arrays, seconds, one per unit, sorted
    sample_rate : float or None
        Hz, when the times came from sample indices.
    source : str
        The folder or file they came from.
    """

    unit_ids: np.ndarray
    labels: tuple[str, ...]
    spike_times: tuple[np.ndarray, ...]
    sample_rate: float | None = None
    source: str = ""

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n_spikes(self) -> int:
        return int(sum(len(t) for t in self.spike_times))

    def select(self, labels: Iterable[str] | None) -> SpikeUnits:
        """Only the units whose label is in ``labels`` (``None`` keeps all)."""
        if labels is None:
            return self
        keep = set(labels)
        index = [i for i, label in enumerate(self.labels) if label in keep]
        return SpikeUnits(
            self.unit_ids[index],
            tuple(self.labels[i] for i in index),
            tuple(self.spike_times[i] for i in index),
            self.sample_rate,
            self.source,
        )

    def flat(self) -> tuple[np.ndarray, np.ndarray]:
        """All spikes at once, for vectorised binning.

        Returns
        -------
        times : (spikes,) float64, seconds
        unit_index : (spikes,) int64, position of the unit in this object (not its id)
        """
        if not self.spike_times:
            return np.empty(0), np.empty(0, dtype=np.int64)
        counts = [len(t) for t in self.spike_times]
        times = np.concatenate(self.spike_times) if self.n_spikes else np.empty(0)
        return times, np.repeat(np.arange(len(counts), dtype=np.int64), counts)


def group_spikes(
    times: np.ndarray, units: np.ndarray, unit_ids: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Split flat spikes into one sorted array per id in ``unit_ids`` (no Python loop over spikes).

    Parameters
    ----------
    times : (spikes,) float64, seconds
    units : (spikes,) int, the unit id of each spike
    unit_ids : (units,) int, the ids wanted, in output order
    """
    order = np.lexsort((times, units))
    sorted_units, sorted_times = units[order], times[order]
    starts = np.searchsorted(sorted_units, unit_ids, side="left")
    stops = np.searchsorted(sorted_units, unit_ids, side="right")
    return tuple(sorted_times[a:b] for a, b in zip(starts, stops, strict=True))
