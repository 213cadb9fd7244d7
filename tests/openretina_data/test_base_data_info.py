"""openretina's ``data_info`` from the dataset card: in the card, and in export-config's output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from openretina_data._card_data_info import card_data_info
from openretina_data.cli import main
from openretina_data.example import FRAME_RATE_HZ
from openretina_data.layout.card import DatasetCard


def test_rates_are_the_median_measured_frame_rate_as_numbers() -> None:
    card = DatasetCard(
        frame_rate_hz=30.0,
        extra={
            "timing": {
                "s0": [{"measured_rate_hz": 29.97}],
                "s1": [{"measured_rate_hz": 29.99}, {"measured_rate_hz": 30.05}],
            }
        },
    )
    info = card_data_info(card)
    assert info == {"response_rate_hz": 29.99, "stimulus_rate_hz": 29.99}
    assert isinstance(info["response_rate_hz"], float)


def test_a_fixed_rate_is_the_declared_one_and_an_unknown_rate_is_none() -> None:
    assert card_data_info(DatasetCard(frame_rate_hz=85))["stimulus_rate_hz"] == 85.0
    info = card_data_info(DatasetCard(frame_rate_hz=None))
    assert info == {"response_rate_hz": None, "stimulus_rate_hz": None}


def test_stimulus_class_and_pixel_size_only_when_known() -> None:
    card = DatasetCard(frame_rate_hz=30.0, data_info={"stimulus_class": "white_noise"})
    assert card_data_info(card)["stimulus_class"] == "white_noise"
    assert "retina_pixel_size_um" not in card_data_info(card)
    given = card_data_info(card, "natural_movie", 12.5)
    assert (given["stimulus_class"], given["retina_pixel_size_um"]) == ("natural_movie", 12.5)


def _converted_example(
    folder: Path, recipe_keys: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> Path:
    assert main(["create-example", str(folder)]) == 0
    recipe = folder / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(yaml.safe_load(recipe.read_text()) | recipe_keys))
    assert main(["convert", str(recipe), "--quiet"]) == 0
    capsys.readouterr()
    return folder / "dataset"


def test_export_config_writes_the_cards_data_info(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = _converted_example(
        tmp_path, {"stimulus_class": "natural_movie", "retina_pixel_size_um": 30.0}, capsys
    )
    assert main(["export-config", str(dataset)]) == 0
    config = yaml.safe_load(capsys.readouterr().out)
    info = config["data_info"]
    assert isinstance(info["response_rate_hz"], float)
    assert info["response_rate_hz"] == info["stimulus_rate_hz"]
    # measured from the example's TTL trigger: within the 1 % plan allows of the true rate
    assert abs(info["stimulus_rate_hz"] - FRAME_RATE_HZ) < 0.01 * FRAME_RATE_HZ
    assert (info["stimulus_class"], info["retina_pixel_size_um"]) == ("natural_movie", 30.0)
    card = json.loads((dataset / "openretina_data.json").read_text())
    assert card["data_info"] == info  # the card keeps the same


def test_export_config_says_when_the_rate_is_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = _converted_example(tmp_path, {}, capsys)
    card_path = dataset / "openretina_data.json"
    card = json.loads(card_path.read_text())
    card.update(frame_rate_hz=None, data_info={})
    card.pop("timing", None)
    card_path.write_text(json.dumps(card))
    assert main(["export-config", str(dataset)]) == 0
    captured = capsys.readouterr()
    assert "frame rate is unknown" in captured.err
    config = yaml.safe_load(captured.out)
    assert config["data_info"] == {"response_rate_hz": None, "stimulus_rate_hz": None}
    assert "null rather than a guess" in captured.out  # the config's header says so too
