"""session_info columns keep what they are: integer ids stay integers, a MATLAB column is 1-D."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from openretina_data.cli import main


@pytest.fixture()
def example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["create-example", str(tmp_path)]) == 0
    capsys.readouterr()
    return tmp_path / "recipe.yaml"


def test_cluster_ids_stay_integers_and_an_n_by_1_column_becomes_1d(example: Path) -> None:
    # the example keeps the 'good' clusters of cluster_group.tsv; read them here by hand
    phy = example.parent / "raw" / "session_01" / "phy"
    rows = [line.split("\t") for line in (phy / "cluster_group.tsv").read_text().splitlines()[1:]]
    good = [int(c) for c, g in rows if g.strip() == "good"]
    for session in ("session_01", "session_02"):
        column = np.arange(len(good), dtype=np.float64).reshape(-1, 1) * 10.0  # MATLAB-style
        np.save(example.parent / "raw" / session / "depth_column.npy", column)
    data = yaml.safe_load(example.read_text())
    data["sessions"][0]["session_info"] += [
        {"name": "cluster_id", "path": "raw/{session}/phy/cluster_info.tsv", "key": "cluster_id"},
        {"name": "depth_column", "path": "raw/{session}/depth_column.npy"},
    ]
    example.write_text(yaml.safe_dump(data))
    assert main(["convert", "--quiet", str(example)]) == 0
    with h5py.File(example.parent / "dataset" / "session_01.hdf5") as f:
        ids = f["session_info/cluster_id"][()]
        depth = f["session_info/depth_column"][()]
    assert ids.dtype.kind == "i" and ids.tolist() == good
    assert depth.shape == (len(good),) and depth.tolist() == [10.0 * i for i in range(len(good))]
