"""Damaged files give our error (or, if the damage hits only pixel values, data) — never a raw one.

Bytes are flipped, cut and zeroed at seeded random places. Formats parsed by libhdf5 or
scipy's C MAT reader are left out: those libraries can hang or crash on some damaged
files (HDFGroup/hdf5#1707, scipy's loadmat docstring), which no Python code can catch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from openretina_data.errors import OpenRetinaDataError
from openretina_data.sources import open_source
from openretina_data.testing import formats

WRITERS: dict[str, Callable[[Path], tuple[Path, dict[str, np.ndarray]]]] = {
    "npy": lambda d: formats.write_npy(d / "r.npy"),
    "npz": lambda d: formats.write_npz(d / "r.npz"),
    "npz-compressed": lambda d: formats.write_npz(d / "r.npz", compressed=True),
    "tiff": lambda d: formats.write_tiff(d / "r.tif", imagej=True, compress=True),
    "video": lambda d: formats.write_video(d / "r.avi"),
    "table": lambda d: formats.write_table(d / "r.csv"),
}


def _damage(raw: bytes, rng: np.random.Generator, how: int) -> bytes:
    data = bytearray(raw)
    if how == 0:
        for i in rng.integers(0, len(data), 8):
            data[i] ^= 0xFF
    elif how == 1:
        data = data[: int(rng.integers(1, len(data)))]
    else:
        start = int(rng.integers(0, len(data)))
        data[start : start + 64] = bytes(len(data[start : start + 64]))
    return bytes(data)


@pytest.mark.parametrize("name", list(WRITERS))
def test_damaged_file_gives_our_error_or_data(
    name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL)
    source, _ = WRITERS[name](tmp_path)
    raw = source.read_bytes()
    rng = np.random.default_rng(7)
    outcomes = {"error": 0, "read": 0}
    for trial in range(24):
        damaged = tmp_path / f"damaged{source.suffix}"
        damaged.write_bytes(_damage(raw, rng, trial % 3))
        try:
            with open_source(damaged) as reader:
                for variable in reader.probe().variables:
                    np.asarray(reader.array(variable.key))
            outcomes["read"] += 1
        except OpenRetinaDataError:
            outcomes["error"] += 1
    assert outcomes["error"] > 0  # the damage was seen at least once
