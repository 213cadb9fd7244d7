"""The conversion commands: create-example, plan, convert, recipe, export-config."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml

from openretina_data.cli import main
from openretina_data.cli._progress import ProgressPrinter
from openretina_data.recipe import load_recipe, loads_recipe, to_dict


@pytest.fixture()
def example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["create-example", str(tmp_path)]) == 0
    assert "recipe.yaml" in capsys.readouterr().out
    return tmp_path / "recipe.yaml"


def test_plan_prints_the_table_and_exits_zero(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", str(example)]) == 0
    out = capsys.readouterr().out
    assert "session_01" in out and "150x3" in out and "dropped frame" in out


def test_plan_json(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(example), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True and len(data["sessions"]) == 2
    assert data["problems"][0]["severity"] == "warning"


def test_plan_with_errors_exits_one(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = example.read_text().replace("path: stimuli/natural.tif", "path: stimuli/missing.tif")
    example.write_text(text)
    assert main(["plan", str(example)]) == 1
    assert "missing.tif" in capsys.readouterr().out


def test_bad_recipe_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("openretina_data_recipe: 1\noutput: x\nframe_rat: 3\n")
    assert main(["plan", str(path)]) == 1
    assert "line 3" in capsys.readouterr().err


def test_convert_dry_run_writes_nothing(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(example), "--dry-run"]) == 0
    assert not (example.parent / "dataset").exists()


def test_convert_then_recipe_then_export_config(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["convert", str(example)]) == 0
    out, err = capsys.readouterr()
    assert "wrote" in out and "100.0%" in err  # plain progress lines when not a terminal
    dataset = example.parent / "dataset"
    assert main(["convert", str(example)]) == 1  # exists: needs --overwrite
    assert "--overwrite" in capsys.readouterr().err
    assert main(["convert", str(example), "--overwrite", "--quiet", "--jobs", "2"]) == 0
    capsys.readouterr()

    assert main(["recipe", str(dataset)]) == 0
    printed = capsys.readouterr().out
    assert to_dict(loads_recipe(printed)) == to_dict(load_recipe(example))

    config_path = example.parent / "data_io.yaml"
    assert main(["export-config", str(dataset), "-o", str(config_path)]) == 0
    config = yaml.safe_load(config_path.read_text())
    assert config["test_names"] == ["test_clip"]
    assert (config["color_channels"], config["video_height"], config["video_width"]) == (1, 18, 16)
    card = json.loads((dataset / "openretina_data.json").read_text())
    assert config["stimuli"]["norm_mean"] == card["norm_mean"]
    assert config["stimuli"]["_target_"] == "openretina.data_io.h5_dataset_reader.load_stimuli"
    assert config["responses"]["base_data_path"] == str(dataset.resolve())


@pytest.mark.interop
def test_exported_config_loads_in_openretina(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from openretina.data_io.base_dataloader import multiple_movies_dataloaders
    from openretina.data_io.h5_dataset_reader import load_responses, load_stimuli

    assert main(["convert", str(example), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["export-config", str(example.parent / "dataset")]) == 0
    config = yaml.safe_load(capsys.readouterr().out)
    size = [config["color_channels"], config["video_height"], config["video_width"]]
    stimuli_args = {k: v for k, v in config["stimuli"].items() if not k.startswith("_")}
    stimuli_args.update(test_names=config["test_names"], stimulus_size=size)
    stimuli = load_stimuli(**stimuli_args)
    responses = load_responses(config["responses"]["base_data_path"], config["test_names"])
    assert sorted(stimuli) == sorted(responses) == ["session_01", "session_02"]
    assert abs(float(stimuli["session_01"].train.mean())) < 0.1  # normalised with the card's stats
    assert main(["export-config", str(example.parent / "dataset"), "--dataloader"]) == 0
    dataloader = yaml.safe_load(capsys.readouterr().out)
    assert (
        dataloader["_target_"] == "openretina.data_io.base_dataloader.multiple_movies_dataloaders"
    )
    assert dataloader["num_val_clips"] == 2  # the example recipe's loader section, via the card
    loaders = multiple_movies_dataloaders(
        responses, stimuli, **{k: v for k, v in dataloader.items() if not k.startswith("_")}
    )
    inputs, targets = next(iter(loaders["train"]["session_01"]))
    assert inputs.shape[:3] == (dataloader["batch_size"], 1, dataloader["train_chunk_size"])


def test_convert_one_session_then_append(example: Path) -> None:
    assert main(["convert", str(example), "--session", "session_02", "--quiet"]) == 0
    dataset = example.parent / "dataset"
    assert [p.name for p in dataset.glob("*.hdf5")] == ["session_02.hdf5"]
    assert main(["convert", str(example), "--append", "--quiet", "--json"]) == 0
    assert sorted(p.name for p in dataset.glob("*.hdf5")) == ["session_01.hdf5", "session_02.hdf5"]


def test_convert_usage_errors(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(example), str(example)]) == 2
    assert main(["convert", "--preset", "maheswaranathan_2023", str(example)]) == 2
    capsys.readouterr()
    with pytest.raises(SystemExit) as stopped:
        main(["convert", str(example), "--jobs", "0"])
    assert stopped.value.code == 2
    assert "argument --jobs: 0 is too small" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        main(["convert", "--preset", "nope", str(example.parent), str(example.parent / "o")])
    assert stopped.value.code == 2
    assert "'nope'" in (err := capsys.readouterr().err) and "maheswaranathan_2023" in err


def test_create_example_into_a_file_or_an_unwritable_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "README.md"
    a_file.write_text("notes")
    assert main(["create-example", str(a_file)]) == 1
    assert "the example's folder is a file" in capsys.readouterr().err
    assert main(["create-example", str(a_file / "demo")]) == 1
    err = capsys.readouterr().err
    assert "cannot create the example's folder" in err and "hint:" in err
    assert a_file.read_text() == "notes"


@pytest.mark.parametrize("command", ["recipe", "export-config"])
def test_a_missing_dataset_folder_gets_a_hint_about_dataset_folders(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "the one holding stimuli/" in err
    assert "recipe's folder" not in err


def test_plan_names_the_stimuli_whose_frame_sizes_differ(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = yaml.safe_load(example.read_text())
    assert recipe["stimuli"][1]["axes"] == "twh"
    recipe["stimuli"][1]["axes"] = "thw"  # the test clip read with height and width swapped
    example.write_text(yaml.safe_dump(recipe))
    assert main(["plan", str(example)]) == 1
    printed = capsys.readouterr()
    err = printed.out + printed.err
    names = [s["name"] for s in recipe["stimuli"]]
    assert "frame size" in err and all(repr(name) in err for name in names), err
    assert "test_clip.npy" in err and "`axes`" in err


def test_recipe_of_a_dataset_without_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "d").mkdir()
    assert main(["recipe", str(tmp_path / "d")]) == 1
    assert "no recipe" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command", ["plan", "convert", "recipe", "export-config", "create-example"]
)
def test_every_command_has_a_complete_help(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "examples:" in text and "exit codes" in text


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_printer_draws_a_bar_on_a_terminal_and_lines_otherwise() -> None:
    terminal = _Terminal()
    printer = ProgressPrinter(terminal)
    printer.update("stimulus", 5, 10, "half")
    printer.update("session", 10, 10, "done")
    printer.close()
    assert "\r[" in terminal.getvalue() and "100.0%" in terminal.getvalue()
    log = io.StringIO()
    plain = ProgressPrinter(log)
    for done in range(101):
        plain.update("session", done, 100, "x")
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and 10 <= len(lines) <= 12


def test_convert_a_preset_archive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from openretina_data.testing.maheswaranathan import write_maheswaranathan_archive

    archive = tmp_path / "archive"
    write_maheswaranathan_archive(archive)
    out = tmp_path / "out"
    assert main(["convert", "--preset", "maheswaranathan_2023", str(archive), str(out)]) == 0
    assert "100.0%" in capsys.readouterr().err
    assert any(out.glob("*.hdf5")) and (out / "openretina_data.json").exists()


def test_convert_help_lists_the_presets(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["convert", "--help"])
    assert "maheswaranathan_2023" in capsys.readouterr().out
