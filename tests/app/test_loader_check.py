"""The Use page's loader check is the core's loader summary plus one sample batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.loader_check import check_loaders, loader_settings
from openretina_data.convert import convert
from openretina_data.datasets import get_preset
from openretina_data.example import create_example
from openretina_data.loader_summary import format_summary, loader_summary
from openretina_data.recipe import load_recipe
from openretina_data.testing.maheswaranathan import write_maheswaranathan_archive


def test_the_loader_check_reports_what_the_cli_reports_and_draws_a_sample(
    tmp_path: Path,
) -> None:
    archive = write_maheswaranathan_archive(tmp_path / "archive")
    dataset = tmp_path / "dataset"
    for _ in get_preset("maheswaranathan_2023").convert(archive, dataset):
        pass
    settings = loader_settings(dataset, clip_length=30, num_val_clips=2, batch_size=4)
    steps = check_loaders(dataset, settings)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            result = done.value
            break
    cli = loader_summary(
        dataset, clip_length=30, num_val_clips=2, batch_size=4, train_chunk_size=50
    )
    assert result.batches == {
        split: {s: entry["batches"] for s, entry in by_session.items()}
        for split, by_session in cli["splits"].items()
    }
    assert result.summary["splits"] == cli["splits"]
    table = result.to_text().splitlines()
    assert table[:3] == format_summary(cli).splitlines()[:3]  # same header and columns
    first = cli["splits"]["train"][result.session]
    batch, channels, chunk, height, width = first["inputs"]
    assert result.sample_frame is not None and result.sample_frame.shape == (height, width)
    assert result.sample_targets is not None
    assert result.sample_targets.shape == tuple(first["targets"][1:])  # (chunk, neurons)
    assert np.isfinite(result.sample_frame).all() and result.sample_frame.std() > 0


def test_an_opened_dataset_is_loaded_with_the_settings_its_card_keeps(tmp_path: Path) -> None:
    recipe = load_recipe(create_example(tmp_path))
    for _ in convert(recipe):
        pass
    stored = recipe.loader
    settings = loader_settings(tmp_path / "dataset")
    assert (settings.clip_length, settings.num_val_clips) == (
        stored.clip_length,
        stored.num_val_clips,
    )
    assert (settings.train_chunk_size, settings.batch_size) == (
        stored.train_chunk_size,
        stored.batch_size,
    )
    assert loader_settings(tmp_path / "dataset", batch_size=2).batch_size == 2
