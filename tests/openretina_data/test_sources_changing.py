"""A source rewritten or truncated while it is being converted: a clear error, nothing written."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from openretina_data.convert import convert
from openretina_data.convert_io import NpyFileArray
from openretina_data.errors import UnreadableSourceError
from openretina_data.testing.recipes import binned_recording


def test_a_truncated_npy_is_named_before_it_is_mapped(tmp_path: Path) -> None:
    path = tmp_path / "a.npy"
    np.save(path, np.arange(1000, dtype=np.float32))
    array = NpyFileArray(path)
    assert array[10:12].tolist() == [10.0, 11.0]
    with path.open("r+b") as handle:
        handle.truncate(os.path.getsize(path) // 2)
    with pytest.raises(UnreadableSourceError, match="changed while it was being converted"):
        array[900:901]


def test_a_source_truncated_during_convert_stops_it_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import openretina_data.convert as convert_module

    monkeypatch.setattr(convert_module, "RESPONSE_SLAB_FRAMES", 10)  # many slabs per session
    recipe = binned_recording(tmp_path, n_sessions=1)
    source = tmp_path / "raw" / "s0.npy"
    truncated = False
    with pytest.raises(UnreadableSourceError, match="changed while") as raised:
        for step in convert(recipe):
            if step.message.startswith("s0:") and not truncated:  # s0 is half read
                with source.open("r+b") as handle:
                    handle.truncate(os.path.getsize(source) - 64)
                truncated = True
    assert truncated
    assert raised.value.path is not None and raised.value.path.endswith("s0.npy")
    assert not (tmp_path / "dataset").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".dataset")]
