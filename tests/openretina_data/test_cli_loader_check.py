"""``openretina-data loader-check`` and the ``loader_summary`` function behind it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from openretina_data.cli import main
from openretina_data.errors import LayoutError, ShapeError
from openretina_data.example import create_example, example_recipe
from openretina_data.loader_summary import (
    DEFAULTS,
    iter_loader_summary,
    loader_settings,
    loader_summary,
)
from openretina_data.recipe import Loader

FRAMES, CLIP, CHUNK, BATCH, VAL = 3000, 90, 50, 16, 10


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("loader") / "data"
    code = main(
        [
            "create-data", str(folder), "--num-colors", "1", "--num-stimuli", "3",
            "--num-sessions", "2", "--frames", str(FRAMES), "--height", "8", "--width", "6",
        ]
    )  # fmt: skip
    assert code == 0
    return folder


def options() -> list[str]:
    return [
        "--batch-size", str(BATCH), "--chunk-size", str(CHUNK),
        "--clip-length", str(CLIP), "--num-val-clips", str(VAL),
    ]  # fmt: skip


def test_loader_check_reports_every_split_of_every_session(dataset: Path, capsys) -> None:
    assert main(["loader-check", str(dataset), *options(), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["sessions"] == ["session_0", "session_1"]
    assert summary["test_names"] == ["random_noise_2"]  # from the dataset card
    train_frames = (2 * FRAMES // CLIP - VAL) * CLIP
    expected_batches = -(-train_frames // CHUNK) // BATCH
    for session in summary["sessions"]:
        train = summary["splits"]["train"][session]
        assert train["batches"] == expected_batches and train["samples"] == expected_batches * BATCH
        assert train["inputs"][:3] == [BATCH, 1, CHUNK] and train["targets"][:2] == [BATCH, CHUNK]
        assert summary["splits"]["validation"][session]["samples"] == VAL
        assert summary["splits"]["random_noise_2"][session]["inputs"][2] == FRAMES
    assert summary["first_batch_s"] > 0 and summary["train_samples_per_s"] > 0
    assert summary["peak_anon_mib"] > 0 and summary["peak_rss_mib"] >= summary["peak_anon_mib"]


def test_loader_check_prints_a_readable_table(dataset: Path, capsys) -> None:
    assert main(["loader-check", str(dataset), *options()]) == 0
    text = capsys.readouterr().out
    assert "first training batch after" in text and "samples/s" in text
    assert "peak memory" in text and "validation" in text and "session_1" in text


def test_loader_check_explains_a_batch_larger_than_the_training_split(
    dataset: Path, capsys
) -> None:
    assert main(["loader-check", str(dataset), "--batch-size", "4096"]) == 1
    err = capsys.readouterr().err
    assert "0 batches" in err and "hint:" in err and "Traceback" not in err


def test_loader_check_of_a_missing_folder_is_a_usage_error(tmp_path: Path, capsys) -> None:
    assert main(["loader-check", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_loader_check_help_has_an_example(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["loader-check", "--help"])
    assert "openretina-data loader-check my_dataset" in capsys.readouterr().out


def test_loader_summary_takes_explicit_test_names(dataset: Path) -> None:
    summary = loader_summary(
        dataset,
        test_names=["random_noise_1"],
        batch_size=BATCH,
        train_chunk_size=CHUNK,
        clip_length=CLIP,
        num_val_clips=VAL,
    )
    assert "random_noise_1" in summary["splits"] and "random_noise_2" not in summary["splits"]


def test_loader_summary_names_an_unreadable_stimulus(tmp_path: Path) -> None:
    (tmp_path / "stimuli").mkdir()
    broken = tmp_path / "stimuli" / "a.npy"
    broken.write_bytes(b"not a numpy file")
    with pytest.raises(LayoutError, match="frame size") as caught:
        loader_summary(tmp_path, test_names=["a"])
    assert caught.value.path == str(broken) and "check" in caught.value.hint


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--batch-size", "0", "at least 1"),
        ("--clip-length", "0", "at least 1"),
        ("--chunk-size", "-3", "at least 1"),
        ("--num-val-clips", "0", "at least 1"),
        ("--num-workers", "-1", "at least 0"),
        ("--batch-size", "many", "not a whole number"),
    ],
)
def test_a_bad_number_is_a_usage_error_naming_the_flag(
    dataset: Path, capsys, flag: str, value: str, says: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["loader-check", str(dataset), flag, value])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert f"argument {flag}" in error and says in error and "Traceback" not in error


def test_loader_settings_come_from_the_card_unless_given(tmp_path: Path, capsys) -> None:
    recipe = create_example(tmp_path)
    assert main(["convert", str(recipe)]) == 0
    dataset, fitted = tmp_path / "dataset", example_recipe(tmp_path).loader
    capsys.readouterr()
    assert main(["loader-check", str(dataset), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["params"] == dataclasses.asdict(fitted) and fitted.num_val_clips == 2
    assert summary["params_from"] == "the dataset card"
    assert summary["splits"]["validation"]["session_01"]["samples"] == fitted.num_val_clips
    assert main(["loader-check", str(dataset), "--batch-size", "4", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["params"] == {**dataclasses.asdict(fitted), "batch_size": 4}
    assert summary["params_from"] == "the dataset card and the options given"


def test_a_card_without_loader_settings_uses_the_data_io_example_values(dataset: Path) -> None:
    settings, source = loader_settings(dataset)
    assert settings == DEFAULTS and source == "the defaults"


def test_the_summary_generator_reports_each_batch_and_stops_when_closed(dataset: Path) -> None:
    steps = iter_loader_summary(dataset, batch_size=BATCH, num_val_clips=VAL)
    first = next(steps)
    assert first.startswith("train session_0: 1 batches")
    steps.close()  # a cancel: nothing raised, the memory sampler thread stopped
    lines = []
    steps = iter_loader_summary(dataset, batch_size=BATCH, num_val_clips=VAL)
    while True:
        try:
            lines.append(next(steps))
        except StopIteration as done:
            summary = done.value
            break
    total = sum(e["batches"] for by in summary["splits"].values() for e in by.values())
    assert len(lines) == total and summary["params"]["batch_size"] == BATCH


@pytest.mark.parametrize("frames", [30, 150, 700])
def test_settings_fitted_to_the_training_frames_build_working_loaders(
    tmp_path: Path, frames: int
) -> None:
    folder = tmp_path / "data"
    code = main(
        [
            "create-data", str(folder), "--num-stimuli", "3", "--num-sessions", "1",
            "--frames", str(frames), "--height", "4", "--width", "4",
        ]
    )  # fmt: skip
    assert code == 0
    train_frames = 2 * frames  # three stimuli, one of them the test stimulus
    fitted = Loader().fitted(train_frames)
    assert fitted.problems(train_frames) == []
    summary = loader_summary(folder, **dataclasses.asdict(fitted))
    assert summary["splits"]["train"]["session_0"]["batches"] >= 1
    unfit = dataclasses.replace(fitted, batch_size=10 * fitted.batch_size)
    assert unfit.problems(train_frames)
    with pytest.raises(ShapeError, match="fewer than one batch"):
        loader_summary(folder, **dataclasses.asdict(unfit))
