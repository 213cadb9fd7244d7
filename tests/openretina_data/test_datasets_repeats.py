"""The unit of ``test_by_trial_<stim>`` written by the train/test-file presets.

The Maheswaranathan archive's per-cell test repeats are spike counts per 10 ms bin while
its responses are smoothed rates in Hz; the dataset must say so, not mix them silently.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from openretina_data.datasets import get_preset
from openretina_data.layout import check, read_card
from openretina_data.testing.goldin import write_goldin_archive
from openretina_data.testing.maheswaranathan import BIN_SECONDS, write_maheswaranathan_archive

SESSIONS = ("s1", "s2")
TEST_KEY = "test_by_trial_naturalscene_test"


def _convert(tmp_path: Path, **archive_options: object) -> Path:
    archive = write_maheswaranathan_archive(
        tmp_path / "archive", sessions=SESSIONS, n_cells=(4, 3), **archive_options
    )
    out = tmp_path / "out"
    list(get_preset("maheswaranathan_2023").convert(archive, out))
    assert check(out).ok, check(out).to_text()
    return out


def _units(out: Path) -> object:
    card = read_card(out)
    assert card is not None
    return card.extra.get("units")


def test_per_cell_repeats_are_recorded_as_spike_counts_per_bin(tmp_path: Path) -> None:
    out = _convert(tmp_path, repeats_layout="by_cell")
    assert _units(out) == {"responses": "Hz", "test_by_trial": "spikes/bin (10 ms)"}
    for session in SESSIONS:
        with h5py.File(out / f"{session}.hdf5") as f:
            assert f[TEST_KEY].attrs["unit"] == "spikes/bin (10 ms)"
            counts = f[TEST_KEY][()]
            rates = f["responses_naturalscene_test"][()]
        # counts per bin over the bin width is a rate in the responses' unit (Hz); the
        # responses are smoothed, so compare per-cell averages over the whole test movie
        np.testing.assert_allclose(
            counts.mean(axis=(0, 2)) / BIN_SECONDS, rates.mean(axis=1), rtol=0.1
        )
        assert np.allclose(counts, np.round(counts))  # spike counts, stored as they are


def test_repeats_stored_per_response_type_are_in_hz_like_the_responses(tmp_path: Path) -> None:
    out = _convert(tmp_path, repeats_layout="by_response_type")
    assert _units(out) == {"responses": "Hz", "test_by_trial": "Hz"}
    for session in SESSIONS:
        with h5py.File(out / f"{session}.hdf5") as f:
            assert f[TEST_KEY].attrs["unit"] == "Hz"
            np.testing.assert_allclose(
                f[TEST_KEY][()].mean(axis=0), f["responses_naturalscene_test"][()], rtol=1e-5
            )


def test_per_cell_repeats_that_do_not_average_to_the_binned_counts_have_unknown_unit(
    tmp_path: Path,
) -> None:
    archive = write_maheswaranathan_archive(
        tmp_path / "archive", sessions=SESSIONS, n_cells=(4, 3), repeats_layout="by_cell"
    )
    with h5py.File(archive / "ganglion_cell_data" / "s2" / "naturalscene.h5", "r+") as f:
        f["test/response/binned"][...] = f["test/response/binned"][()] + 1.0
    out = tmp_path / "out"
    list(get_preset("maheswaranathan_2023").convert(archive, out))
    assert _units(out) == {
        "responses": "Hz",
        "test_by_trial": {"s1": "spikes/bin (10 ms)", "s2": "unknown"},
    }
    with h5py.File(out / "s2.hdf5") as f:
        assert f[TEST_KEY].attrs["unit"] == "unknown"


def test_repeats_without_a_unit_of_their_own_take_the_responses_unit(tmp_path: Path) -> None:
    archive = write_goldin_archive(tmp_path / "archive")
    out = tmp_path / "out"
    list(get_preset("goldin_2022_mouse").convert(archive, out))
    card = read_card(out)
    assert card is not None
    units = card.extra["units"]
    assert units == {"responses": card.response_unit, "test_by_trial": card.response_unit}
    session_files = sorted(out.glob("*.hdf5"))
    assert session_files
    for path in session_files:
        with h5py.File(path) as f:
            keys = [k for k in f if k.startswith("test_by_trial_")]
            assert keys
            for key in keys:
                assert f[key].attrs["unit"] == card.response_unit
