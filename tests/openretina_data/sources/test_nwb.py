"""NWB reader: the shared contract, roles from neurodata types, Units as spike times."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from openretina_data.sources import NwbReader, open_source, probe
from openretina_data.testing.formats import write_nwb
from openretina_data.testing.reader_suite import Arrays, ReaderContract


class TestNwbContract(ReaderContract):
    format_name = "nwb"

    def write(self, folder: Path) -> tuple[Path, Arrays]:
        return write_nwb(folder / "session.nwb")


def test_roles_from_neurodata_types(tmp_path: Path) -> None:
    path, _ = write_nwb(tmp_path / "session.nwb")
    info = probe(path)
    roles = {v.key: v.role for v in info.variables}
    assert roles["units/spike_times"] == "spike_times"
    assert roles["processing/ophys/Fluorescence/RoiResponseSeries/data"] == "traces"
    assert roles["stimulus/presentation/checkerboard/data"] == "stimulus"
    assert roles["intervals/trials/start_time"] == "triggers"
    assert roles["acquisition/photodiode/timestamps"] == "timestamps"
    assert roles["acquisition/photodiode/data"] == "triggers"
    assert info.variable("stimulus/presentation/checkerboard/data").attrs["rate"] == 30.0


def test_units_give_per_unit_seconds_and_labels(tmp_path: Path) -> None:
    path, written = write_nwb(tmp_path / "session.nwb")
    with open_source(path) as reader:
        assert isinstance(reader, NwbReader)
        every = reader.units()
        good = reader.units(labels=("good",))
    assert every.labels == ("good", "mua", "good", "noise")
    assert [len(t) for t in every.spike_times] == [12, 7, 20, 3]
    np.testing.assert_allclose(np.concatenate(every.spike_times), written["units/spike_times"])
    assert list(good.unit_ids) == [0, 2]


def test_nwb_without_suffix_is_recognised_by_content(tmp_path: Path) -> None:
    written, _ = write_nwb(tmp_path / "session.nwb")
    path = written.rename(tmp_path / "session.h5")
    assert probe(path).format == "nwb"
