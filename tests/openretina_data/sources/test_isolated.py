"""probe_isolated: same answer as probe, errors rebuilt, time limit enforced."""

from __future__ import annotations

from pathlib import Path

import pytest

from openretina_data.errors import MissingKeyError, UnreadableSourceError, UnsupportedFormatError
from openretina_data.sources import SourceInfo, probe, probe_isolated
from openretina_data.testing.formats import write_hdf5, write_kilosort


def test_same_answer_as_probe(tmp_path: Path) -> None:
    path, _ = write_hdf5(tmp_path / "recording.h5")
    assert probe_isolated(path).to_dict() == probe(path).to_dict()
    folder, _ = write_kilosort(tmp_path / "ks")
    assert probe_isolated(folder).attrs["sample_rate"] == 30000.0


def test_error_class_and_hint_come_back(tmp_path: Path) -> None:
    (tmp_path / "x.bin").write_bytes(b"\x01\x02")
    with pytest.raises(UnsupportedFormatError) as caught:
        probe_isolated(tmp_path / "x.bin")
    assert caught.value.path == str(tmp_path / "x.bin") and caught.value.hint


def test_time_limit(tmp_path: Path) -> None:
    path, _ = write_hdf5(tmp_path / "recording.h5")
    with pytest.raises(UnreadableSourceError, match="longer than"):
        probe_isolated(path, timeout_s=0.001)


def test_source_info_round_trips_through_dict(tmp_path: Path) -> None:
    path, _ = write_hdf5(tmp_path / "recording.h5")
    info = probe(path)
    again = SourceInfo.from_dict(info.to_dict())
    assert again == info
    with pytest.raises(MissingKeyError):
        again.variable("nope")
