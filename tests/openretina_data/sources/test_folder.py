"""probe_folder: every file of a plain folder, format sub-folders, bad files kept apart."""

from __future__ import annotations

from pathlib import Path

from openretina_data.sources import is_format_folder, probe_folder
from openretina_data.testing.formats import write_kilosort, write_npy, write_suite2p, write_table


def test_mixed_folder(tmp_path: Path) -> None:
    write_kilosort(tmp_path / "sorting", version=2)
    write_suite2p(tmp_path / "suite2p" / "plane0")
    write_npy(tmp_path / "responses.npy")
    write_table(tmp_path / "cells.csv")
    (tmp_path / "README.docx").write_bytes(b"PK\x03\x04rest")
    (tmp_path / "truncated.npy").write_bytes(b"\x93NUMPY\x01\x00")
    (tmp_path / ".hidden.npy").write_bytes(b"")
    (tmp_path / "empty_dir").mkdir()
    found = probe_folder(tmp_path)
    assert sorted((Path(s.path).name, s.format) for s in found.sources) == [
        ("cells.csv", "table"),
        ("responses.npy", "npy"),
        ("sorting", "kilosort"),
    ]
    assert list(found.skipped) == ["README.docx"]
    assert list(found.errors) == ["truncated.npy"]
    assert is_format_folder(tmp_path / "suite2p" / "plane0")
    assert not is_format_folder(tmp_path / "suite2p")


def test_suite2p_root_lists_its_planes(tmp_path: Path) -> None:
    write_suite2p(tmp_path / "suite2p" / "plane0")
    write_suite2p(tmp_path / "suite2p" / "plane1", seed=1)
    found = probe_folder(tmp_path / "suite2p")
    assert [(Path(s.path).name, s.format) for s in found.sources] == [
        ("plane0", "suite2p"),
        ("plane1", "suite2p"),
    ]
