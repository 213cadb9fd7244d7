"""NumPy .npy/.npz reader: the shared contract, memory maps, pickles refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from openretina_data.errors import UnsafeContentError
from openretina_data.sources import open_source, probe
from openretina_data.testing.formats import write_npy, write_npz
from openretina_data.testing.reader_suite import Arrays, ReaderContract


class TestNpyContract(ReaderContract):
    format_name = "npy"

    def write(self, folder: Path) -> tuple[Path, Arrays]:
        return write_npy(folder / "responses.npy")


class TestNpzContract(ReaderContract):
    format_name = "npz"

    def write(self, folder: Path) -> tuple[Path, Arrays]:
        return write_npz(folder / "recording.npz")


class TestCompressedNpzContract(ReaderContract):
    format_name = "npz"

    def write(self, folder: Path) -> tuple[Path, Arrays]:
        return write_npz(folder / "recording.npz", compressed=True)


def test_npy_view_is_memory_mapped(tmp_path: Path) -> None:
    path, _ = write_npy(tmp_path / "responses.npy")
    with open_source(path) as reader:
        view = reader.array("responses")
        assert isinstance(view._target, np.memmap)  # type: ignore[attr-defined]


def test_fortran_order_npy_reads_in_logical_order(tmp_path: Path) -> None:
    data = np.asfortranarray(np.arange(24, dtype=np.int16).reshape(4, 6))
    np.save(tmp_path / "f.npy", data)
    with open_source(tmp_path / "f.npy") as reader:
        np.testing.assert_array_equal(reader.array("f")[1:3, ::2], data[1:3, ::2])


def test_object_npy_is_refused_without_unpickling(tmp_path: Path) -> None:
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(UnsafeContentError):
        probe(tmp_path / "objects.npy")


def test_object_member_of_npz_is_listed_as_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "mixed.npz", good=np.ones(3), bad=np.array([None, 1], dtype=object))
    info = probe(tmp_path / "mixed.npz")
    assert info.keys == ["good"] and "bad" in info.notes[0]
    with open_source(tmp_path / "mixed.npz") as reader, pytest.raises(UnsafeContentError):
        reader.array("bad")


def test_content_beats_suffix(tmp_path: Path) -> None:
    np.save(tmp_path / "data.npy", np.zeros(3))
    (tmp_path / "data.npy").rename(tmp_path / "data.h5")
    assert probe(tmp_path / "data.h5").format == "npy"


def test_roles_are_guessed_from_names(tmp_path: Path) -> None:
    path, _ = write_npz(tmp_path / "recording.npz")
    info = probe(path)
    roles = {v.key: v.role for v in info.variables}
    assert roles == {
        "stimulus": "stimulus",
        "responses": "binned_responses",
        "spike_times": "spike_times",
        "frame_times": "triggers",
        "cell_ids": "cell_metadata",
    }
    assert info.variable("spike_times").unit == "s"
