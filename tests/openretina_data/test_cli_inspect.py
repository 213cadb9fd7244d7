"""``openretina-data inspect``: one file, a format folder, a plain folder, JSON, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openretina_data.cli import main
from openretina_data.sources import isolated, probe_folder, probe_folder_guarded
from openretina_data.sources.folder import FolderProbe
from openretina_data.testing.formats import write_hdf5, write_kilosort, write_npy


def test_inspect_file_lists_keys_shapes_roles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = write_hdf5(tmp_path / "recording.h5")
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "[hdf5]" in out and "stimulus/movie" in out and "(40, 8, 6)" in out
    assert "stimulus (0.80)" in out


def test_inspect_kilosort_folder_as_one_source_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, _ = write_kilosort(tmp_path / "ks", version=4)
    assert main(["inspect", str(folder), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["format"] == "kilosort" and report["attrs"]["sample_rate"] == 20000.0


def test_inspect_plain_folder_probes_each_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_npy(tmp_path / "responses.npy")
    write_hdf5(tmp_path / "recording.h5")
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04 not an npz")
    (tmp_path / "broken.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 40)
    assert main(["inspect", str(tmp_path), "--json"]) == 1  # broken.h5 is unreadable
    report = json.loads(capsys.readouterr().out)
    assert [s["format"] for s in report["sources"]] == ["hdf5", "npy"]
    assert report["errors"]["broken.h5"]["error"] == "UnreadableSourceError"
    assert "notes.docx" in report["skipped"]


def test_inspect_unsupported_file_lists_formats(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data.xyz").write_bytes(b"\x01\x02\x03binary")
    assert main(["inspect", str(tmp_path / "data.xyz")]) == 1
    err = capsys.readouterr().err
    assert "mat-v5" in err and "openretina-data[video]" in err


def test_inspect_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["inspect", str(tmp_path / "nope.h5")]) == 2


@pytest.fixture
def crashing_child(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every probe child process dies at once, as a library crash would make it."""
    monkeypatch.setattr(isolated, "_CHILD", "import os; os.abort()")


@pytest.mark.usefixtures("crashing_child")
def test_inspect_reports_a_crashing_hdf5_reader_and_probes_safe_files_in_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_npy(tmp_path / "responses.npy")
    write_hdf5(tmp_path / "recording.h5")
    assert main(["inspect", str(tmp_path / "responses.npy")]) == 0  # numpy: no child needed
    assert main(["inspect", str(tmp_path / "recording.h5")]) == 1
    err = capsys.readouterr().err
    assert "recording.h5" in err and "crashed" in err and "Traceback" not in err
    # A folder: the one child crashes, then each entry is probed on its own.
    assert main(["inspect", str(tmp_path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [s["format"] for s in report["sources"]] == ["npy"]
    assert "crashed" in report["errors"]["recording.h5"]["message"]


def test_inspect_stops_a_hanging_probe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(isolated, "_CHILD", "import time; time.sleep(60)")
    path, _ = write_hdf5(tmp_path / "recording.h5")
    assert main(["inspect", str(path), "--timeout", "0.5"]) == 1
    assert "took longer than 0.5 s" in capsys.readouterr().err


def test_a_folder_probed_in_a_child_equals_one_probed_here(tmp_path: Path) -> None:
    write_npy(tmp_path / "responses.npy")
    write_hdf5(tmp_path / "recording.h5")
    (tmp_path / "broken.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 40)
    here = probe_folder(tmp_path).to_dict()
    assert probe_folder_guarded(tmp_path).to_dict() == here
    assert FolderProbe.from_dict(here).to_dict() == here
