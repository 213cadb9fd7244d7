"""The timing report travels: plan, convert (text and --json), the card, session attrs, check.

And what the recipe path refuses: wrong rates, wrong timestamp units, broken spikes.
The example's session_02 has no trigger pulse for frame DROPPED_FRAME (written so by
``create_example``, which draws the TTL channel pulse by pulse).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from openretina_data.cli import main
from openretina_data.example import DROPPED_FRAME
from openretina_data.plan import plan
from openretina_data.recipe import load_recipe


@pytest.fixture()
def example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["create-example", str(tmp_path)]) == 0
    capsys.readouterr()
    return tmp_path / "recipe.yaml"


def _edit(recipe: Path, **frame_times: object) -> None:
    data = yaml.safe_load(recipe.read_text())
    data["sessions"][0]["responses"][0]["frame_times"].update(frame_times)
    recipe.write_text(yaml.safe_dump(data))


def test_convert_prints_the_timing_report_and_check_reads_it_back(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["convert", str(example)]) == 0
    out = capsys.readouterr().out
    assert f"session_02: interpolated frame {DROPPED_FRAME} at" in out
    assert "session_02: warning: 1 dropped frame(s) had no frame time" in out
    dataset = example.parent / "dataset"
    card = json.loads((dataset / "openretina_data.json").read_text())
    (report,) = card["timing"]["session_02"]
    assert (
        report["n_interpolated"] == 1 and report["interpolated_frames"][0]["frame"] == DROPPED_FRAME
    )
    assert report["fill_dropped"] == "auto" and report["frames"] == 600 + 3 * 150
    with h5py.File(dataset / "session_02.hdf5") as f:
        assert json.loads(f.attrs["timing_report_0"]) == {
            k: v for k, v in report.items() if k != "response"
        }
    assert main(["check", str(dataset)]) == 0
    out = capsys.readouterr().out
    assert "timing-warning" in out and f"frame {DROPPED_FRAME}" in out
    assert main(["check", "--strict", str(dataset)]) == 1
    assert "ERROR   timing-warning" in capsys.readouterr().out


def test_convert_json_carries_the_timing_and_its_warnings(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["convert", "--json", str(example)]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(result["timing"]) == {"session_01", "session_02"}
    assert result["warnings"] == [
        f"session_02: 1 dropped frame(s) had no frame time: frame {DROPPED_FRAME}, its time "
        "interpolated"
    ]


def test_a_trigger_rate_ten_times_off_is_an_error_naming_the_right_rate(example: Path) -> None:
    _edit(example, sampling_rate_hz=20_000.0)  # the example's channel is sampled at 2 kHz
    errors = plan(load_recipe(example)).errors
    (error,) = [e for e in errors if e.session == "session_01"]
    # edges at 2 kHz read as 20 kHz: frames 10x too fast, 299 Hz instead of 30
    assert "frame_rate_hz is 30 Hz" in error.message and "10" in error.message
    assert "sampling_rate_hz (20000 Hz) is probably wrong: with 2000 Hz" in error.message


def test_timestamps_in_ms_declared_as_seconds_are_an_error(tmp_path: Path, example: Path) -> None:
    onsets_ms = 1000 * (2.0 + np.arange(1050) / 30.0)
    np.save(tmp_path / "frames_ms.npy", onsets_ms)
    _edit(example, kind="timestamps", path=str(tmp_path / "frames_ms.npy"), unit="s")
    errors = [e for e in plan(load_recipe(example)).errors if e.session == "session_01"]
    assert any("probably in ms, not s" in e.message for e in errors), errors
    _edit(example, unit="ms")
    assert not [e for e in plan(load_recipe(example)).errors if e.session == "session_01"]


def test_rate_tolerance_null_accepts_the_measured_rate(example: Path) -> None:
    data = yaml.safe_load(example.read_text())
    data["frame_rate_hz"] = 25.0  # the display really ran at 30 Hz
    example.write_text(yaml.safe_dump(data))
    messages = [e.message for e in plan(load_recipe(example)).errors]
    pattern = r"give 30(\.\d+)? Hz frames but frame_rate_hz is 25 Hz"
    assert any(re.search(pattern, m) for m in messages), messages
    for source in data["sessions"]:
        source["responses"][0]["frame_times"]["rate_tolerance"] = None
    example.write_text(yaml.safe_dump(data))
    assert plan(load_recipe(example)).ok


def _responses(dataset: Path, session: str) -> dict[str, np.ndarray]:
    with h5py.File(dataset / f"{session}.hdf5") as f:
        return {k: f[k][()] for k in f if k.startswith(("responses_", "test_by_trial_"))}


def test_shuffled_spikes_give_the_same_dataset(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["convert", str(example)]) == 0
    before = _responses(example.parent / "dataset", "session_01")
    phy = example.parent / "raw" / "session_01" / "phy"
    times, clusters = np.load(phy / "spike_times.npy"), np.load(phy / "spike_clusters.npy")
    order = np.random.default_rng(0).permutation(times.shape[0])
    np.save(phy / "spike_times.npy", times[order])
    np.save(phy / "spike_clusters.npy", clusters[order])
    assert main(["convert", "--overwrite", str(example)]) == 0
    assert "not in time order" in capsys.readouterr().out
    after = _responses(example.parent / "dataset", "session_01")
    assert before.keys() == after.keys()
    for key in before:
        np.testing.assert_array_equal(before[key], after[key])
    assert sum(float(a.sum()) for k, a in after.items() if k.startswith("responses_")) > 0


@pytest.mark.parametrize(
    ("file", "value", "what"),
    [
        ("spike_clusters.npy", np.nan, "spike_clusters.npy: spike 3 is not a whole number"),
        ("spike_times.npy", np.nan, "spike_times.npy: spike 3 is NaN or infinite"),
        ("spike_times.npy", -5.0, "spike_times.npy: spike 3 is negative"),
    ],
)
def test_broken_spikes_are_errors_naming_file_and_session(
    example: Path, file: str, value: float, what: str
) -> None:
    phy = example.parent / "raw" / "session_02" / "phy"
    array = np.load(phy / file).astype(np.float64)
    array.reshape(-1)[3] = value
    np.save(phy / file, array)
    errors = plan(load_recipe(example)).errors
    (error,) = errors
    assert what in error.message and error.session == "session_02"
    assert error.path is not None and error.path.endswith(file)


def test_mixed_units_say_which_sessions_and_what_to_do(tmp_path: Path) -> None:
    from openretina_data.testing.recipes import binned_recording

    recipe = binned_recording(tmp_path)
    recipe.sessions[1].responses[0].unit = "dF/F"
    (error,) = [e for e in plan(recipe).errors if "response units" in e.message]
    assert f"dF/F: {recipe.sessions[1].name}" in error.message
    assert "second recipe" in error.hint


def test_a_ringing_trigger_channel_is_an_error_not_two_percent_of_the_spikes(example: Path) -> None:
    # every 5 ms pulse of the example's 2 kHz channel rings: 30 extra edges 0.5 ms apart
    ttl = example.parent / "raw" / "session_01" / "ttl.npy"
    channel = np.load(ttl)
    high = channel > 2.5
    rising = np.flatnonzero(~high[:-1] & high[1:]) + 1
    ringing = channel.copy()
    for edge in rising:
        ringing[edge + 1 : edge + 9 : 2] = 0.0  # 4 drops inside each 10-sample pulse
    np.save(ttl, ringing)
    errors = [e for e in plan(load_recipe(example)).errors if e.session == "session_01"]
    (error,) = errors
    assert "duplicate triggers" in error.message
    assert "drop_duplicates" in error.hint and "debounce_s" in error.hint
    _edit(example, drop_duplicates=True)
    result = plan(load_recipe(example))
    assert result.ok, result.summary()
    (report,) = result.sessions[0].reports
    assert report.duplicates_dropped == 4 * 1050 and report.n_interpolated == 0
