"""Spike trains read window by window through the sources' Kilosort and NWB readers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from openretina_data.errors import RecipeError
from openretina_data.recipe import ResponseSource
from openretina_data.sources.kilosort import KilosortReader
from openretina_data.spike_trains import SpikeTrains
from openretina_data.testing.formats import write_kilosort, write_nwb
from openretina_data.timing import bin_spikes


def _source(path: Path, **fields: object) -> ResponseSource:
    return ResponseSource(path=str(path), kind="spike_times", epochs=[], **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("version", [2, 4])
def test_kilosort_labels_and_rate_come_from_the_core_reader(tmp_path: Path, version: int) -> None:
    folder, arrays = write_kilosort(tmp_path / "ks", version=version)
    trains = SpikeTrains.open(
        _source(folder, unit="samples", unit_filter=["good"]), folder, session="a"
    )
    try:
        units = KilosortReader(folder).units(labels=("good",))  # the whole-sorting reader
        assert trains.unit_ids.tolist() == units.unit_ids.tolist()
        rate = 30000.0 if version == 2 else 20000.0  # from params.py: the recipe gives none
        assert trains.ticks_per_second == rate
        edges = np.linspace(0.5, 9.5, 301)
        expected = bin_spikes(list(units.spike_times), edges, time_unit="s").values
        np.testing.assert_array_equal(trains.bin(edges, as_rate=False), expected)
    finally:
        trains.close()
    if version == 2:  # Phy's manual curation relabelled unit 1 (mua) as noise
        assert 1 not in trains.unit_ids and 0 in trains.unit_ids


def test_windows_sharing_edges_split_the_spikes_as_one_grid_does(tmp_path: Path) -> None:
    folder, arrays = write_kilosort(tmp_path / "ks")
    trains = SpikeTrains.open(_source(folder, unit="samples"), folder, session=None)
    edges = 0.25 + np.arange(2001) / 211.0  # edges that fall between and on samples
    whole = bin_spikes(
        arrays["spike_times"].ravel(),
        edges,
        time_unit="samples",
        sampling_rate_hz=30000.0,
        unit_ids=arrays["spike_clusters"],
        units=trains.unit_ids,
    ).values
    slabs = [trains.bin(edges[a : a + 338], as_rate=False) for a in range(0, 2000, 337)]
    np.testing.assert_array_equal(np.concatenate(slabs, axis=1), whole)
    assert trains.count_in(float(edges[0]), float(edges[-1])) == whole.sum()


def test_every_unit_without_a_filter_and_a_tiny_search_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("openretina_data.spike_trains._SEARCH_BLOCK", 2)  # bisect to the end
    folder, arrays = write_kilosort(tmp_path / "ks")
    trains = SpikeTrains.open(_source(folder, unit="samples"), folder, session=None)
    assert trains.unit_ids.tolist() == sorted(set(arrays["spike_clusters"].tolist()))
    seconds = arrays["spike_times"].ravel() / 30000.0
    # half a sample after spike 10 (inside the search margin) up to spike 80 (excluded)
    start, stop = seconds[10] + 0.5 / 30000.0, seconds[80]
    times, units = trains.window(start, stop)
    inside = (seconds >= start) & (seconds < stop)
    assert inside.sum() == 69
    np.testing.assert_array_equal(times, seconds[inside])
    np.testing.assert_array_equal(units, arrays["spike_clusters"][inside])


def test_nwb_units_are_seconds_only(tmp_path: Path) -> None:
    nwb, _ = write_nwb(tmp_path / "rec.nwb")
    trains = SpikeTrains.open(_source(nwb, unit="s"), nwb, session="a")
    span = trains.span_s()
    assert span is not None and span[0] <= span[1]
    with pytest.raises(RecipeError, match="seconds"):
        SpikeTrains.open(_source(nwb, unit="ms"), nwb, session="a")
