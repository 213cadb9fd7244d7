"""Choosing a reader: content first, clear errors for missing, empty, unknown, uninstalled."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from openretina_data.errors import (
    MissingDependencyError,
    SourceNotFoundError,
    UnreadableSourceError,
    UnsupportedFormatError,
)
from openretina_data.sources import choose_reader, open_source, probe, readers
from openretina_data.sources.roles import guess_variable
from openretina_data.testing.formats import write_mat_v5


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError):
        probe(tmp_path / "nope.h5")


def test_empty_file_of_any_suffix(tmp_path: Path) -> None:
    (tmp_path / "x.bin").write_bytes(b"")
    with pytest.raises(UnreadableSourceError, match="empty"):
        probe(tmp_path / "x.bin")


def test_unknown_file_lists_every_format_and_extra(tmp_path: Path) -> None:
    (tmp_path / "x.bin").write_bytes(b"\x00\x01\x02 who knows")
    with pytest.raises(UnsupportedFormatError) as caught:
        choose_reader(tmp_path / "x.bin")
    text = str(caught.value)
    assert all(reader.name in text for reader in readers())
    assert 'pip install "openretina-data[mat]"' in text


def test_plain_folder_is_not_a_format(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.zeros(2))
    with pytest.raises(UnsupportedFormatError, match="folder"):
        probe(tmp_path)


def test_missing_optional_dependency_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = write_mat_v5(tmp_path / "x.mat")
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "scipy" else real(name, *a)
    )
    with pytest.raises(MissingDependencyError) as caught:
        open_source(path)
    assert caught.value.hint == 'Install it with: pip install "openretina-data[mat]"'


def test_format_can_be_forced_and_unknown_names_are_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.zeros(2))
    assert probe(tmp_path / "a.npy", format="npy").format == "npy"
    with pytest.raises(UnsupportedFormatError, match="unknown format"):
        probe(tmp_path / "a.npy", format="excel")


@pytest.mark.parametrize(
    ("key", "shape", "dtype", "role", "unit"),
    [
        ("spike_times", (100,), "int64", "spike_times", "samples"),
        ("spikeTimes_ms", (100,), "float64", "spike_times", "ms"),
        ("units/spike_times", (100,), "float64", "spike_times", "s"),
        ("ttl", (5000,), "uint8", "triggers", "s"),
        ("firing_rate_10ms", (9, 300), "float64", "binned_responses", "Hz"),
        ("dff", (40, 1000), "float32", "traces", "dF/F"),
        ("frames", (300, 50, 50), "uint8", "stimulus", None),
        ("time", (300,), "float64", "timestamps", "s"),
        ("cell_type", (9,), "object", "cell_metadata", None),
        ("x", (300, 20, 20), "float32", "stimulus", None),
        ("x", (7, 2, 2, 2, 2), "float32", "unknown", None),
    ],
)
def test_role_guesses(
    key: str, shape: tuple[int, ...], dtype: str, role: str, unit: str | None
) -> None:
    guess = guess_variable(key, shape, dtype)
    assert (guess.role, guess.unit) == (role, unit)
    assert 0 < guess.confidence <= 1 and guess.reason
