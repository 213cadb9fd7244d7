"""MAT v5 and v7.3 readers: the shared contract, MATLAB shapes, structs, cells, text."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io

from openretina_data.errors import UnreadableSourceError
from openretina_data.sources import open_source, probe
from openretina_data.sources._mat5_elements import (
    MI_COMPRESSED,
    MI_MATRIX,
    Element,
    absurd_claim,
    top_level_elements,
)
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


# --- hostile and truncated v5 headers -------------------------------------------------

GIB = 1 << 30


def mat5_claiming(path: Path, frames: int, *, compress: bool) -> Path:
    """A MAT v5 file whose ``stimulus`` header claims ``frames`` x 8 x 6 float32 values
    (it holds 60 x 8 x 6); compressed files get their element re-compressed."""
    scipy.io.savemat(path, {"stimulus": np.zeros((60, 8, 6), np.float32)}, do_compression=compress)
    data = path.read_bytes()
    kind, nbytes = struct.unpack("<II", data[128:136])
    element = zlib.decompress(data[136 : 136 + nbytes]) if compress else data[128:]
    first_dim = 8 + 16 + 8  # matrix tag, array-flags sub-element, dims tag
    assert struct.unpack("<i", element[first_dim : first_dim + 4])[0] == 60
    element = element[:first_dim] + struct.pack("<i", frames) + element[first_dim + 4 :]
    if compress:
        packed = zlib.compress(element)
        path.write_bytes(data[:128] + struct.pack("<II", kind, len(packed)) + packed)
    else:
        path.write_bytes(data[:128] + element)
    return path


def test_v5_header_claiming_more_than_the_uncompressed_file_holds_is_refused(
    tmp_path: Path,
) -> None:
    path = mat5_claiming(tmp_path / "movie.mat", 2**30, compress=False)
    info = probe(path)
    assert info.variable("stimulus").shape == (2**30, 8, 6)  # listed as claimed ...
    assert any("'stimulus' cannot be read" in note for note in info.notes)  # ... and flagged
    with open_source(path) as reader, pytest.raises(UnreadableSourceError) as caught:
        reader.array("stimulus")  # refused before scipy sizes a 192 GiB array
    assert caught.value.key == "stimulus" and "holds" in caught.value.message
    assert caught.value.hint


def test_compressed_v5_claim_is_refused_only_beyond_file_ratio_and_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openretina_data.sources import mat

    path = mat5_claiming(tmp_path / "movie.mat", 2**30, compress=True)  # 192 GiB claimed
    monkeypatch.setattr(mat, "available_memory_bytes", lambda: 16 * GIB)
    with open_source(path) as reader, pytest.raises(UnreadableSourceError, match="memory"):
        reader.array("stimulus")
    monkeypatch.setattr(mat, "available_memory_bytes", lambda: 1024 * GIB)
    with open_source(path) as reader:  # compression could in principle explain it
        assert reader.array("stimulus").shape == (2**30, 8, 6)


def test_absurd_claim_rules() -> None:
    compressed = Element(128, MI_COMPRESSED, 1000)
    small_file = 2000
    assert absurd_claim((1000,), 8, compressed, small_file, 16 * GIB) is None
    assert absurd_claim((10**6,), 8, compressed, small_file, 16 * GIB) is None  # 4000x, fits
    assert absurd_claim((10**6,), 8, compressed, small_file, 1 << 20) is not None
    assert absurd_claim((10**6,), 8, compressed, small_file, None) is not None
    stored = Element(128, MI_MATRIX, 1000)
    assert absurd_claim((1000,), 8, stored, small_file, None) is None  # double kept as uint8
    assert absurd_claim((1001,), 8, stored, small_file, None) is not None


def test_truncated_compressed_v5_is_noted_by_probe_and_refused_on_read(tmp_path: Path) -> None:
    path = tmp_path / "movie.mat"
    movie = np.random.default_rng(0).random((60, 8, 6)).astype(np.float32)
    scipy.io.savemat(path, {"stimulus": movie, "fs": 30.0}, do_compression=True)
    elements, size = top_level_elements(path)
    assert [e.kind for e in elements] == [MI_COMPRESSED] * 2 and elements[-1].end == size
    path.write_bytes(path.read_bytes()[: size * 6 // 10])
    info = probe(path)
    assert any("truncated" in note for note in info.notes)
    with open_source(path) as reader, pytest.raises(UnreadableSourceError, match="truncated"):
        reader.array("stimulus")
