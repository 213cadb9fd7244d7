"""Response readers: suite2p cell filtering, trigger channels located in their errors."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from openretina_data.convert import run
from openretina_data.errors import ShapeError
from openretina_data.plan import plan
from openretina_data.recipe import (
    Epoch,
    FrameTimes,
    InfoSource,
    Recipe,
    ResponseSource,
    SessionSpec,
    StimulusSpec,
)
from openretina_data.responses_io import frame_times_for
from openretina_data.testing.formats import write_suite2p


def _suite2p_recipe(tmp_path: Path, unit_filter: list[str]) -> tuple[Recipe, dict[str, np.ndarray]]:
    plane, arrays = write_suite2p(tmp_path / "suite2p" / "plane0")  # 60 samples at 7.5 Hz
    np.save(tmp_path / "movie.npy", np.zeros((20, 3, 3), np.float32))  # 8 s at 2.5 Hz
    source = ResponseSource(
        path="suite2p/plane0",
        key="F",
        kind="traces",
        unit="a.u.",
        sampling_rate_hz=7.5,
        unit_filter=unit_filter,
        epochs=[Epoch(stimulus="movie")],
        frame_times=FrameTimes(kind="rate"),
    )
    recipe = Recipe(
        output="out",
        frame_rate_hz=2.5,
        stimuli=[StimulusSpec(name="movie", path="movie.npy")],
        sessions=[SessionSpec(name="a", responses=[source])],
        base_dir=tmp_path,
    )
    recipe.binning.trace_method = "linear"
    return recipe, arrays


def test_suite2p_unit_filter_keeps_only_the_rois_classified_as_cells(tmp_path: Path) -> None:
    recipe, arrays = _suite2p_recipe(tmp_path, ["cell"])
    cells = np.flatnonzero(arrays["iscell"][:, 0] == 1)
    assert 0 < cells.size < arrays["F"].shape[0]
    assert plan(recipe).sessions[0].neurons == cells.size
    run(recipe)
    centres = (np.arange(20) + 0.5) / 2.5
    samples = np.arange(60) / 7.5
    expected = np.stack([np.interp(centres, samples, arrays["F"][i]) for i in cells])
    with h5py.File(tmp_path / "out" / "a.hdf5") as f:
        np.testing.assert_allclose(f["responses_movie"][()], expected, rtol=1e-5)


def test_per_roi_session_info_follows_the_kept_cells(tmp_path: Path) -> None:
    recipe, arrays = _suite2p_recipe(tmp_path, ["cell"])
    cells = np.flatnonzero(arrays["iscell"][:, 0] == 1)
    np.save(tmp_path / "depth.npy", np.arange(arrays["F"].shape[0]) * 10.0)  # one per ROI
    np.save(tmp_path / "short.npy", np.zeros(int(cells.max())))  # misses the last kept ROI
    session = recipe.sessions[0]
    session.session_info = [InfoSource(name="depth_um", path="depth.npy")]
    run(recipe)
    with h5py.File(tmp_path / "out" / "a.hdf5") as f:
        np.testing.assert_array_equal(f["session_info/depth_um"][()], cells * 10.0)
    session.session_info = [InfoSource(name="depth_um", path="short.npy")]
    assert any("kept row" in p.message for p in plan(recipe, overwrite=True).errors)


def test_unit_filter_on_traces_without_cell_labels_is_a_plan_error(tmp_path: Path) -> None:
    recipe, _ = _suite2p_recipe(tmp_path, ["good"])  # Phy's word, not suite2p's
    assert any("cell or not_cell" in p.message for p in plan(recipe).errors)
    (tmp_path / "suite2p" / "plane0" / "iscell.npy").unlink()
    recipe.sessions[0].responses[0].unit_filter = ["cell"]
    errors = plan(recipe).errors
    assert any(p.key == "unit_filter" and "iscell" in p.hint for p in errors)


def test_a_trigger_channel_error_names_its_file(tmp_path: Path) -> None:
    np.save(tmp_path / "ttl.npy", np.zeros((100, 2), np.float32))  # two channels
    recipe = Recipe(output="out", frame_rate_hz=30.0, stimuli=[], sessions=[], base_dir=tmp_path)
    spec = FrameTimes(kind="trigger", path="ttl.npy", sampling_rate_hz=1000.0)
    source = ResponseSource(
        path="p", kind="spike_times", unit="s", epochs=[Epoch("m")], frame_times=spec
    )
    with pytest.raises(ShapeError, match="1-D") as raised:
        frame_times_for(source, recipe, {"m": 10}, session="a")
    assert raised.value.path == str(tmp_path / "ttl.npy") and raised.value.session == "a"
