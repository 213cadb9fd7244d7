"""HDF5 reader: the shared contract, nested keys, attributes, user blocks."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from openretina_data.sources import open_source, probe
from openretina_data.testing.formats import write_hdf5
from openretina_data.testing.reader_suite import Arrays, ReaderContract


class TestHdf5Contract(ReaderContract):
    format_name = "hdf5"

    def write(self, folder: Path) -> tuple[Path, Arrays]:
        return write_hdf5(folder / "recording.h5")


def test_attributes_are_listed(tmp_path: Path) -> None:
    path, _ = write_hdf5(tmp_path / "recording.h5")
    info = probe(path)
    assert info.attrs["frame_rate_hz"] == 30.0
    assert info.variable("recording/spikes/spike_times").attrs == {"unit": "s"}


def test_user_block_is_recognised_by_content(tmp_path: Path) -> None:
    path = tmp_path / "blocked.bin"
    with h5py.File(path, "w", userblock_size=512) as f:
        f["x"] = np.arange(5)
    assert probe(path).format == "hdf5"


def test_string_dataset_reads_as_text(tmp_path: Path) -> None:
    path = tmp_path / "cells.h5"
    with h5py.File(path, "w") as f:
        f["cell_type"] = np.array(["ON", "OFF"], dtype=h5py.string_dtype())
    with open_source(path) as reader:
        assert list(reader.array("cell_type")[:]) == ["ON", "OFF"]
    assert probe(path).variable("cell_type").role == "cell_metadata"
