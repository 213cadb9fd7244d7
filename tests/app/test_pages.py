"""Page-level behaviour: Next is off with a visible reason, sessions auto-match, cancel leaves nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QWizard

from app.screenshots import wait_until
from app.wizard import ImportWizard
from openretina_data.convert import Progress
from openretina_data.recipe import Recipe, load_recipe, save_recipe


def _next_enabled(wizard: ImportWizard) -> bool:
    return wizard.button(QWizard.WizardButton.NextButton).isEnabled()


def _go_to(wizard: ImportWizard, page_id: str) -> None:
    target = wizard.pages[page_id]
    while wizard.currentPage() is not target:
        wizard.next()


def test_empty_stimuli_page_disables_next_and_says_why(wizard: ImportWizard) -> None:
    _go_to(wizard, "stimuli")
    page = wizard.pages["stimuli"]
    assert not _next_enabled(wizard)
    assert page.reason.isVisible()
    assert "Add at least one stimulus movie" in page.reason.text()


def test_a_wrong_axis_order_disables_next_with_the_reason(
    wizard: ImportWizard, tmp_path: Path
) -> None:
    movie = tmp_path / "natural.npy"
    np.save(movie, np.zeros((40, 6, 5), np.float32))
    _go_to(wizard, "stimuli")
    page = wizard.pages["stimuli"]
    page.add_paths([str(movie)])  # probed off the UI thread
    assert wait_until(lambda: len(wizard.state.recipe.stimuli) == 1, 10)
    assert _next_enabled(wizard)
    axes_combo = page.table.cellWidget(0, 6)
    axes_combo.setCurrentText("cthw")  # four letters for a three-axis array
    assert not _next_enabled(wizard)
    assert "axis order 'cthw' has 4 letters but the array has 3 axes" in page.reason.text()
    axes_combo.setCurrentText("thw")
    assert _next_enabled(wizard)
    assert page.thumb_caption.text().startswith("'natural': 40 frames of 6×5 pixels")


def test_sessions_are_auto_matched_and_editable(wizard: ImportWizard, tmp_path: Path) -> None:
    np.save(tmp_path / "natural.npy", np.zeros((40, 4, 5), np.float32))
    for session in ("retina1", "retina2"):
        (tmp_path / session).mkdir()
        np.save(tmp_path / session / "responses.npy", np.zeros((3, 40), np.float32))
    _go_to(wizard, "stimuli")
    wizard.pages["stimuli"].add_paths([str(tmp_path / "natural.npy")])
    assert wait_until(lambda: len(wizard.state.recipe.stimuli) == 1, 10)
    wizard.next()
    responses = wizard.pages["responses"]
    responses.add_paths([str(tmp_path / s / "responses.npy") for s in ("retina1", "retina2")])
    assert wait_until(lambda: len(wizard.state.recipe.sessions) == 2, 10)
    assert not _next_enabled(wizard)
    assert "confirm that these are binned in spikes/bin" in responses.reason.text()
    for row in range(2):
        responses.table.cellWidget(row, 8).setChecked(True)
    assert _next_enabled(wizard)
    wizard.next()
    sessions = wizard.pages["sessions"]
    table = sessions.table
    assert [table.item(r, 0).text() for r in range(2)] == ["retina1", "retina2"]
    assert [table.item(r, 2).text() for r in range(2)] == ["natural", "natural"]
    assert [table.item(r, 4).text() for r in range(2)] == ["ok", "ok"]
    table.item(1, 0).setText("retina1")  # a clash: two sessions with one name
    assert not _next_enabled(wizard)
    assert "two sessions have this name" in sessions.reason.text()
    table.item(1, 0).setText("retina2")
    table.item(0, 2).setText("natural, chirp×5")  # a stimulus that was never added
    assert "unknown stimulus chirp" in table.item(0, 4).text()
    assert not _next_enabled(wizard)


def test_cancel_mid_conversion_leaves_no_output(
    wizard: ImportWizard, example_recipe: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.pages.write as write_module

    real_convert = write_module.run_convert
    steps: list[str] = []

    def slow_convert(recipe: Recipe, overwrite: bool) -> Iterator[Progress]:
        # Cancels after the first stimulus is written.
        for progress in real_convert(recipe, overwrite):
            steps.append(progress.step)
            yield progress
            if progress.step.startswith("stimulus"):
                wizard.pages["write"].task.cancel()

    monkeypatch.setattr(write_module, "run_convert", slow_convert)
    assert wizard.open_recipe(example_recipe)
    _go_to(wizard, "write")
    page = wizard.pages["write"]
    output = Path(wizard.state.recipe.resolve(wizard.state.recipe.output))
    assert wait_until(lambda: not page.planning, 30)
    assert page.plan_errors == []
    page.start()
    assert wait_until(lambda: page.outcome != "", 60)
    assert page.outcome == "cancelled"
    assert any(s.startswith("stimulus") for s in steps)
    assert not any(s.startswith("session") for s in steps)  # it stopped before the sessions
    assert not output.exists()
    assert [p.name for p in output.parent.iterdir() if p.name.startswith((".", output.name))] == []
    assert "nothing was written" in page.log.toPlainText()
    assert not _next_enabled(wizard)


def test_a_new_conversion_built_in_the_pages_converts(
    wizard: ImportWizard, example_root: Path, tmp_path: Path
) -> None:
    from openretina_data.layout import check

    raw = example_root / "raw"
    wizard.pages["start"].new_conversion()
    stimuli = wizard.pages["stimuli"]
    stimuli.add_paths([str(example_root / "stimuli" / n) for n in ("natural.tif", "test_clip.npy")])
    assert wait_until(lambda: len(wizard.state.recipe.stimuli) == 2, 10)
    stimuli.table.cellWidget(1, 6).setCurrentText("twh")  # what the file cannot say
    wizard.next()
    responses = wizard.pages["responses"]
    responses.add_paths(
        [str(raw / s / f) for s in ("session_01", "session_02") for f in ("phy", "ttl.npy")]
    )
    assert wait_until(
        lambda: len(wizard.state.triggers) == 2 and len(wizard.state.recipe.sessions) == 2, 30
    )  # four probes, each in a child process: slow on a busy machine
    for row in range(2):
        responses.table.cellWidget(row, 6).setValue(20_000.0)
        responses.table.cellWidget(row, 8).setChecked(True)
    assert _next_enabled(wizard), responses.reason.text()
    wizard.next()
    sessions = wizard.pages["sessions"]
    for row in range(2):
        sessions.table.item(row, 2).setText("natural, test_clip×3")
    assert _next_enabled(wizard), sessions.reason.text()
    wizard.next()
    timing = wizard.pages["timing"]
    assert not _next_enabled(wizard)
    assert "give the trigger channel's sampling rate" in timing.reason.text()
    timing.sampling.setValue(2000.0)
    timing.copy_button.click()  # the same rig for both sessions
    assert _next_enabled(wizard), timing.reason.text()
    _go_to(wizard, "write")
    write = wizard.pages["write"]
    write.output.setText(str(tmp_path / "new_dataset"))
    write.output.editingFinished.emit()
    assert wait_until(lambda: not write.planning, 30)
    assert write.plan_errors == [], write.plan_problems.text()
    write.start()
    assert wait_until(lambda: write.outcome != "", 60)
    assert write.outcome == "done", write.log.toPlainText()
    assert check(tmp_path / "new_dataset").ok


def test_applying_a_lag_updates_the_recipe_and_the_preview(
    wizard: ImportWizard, example_recipe: Path
) -> None:
    assert wizard.open_recipe(example_recipe)
    _go_to(wizard, "preview")
    page = wizard.pages["preview"]
    assert wait_until(lambda: not page.busy and page.preview.data is not None, 30)
    assert page.preview.data.n_frames == 600
    first = np.asarray(page.preview.data.responses[:, 10:20])
    page.alignment.lag.setValue(2)
    page.alignment.apply_button.click()
    assert wizard.state.recipe.lag_frames == 2
    assert wait_until(lambda: not page.busy and page.preview.data is not None, 30)
    assert page.preview.data.n_frames == 598  # the last frames have no response left
    np.testing.assert_array_equal(np.asarray(page.preview.data.responses[:, 8:18]), first)
    assert "lag of 2 frames applied" in page.message.text()


def test_dropping_a_file_on_the_stimuli_table_adds_it(wizard: ImportWizard, tmp_path: Path) -> None:
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    movie = tmp_path / "checker.npy"
    np.save(movie, np.zeros((30, 4, 4), np.uint8))
    _go_to(wizard, "stimuli")
    table = wizard.pages["stimuli"].table
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(movie))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    table.dropEvent(event)
    assert wait_until(lambda: len(wizard.state.recipe.stimuli) == 1, 10)
    assert wizard.state.recipe.stimuli[0].name == "checker"
    assert table.item(0, 3).text() == "30×4×4"


def test_an_existing_output_with_someones_files_blocks_convert_even_with_replace(
    wizard: ImportWizard, example_recipe: Path
) -> None:
    assert wizard.open_recipe(example_recipe)
    output = Path(wizard.state.recipe.resolve(wizard.state.recipe.output))
    output.mkdir()
    (output / "notes.txt").write_text("someone's earlier work")
    _go_to(wizard, "write")
    page = wizard.pages["write"]
    assert wait_until(lambda: not page.planning, 30)
    assert page.plan_errors and not page.convert_button.isEnabled()
    assert str(output.name) in page.plan_problems.text()
    page.overwrite.setChecked(True)  # Replace never deletes files we did not write
    assert wait_until(lambda: not page.planning, 30)
    assert page.plan_errors and not page.convert_button.isEnabled()
    assert "notes.txt" in page.plan_problems.text()
    assert "--" not in page.plan_problems.text()


def test_the_array_picker_of_a_container_changes_what_is_checked(
    wizard: ImportWizard, tmp_path: Path
) -> None:
    import h5py

    path = tmp_path / "rig.h5"
    with h5py.File(path, "w") as f:
        f["stim/movie"] = np.zeros((120, 8, 6), np.uint8)
        f["stim/frame_times"] = np.arange(120, dtype=np.float64) / 30
    _go_to(wizard, "stimuli")
    page = wizard.pages["stimuli"]
    page.add_paths([str(path)])
    assert wait_until(lambda: len(wizard.state.recipe.stimuli) == 1, 10)
    picker = page.table.cellWidget(0, 2)
    assert sorted(picker.itemText(i) for i in range(picker.count())) == [
        "stim/frame_times",
        "stim/movie",
    ]
    assert picker.currentText() == "stim/movie"  # the probe's guess
    assert _next_enabled(wizard)
    picker.setCurrentText("stim/frame_times")
    assert not _next_enabled(wizard)
    assert "has 3 letters but the array has 1 axes" in page.reason.text()
    assert wait_until(lambda: page.table.item(0, 3).text() == "120", 5)  # the shape follows


def test_a_computed_mean_shows_no_number_until_given(
    wizard: ImportWizard, example_recipe: Path
) -> None:
    assert wizard.open_recipe(example_recipe)
    _go_to(wizard, "normalisation")
    page = wizard.pages["normalisation"]
    assert page.mode.currentData() == "compute"
    assert not page.mean.isVisible() and page.computed_note.isVisible()
    page.mode.setCurrentIndex(page.mode.findData("given"))
    assert page.mean.isVisible() and page.std.isVisible()
    assert not page.computed_note.isVisible()
    page.mode.setCurrentIndex(page.mode.findData("none"))
    assert not page.mean.isVisible() and not page.computed_note.isVisible()


def test_validation_clips_cannot_go_below_the_one_the_dataloaders_need(
    wizard: ImportWizard, example_recipe: Path
) -> None:
    assert wizard.open_recipe(example_recipe)
    _go_to(wizard, "normalisation")
    page = wizard.pages["normalisation"]
    page.n_val.setValue(0)
    assert page.n_val.value() == 1
    assert wizard.state.num_val_clips == 1
    page.n_val.stepDown()
    assert wizard.state.num_val_clips == 1


def test_every_loader_setting_edited_lands_in_the_saved_recipe(
    wizard: ImportWizard, example_recipe: Path, tmp_path: Path
) -> None:
    assert wizard.open_recipe(example_recipe)
    _go_to(wizard, "normalisation")
    page = wizard.pages["normalisation"]
    page.chunk.setValue(20)
    page.batch.setValue(3)
    page.clip.setValue(40)
    page.n_val.setValue(4)
    loader = wizard.state.recipe.loader
    assert (loader.train_chunk_size, loader.batch_size, loader.clip_length) == (20, 3, 40)
    assert loader.num_val_clips == 4 and wizard.state.validation_edited
    saved = save_recipe(wizard.state.recipe, tmp_path / "edited.yaml")
    assert load_recipe(saved).loader == loader
