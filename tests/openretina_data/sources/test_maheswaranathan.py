"""The Maheswaranathan 2023 archive folder: contract, sessions, stimulus types, roles."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from openretina_data.sources import probe
from openretina_data.testing.maheswaranathan import write_maheswaranathan_archive
from openretina_data.testing.reader_suite import Arrays, ReaderContract


def _small_archive(root: Path) -> Path:
    return write_maheswaranathan_archive(
        root, sessions=("15-10-07", "15-11-21a"), n_cells=(4, 3), train_frames=30, test_frames=20
    )


class TestArchiveContract(ReaderContract):
    format_name = "maheswaranathan"

    def write(self, folder: Path) -> tuple[Path, Arrays]:
        root = _small_archive(folder / "neural_code_data")
        with h5py.File(root / "ganglion_cell_data/15-10-07/naturalscene.h5", "r") as f:
            written = {
                "15-10-07/naturalscene/train/stimulus": np.asarray(f["train/stimulus"]),
                "15-10-07/naturalscene/test/response/firing_rate_10ms": np.asarray(
                    f["test/response/firing_rate_10ms"]
                ),
            }
        return root, written

    def file_to_break(self, source: Path) -> Path:
        return source / "ganglion_cell_data/15-11-21a/whitenoise.h5"


def test_sessions_stim_types_and_roles(tmp_path: Path) -> None:
    root = _small_archive(tmp_path / "neural_code_data")
    for path in (root, root / "ganglion_cell_data"):
        info = probe(path)
        assert info.attrs["sessions"] == ["15-10-07", "15-11-21a"]
        assert info.attrs["stim_types"] == ["naturalscene", "whitenoise"]
        assert info.attrs["n_cells"] == {"15-10-07": 4, "15-11-21a": 3}
    roles = {v.key: (v.role, v.unit) for v in info.variables}
    assert roles["15-10-07/whitenoise/train/stimulus"][0] == "stimulus"
    assert roles["15-10-07/whitenoise/train/time"] == ("timestamps", "s")
    assert roles["15-10-07/whitenoise/train/response/firing_rate_5ms"] == ("binned_responses", "Hz")
    assert roles["15-10-07/whitenoise/test/repeats/cell01"][0] == "binned_responses"


def test_one_session_folder_is_an_archive_of_one(tmp_path: Path) -> None:
    root = _small_archive(tmp_path / "neural_code_data")
    assert probe(root / "ganglion_cell_data/15-11-21a").attrs["sessions"] == ["15-11-21a"]
