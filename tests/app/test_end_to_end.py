"""Click through every page on the example recording, convert, check, and load in openretina."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from app.pages.use import export_config
from app.screenshots import wait_until
from app.wizard import ImportWizard
from openretina_data.layout import check, read_card


def _click_next(qtbot: QtBot, wizard: ImportWizard) -> None:
    button = wizard.button(QWizard.WizardButton.NextButton)
    assert button.isEnabled(), wizard.currentPage().reason.text()
    before = wizard.currentPage()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert wizard.currentPage() is not before


@pytest.mark.gui
@pytest.mark.interop
def test_the_example_goes_through_every_page_and_loads_in_openretina(
    qtbot: QtBot,
    wizard: ImportWizard,
    example_recipe: Path,
) -> None:
    assert wizard.open_recipe(example_recipe)
    assert wait_until(lambda: wizard.probing is None or not wizard.probing.running, 20)
    visited = [wizard.currentPage().page_id]
    _click_next(qtbot, wizard)  # start → stimuli
    stimuli = wizard.pages["stimuli"]
    assert stimuli.table.item(0, 3).text() == "600×18×16"
    assert stimuli.thumb_caption.text().startswith("'natural': 600 frames of 18×16 pixels")
    while wizard.currentPage().page_id != "timing":
        visited.append(wizard.currentPage().page_id)
        _click_next(qtbot, wizard)
    timing = wizard.pages["timing"]
    timing.session.setCurrentIndex(1)  # the session whose trigger misses a pulse
    assert wait_until(
        lambda: timing.last_check is not None and timing.last_check.dropped_s.size == 1, 20
    )
    assert "had no frame time (frame 317): interpolated" in timing.report.text()
    visited.append("timing")
    _click_next(qtbot, wizard)  # → normalisation
    visited.append("normalisation")
    _click_next(qtbot, wizard)  # → preview
    preview = wizard.pages["preview"]
    assert wait_until(lambda: not preview.busy and preview.preview.data is not None, 30)
    assert preview.preview.data.n_neurons > 0
    preview.preview.setFocus()
    qtbot.keyClick(preview.preview, Qt.Key.Key_PageDown)
    assert preview.preview.frame == 30  # one second at 30 Hz
    preview.run_alignment()
    assert wait_until(lambda: preview.alignment.result is not None, 60)
    assert 0 < preview.alignment.result.best_lag <= 9  # a retinal latency, not an offset
    visited.append("preview")
    _click_next(qtbot, wizard)  # → write
    write = wizard.pages["write"]
    assert wait_until(lambda: not write.planning, 30)
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    assert "Press Convert" in write.reason.text()
    qtbot.mouseClick(write.convert_button, Qt.MouseButton.LeftButton)
    assert wait_until(lambda: write.outcome != "", 120), write.log.toPlainText()
    assert write.outcome == "done", write.log.toPlainText()
    visited.append("write")
    saved = write.save_recipe(Path(wizard.state.written_dir).parent / "saved.yaml")
    assert saved.exists()
    _click_next(qtbot, wizard)  # → use
    visited.append("use")
    assert visited == [
        "start",
        "stimuli",
        "responses",
        "sessions",
        "timing",
        "normalisation",
        "preview",
        "write",
        "use",
    ]
    dataset = Path(wizard.state.written_dir)
    report = check(dataset)
    assert report.ok, report.to_text()
    assert wizard.pages["use"].check_ok
    snippet = wizard.pages["use"].code.toPlainText()
    ran = subprocess.run(
        [sys.executable, "-c", snippet], capture_output=True, text=True, timeout=300
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("session_01 torch.Size([")  # the snippet runs as copied
    config, loader_config = export_config(str(dataset), str(dataset.parent / "data_io.yaml"))
    assert yaml.safe_load(Path(config).read_text())["test_names"] == ["test_clip"]
    assert loader_config == str(dataset.parent / "data_io.dataloader.yaml")
    assert yaml.safe_load(Path(loader_config).read_text())["num_val_clips"] == 2  # the recipe's
    hydra = dataset.parent / "configs" / "data_io"
    hydra.mkdir(parents=True)
    _, beside = export_config(str(dataset), str(hydra / "mine.yaml"))
    assert beside == str(dataset.parent / "configs" / "dataloader" / "mine.yaml")

    from openretina.data_io.h5_dataset_reader import load_responses, load_stimuli

    card = read_card(dataset)
    assert card is not None and card.test_stimuli == ["test_clip"]
    movies = load_stimuli(
        str(dataset), card.test_stimuli, [1, 18, 16], card.norm_mean, card.norm_std
    )
    responses = load_responses(str(dataset), card.test_stimuli)
    assert sorted(movies) == sorted(responses) == ["session_01", "session_02"]
    for session, split in responses.items():
        assert movies[session].train.shape == (1, 600, 18, 16)
        assert movies[session].test_dict["test_clip"].shape == (1, 150, 18, 16)
        assert split.train.shape[1] == 600
        assert split.test_dict["test_clip"].shape[1] == 150
        assert np.isfinite(split.train).all()
