"""plan(): every problem listed at once, with numbers and hints, before anything is written."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from openretina_data.convert import run
from openretina_data.example import DROPPED_FRAME, create_example
from openretina_data.plan import plan
from openretina_data.recipe import Epoch, Loader, load_recipe
from openretina_data.testing.recipes import binned_recording


def test_example_plan_is_ok_and_reports_the_dropped_frame(tmp_path: Path) -> None:
    recipe = load_recipe(create_example(tmp_path))
    result = plan(recipe)
    assert result.ok, result.summary()
    assert [s.name for s in result.sessions] == ["session_01", "session_02"]
    assert {s.neurons for s in result.sessions} == {9}
    assert result.sessions[0].stimuli == {"natural": 1, "test_clip": 3}
    dropped = [p for p in result.warnings if "dropped" in p.message]
    assert len(dropped) == 1 and dropped[0].session == "session_02"
    assert str(DROPPED_FRAME) in dropped[0].message
    assert not (tmp_path / "dataset").exists()
    assert result.bytes_to_write > 0
    table = result.summary()
    assert "session_01" in table and "150x3" in table
    # timing lines name the session and the file they are about, not "responses[0]"
    assert (
        "session_01, raw/session_01/phy: frame times from trigger (raw/session_01/ttl.npy): "
        "1 050 frames" in table
    )
    assert "responses[" not in table


def test_all_problems_are_listed_at_once(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path)
    recipe.stimuli[0].axes = "thwc"  # 4 letters for a 3-D array
    recipe.stimuli[1].name = "train"  # now used twice, and a split's name for a test stimulus
    recipe.sessions[0].name = "bad/name"
    recipe.sessions[1].responses[0].path = "raw/missing.npy"
    recipe.sessions[1].responses[0].epochs.append(Epoch(stimulus="nowhere"))
    result = plan(recipe)
    messages = "\n".join(p.message for p in result.errors)
    assert "axes 'thwc'" in messages
    assert "used twice" in messages
    assert "split's name" in messages
    assert "'bad/name'" in messages
    assert "unknown stimuli ['test', 'nowhere']" in messages
    assert len(result.errors) >= 5
    assert all(p.hint for p in result.errors if "used twice" not in p.message)
    assert not (tmp_path / "dataset").exists()


def test_missing_file_is_an_error_with_its_path(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path)
    (tmp_path / "raw" / "s1.npy").unlink()
    result = plan(recipe)
    assert [p.session for p in result.errors] == ["s1"]
    assert result.errors[0].path is not None and result.errors[0].path.endswith("s1.npy")


def test_frame_count_mismatch_is_explained_with_numbers(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path, train_frames=100, test_frames=20, repeats=3)
    np.save(tmp_path / "raw" / "s0.npy", np.zeros((5, 150), np.float32))
    np.save(tmp_path / "raw" / "s1.npy", np.zeros((5, 170), np.float32))
    result = plan(recipe)
    (error,) = result.errors
    assert error.session == "s0" and "150 frames" in error.message and "need 160" in error.message
    (warning,) = result.warnings
    assert warning.session == "s1" and "10 frames more" in warning.message


def test_axes_that_do_not_fit_the_responses(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path)
    recipe.sessions[0].responses[0].axes = "ntx"
    assert any("axes" in p.message and p.session == "s0" for p in plan(recipe).errors)


def test_stimuli_of_different_frame_sizes(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path)
    np.save(tmp_path / "stimuli" / "test.npy", np.zeros((30, 8, 7), np.float32))
    messages = [p.message for p in plan(recipe).errors]
    assert any("frame size" in m and "8x7" in m and "test.npy" in m for m in messages), messages


def test_existing_output_needs_overwrite_or_append(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path)
    run(recipe)
    errors = plan(recipe).errors
    assert any("already holds a dataset written by" in p.message for p in errors)
    assert any("--overwrite" in p.hint for p in errors)
    assert plan(recipe, overwrite=True).ok


def test_a_folder_we_did_not_write_is_never_offered_for_overwrite(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path)
    (tmp_path / "dataset").mkdir()
    (tmp_path / "dataset" / "s0.hdf5").write_bytes(b"")  # a session-looking file, no card
    for overwrite in (False, True):
        errors = plan(recipe, overwrite=overwrite).errors
        assert any("did not write: 's0.hdf5'" in p.message for p in errors), errors
        assert not any("--overwrite" in p.hint for p in errors)


def test_append_to_a_missing_dataset_is_planned_as_its_creation(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path)
    assert not (tmp_path / "dataset").exists()
    assert plan(recipe, append=True).ok  # the first job of an array creates it


def test_plain_mistakes_in_settings(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path)
    recipe = dataclasses.replace(recipe, frame_rate_hz=0.0, lag_frames=-1)
    recipe.normalisation.mode = "given"
    recipe.stimuli[0].split = "test"
    messages = " | ".join(p.message for p in plan(recipe).errors)
    for expected in ("frame_rate_hz", "lag_frames", "normalisation", "no training stimulus"):
        assert expected in messages


def test_plan_handles_many_sessions(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path, n_sessions=20)
    result = plan(recipe)
    assert result.ok and len(result.sessions) == 20
    assert result.bytes_to_write == (120 + 30) * 8 * 6 * 4 + 20 * 5 * (120 + 30 * 3) * 4


def test_spike_times_in_the_wrong_unit_are_caught(tmp_path: Path) -> None:
    recipe = load_recipe(create_example(tmp_path))
    recipe.sessions[0].responses[0].unit = "s"  # they are samples at 20 kHz
    result = plan(recipe)
    problems = [p for p in result.errors if "no spike falls" in p.message]
    assert {p.session for p in problems} == {"session_01", "session_02"}
    assert "sampling_rate_hz" in problems[0].hint


def test_units_must_fit_the_response_kind(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path)
    recipe.sessions[0].responses[0].unit = "s"
    errors = plan(recipe).errors
    (error,) = [p for p in errors if "does not fit" in p.message]
    assert "'s' does not fit binned" in error.message and "spikes/bin" in error.hint
    assert error.session == "s0"


def test_session_names_must_be_unique(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path)
    recipe.sessions[1].name = "S0"
    assert any("clash" in p.message for p in plan(recipe).errors)


def test_traces_report_the_samples_outside_the_frames(tmp_path: Path) -> None:
    from openretina_data.recipe import FrameTimes, Recipe, ResponseSource, SessionSpec, StimulusSpec

    np.save(tmp_path / "traces.npy", np.zeros((3, 1000), np.float32))  # 10 s at 100 Hz
    np.save(tmp_path / "movie.npy", np.zeros((100, 4, 4), np.float32))  # 4 s at 25 Hz
    source = ResponseSource(
        path="traces.npy",
        kind="traces",
        unit="dF/F",
        sampling_rate_hz=100.0,
        epochs=[Epoch(stimulus="movie")],
        frame_times=FrameTimes(kind="rate", start_s=1.0),
    )
    recipe = Recipe(
        output="out",
        frame_rate_hz=25.0,
        stimuli=[StimulusSpec(name="movie", path="movie.npy")],
        sessions=[SessionSpec(name="a", responses=[source])],
        base_dir=tmp_path,
    )
    result = plan(recipe)
    assert result.ok
    # 1000 samples at 100 Hz; frames 1 s .. 5 s: samples 0..99 before, 500..999 after
    assert any(
        "trace samples on no frame: 100 before the first frame, 0 in pauses, 500 after" in line
        for line in result.sessions[0].timing
    )
    source.frame_times.start_s = 7.0  # frames would run to 11 s: past the end of the traces
    (error,) = plan(recipe).errors
    assert "11.000 s" in error.message and "sampling_rate_hz" in error.hint


def test_output_path_blocked_by_a_file(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path)
    (tmp_path / "blocker").write_text("a file, not a folder")
    recipe.output = "blocker/dataset"
    assert any("file stands where a folder" in p.message for p in plan(recipe).errors)
    recipe.output = "new/sub/dataset"
    result = plan(recipe)
    assert result.ok and any("will be created" in p.message for p in result.warnings)


def test_loader_settings_that_do_not_fit_the_training_frames_are_a_warning(
    tmp_path: Path,
) -> None:
    recipe = binned_recording(tmp_path, train_frames=120)
    assert not [p for p in plan(recipe).problems if p.key == "loader"]
    recipe.loader.num_val_clips = 50
    (warning,) = [p for p in plan(recipe).problems if p.key == "loader"]
    assert warning.severity == "warning" and "120 training frames" in warning.message
    recipe.loader.batch_size = 0
    (error,) = [p for p in plan(recipe).problems if p.key == "loader"]
    assert error.severity == "error" and "batch_size is 0" in error.message


def test_fitted_loader_settings_always_fit(tmp_path: Path) -> None:
    for frames in (10, 61, 120, 600, 4_999, 360_000):
        assert Loader().fitted(frames).problems(frames) == [], frames
    assert Loader().fitted(360_000) == Loader()  # never grown, only shrunk
