"""Kilosort/Phy folders (as KS2 and KS4 write them): contract, seconds, labels, params as data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from openretina_data.errors import ShapeError
from openretina_data.sources import KilosortReader, open_source, probe
from openretina_data.testing.formats import write_kilosort
from openretina_data.testing.reader_suite import Arrays, ReaderContract


class TestKilosort2Contract(ReaderContract):
    format_name = "kilosort"

    def write(self, folder: Path) -> tuple[Path, Arrays]:
        return write_kilosort(folder / "ks2", version=2)

    def file_to_break(self, source: Path) -> Path:
        return source / "spike_times.npy"


class TestKilosort4Contract(TestKilosort2Contract):
    def write(self, folder: Path) -> tuple[Path, Arrays]:
        return write_kilosort(folder / "ks4", version=4)


@pytest.mark.parametrize(("version", "rate"), [(2, 30000.0), (4, 20000.0)])
def test_good_units_in_seconds(tmp_path: Path, version: int, rate: float) -> None:
    folder, written = write_kilosort(tmp_path / "sorted", version=version)
    with open_source(folder) as reader:
        assert isinstance(reader, KilosortReader)
        units = reader.units(labels=("good",))
    assert list(units.unit_ids) == [0, 2, 4]
    for unit_id, times in zip(units.unit_ids, units.spike_times, strict=True):
        expected = np.sort(written["spike_times"][written["spike_clusters"] == unit_id]) / rate
        np.testing.assert_allclose(times, expected)
    times, index = units.flat()
    assert len(times) == units.n_spikes and index.max() == 2


def test_phy_curation_overrides_kilosort_label(tmp_path: Path) -> None:
    folder, _ = write_kilosort(tmp_path / "ks2", version=2)
    with open_source(folder) as reader:
        assert isinstance(reader, KilosortReader)
        every = reader.units(labels=None)
    labels = dict(zip(every.unit_ids.tolist(), every.labels, strict=True))
    assert labels[1] == "noise" and labels[0] == "good"
    info = probe(folder)
    assert info.attrs["sample_rate"] == 30000.0
    assert info.attrs["label_counts"] == {"good": 3, "noise": 2, "mua": 1}


def test_params_py_is_never_executed(tmp_path: Path) -> None:
    folder, _ = write_kilosort(tmp_path / "ks", version=4)
    marker = tmp_path / "ran"
    (folder / "params.py").write_text(
        f"sample_rate = 20000.0\nevil = __import__('pathlib').Path({str(marker)!r}).touch()\n"
    )
    info = probe(folder)
    assert not marker.exists()
    assert info.attrs["sample_rate"] == 20000.0 and "evil" in " ".join(info.notes)


def test_missing_sample_rate_must_be_given(tmp_path: Path) -> None:
    folder, _ = write_kilosort(tmp_path / "ks", version=4)
    (folder / "params.py").write_text("dtype = 'int16'\n")
    with open_source(folder) as reader:
        assert isinstance(reader, KilosortReader)
        with pytest.raises(ShapeError, match="sample rate"):
            reader.units()
        assert len(reader.units(sample_rate=10000.0)) == 3


def test_mismatched_spike_files_are_reported(tmp_path: Path) -> None:
    folder, written = write_kilosort(tmp_path / "ks", version=4)
    np.save(folder / "spike_clusters.npy", written["spike_clusters"][:-3])
    with pytest.raises(ShapeError, match="different sorting runs"):
        probe(folder)


def test_phy_cluster_info_group_wins_over_kslabel(tmp_path: Path) -> None:
    folder, _ = write_kilosort(tmp_path / "ks", version=4)  # cluster_group.tsv has KSLabel
    (folder / "cluster_info.tsv").write_text(
        "cluster_id\tKSLabel\tgroup\tdepth\n0\tgood\tmua\t100\n2\tgood\t\t120\n"
    )
    with open_source(folder) as reader:
        assert isinstance(reader, KilosortReader)
        good = reader.units(labels=("good",))
    assert list(good.unit_ids) == [2, 4]  # unit 0 curated to mua; 2 has no manual label
