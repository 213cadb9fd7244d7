"""MAT v5 and v7.3 readers: the shared contract, MATLAB shapes, structs, cells, text."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from openretina_data.sources import open_source, probe
from openretina_data.testing.formats import write_mat_v5, write_mat_v73
from openretina_data.testing.reader_suite import Arrays, ReaderContract


class TestMat5Contract(ReaderContract):
    format_name = "mat-v5"

    def write(self, folder: Path) -> tuple[Path, Arrays]:
        return write_mat_v5(folder / "export.mat")


class TestMat73Contract(ReaderContract):
    format_name = "mat-v7.3"

    def write(self, folder: Path) -> tuple[Path, Arrays]:
        return write_mat_v73(folder / "export.mat")


@pytest.mark.parametrize("writer", [write_mat_v5, write_mat_v73])
def test_text_and_struct_fields(tmp_path: Path, writer) -> None:  # type: ignore[no-untyped-def]
    path, _ = writer(tmp_path / "export.mat")
    with open_source(path) as reader:
        assert list(reader.array("label")[:]) == ["retina 1"]
        assert list(reader.array("params/experimenter")[:]) == ["example"]
    info = probe(path)
    assert info.variable("stimulus").role == "stimulus"
    assert info.variable("frame_times").shape[0] == 1  # MATLAB's row vector


def test_v73_is_recognised_as_mat_not_hdf5(tmp_path: Path) -> None:
    written, _ = write_mat_v73(tmp_path / "export.mat")
    path = written.rename(tmp_path / "export.h5")  # even with a misleading suffix
    assert h5py.is_hdf5(path)
    assert probe(path).format == "mat-v7.3"


def test_v73_slices_follow_matlab_axis_order(tmp_path: Path) -> None:
    path, expected = write_mat_v73(tmp_path / "export.mat")
    with open_source(path) as reader:
        movie = reader.array("stimulus")
        assert movie.shape == expected["stimulus"].shape
        np.testing.assert_array_equal(movie[3, 2:5, ::-1], expected["stimulus"][3, 2:5, ::-1])


def test_plain_hdf5_with_mat_suffix_is_read_as_hdf5(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "plain.mat", "w") as f:
        f["x"] = np.arange(3)
    assert probe(tmp_path / "plain.mat").format == "hdf5"


def test_big_v5_file_lists_structs_whole_and_reads_fields_on_demand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openretina_data.sources import mat

    path, expected = write_mat_v5(tmp_path / "export.mat")
    monkeypatch.setattr(mat, "EXPAND_LIMIT_BYTES", 0)
    info = probe(path)
    assert "params" in info.keys and "params/fs" not in info.keys
    assert any("keys_of('params')" in note for note in info.notes)
    with open_source(path) as reader:
        assert isinstance(reader, mat.Mat5Reader)
        assert reader.keys_of("params") == ["params/fs", "params/experimenter"]
        np.testing.assert_array_equal(reader.array("params/fs")[:], expected["params/fs"])
