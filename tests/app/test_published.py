"""Start → Convert a published dataset → Use, on the Maheswaranathan miniature."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from app.screenshots import wait_until
from app.wizard import ImportWizard
from openretina_data.layout import CARD_NAME, check, read_card
from openretina_data.testing.maheswaranathan import write_maheswaranathan_archive


def _next_enabled(wizard: ImportWizard) -> bool:
    return wizard.button(QWizard.WizardButton.NextButton).isEnabled()


def test_a_published_dataset_converts_and_opens_on_the_use_page(
    qtbot: QtBot, wizard: ImportWizard, tmp_path: Path
) -> None:
    archive = write_maheswaranathan_archive(tmp_path / "neural_code_data")
    output = tmp_path / "mahes"
    qtbot.mouseClick(wizard.start_page.published_button, Qt.MouseButton.LeftButton)
    page = wizard.published_page
    assert wizard.currentPage() is page
    assert page.chosen.name == "maheswaranathan_2023"
    assert "10.25740/rk663dm5577" in page.card.text()  # where to download it
    assert not _next_enabled(wizard)
    assert "ganglion_cell_data" in page.reason.text()  # what the folder must hold
    assert not page.runner.convert_button.isEnabled()
    page.archive.setText(str(tmp_path / "nowhere"))
    assert "does not exist" in page.reason.text()
    page.archive.setText(str(archive))
    page.output.setText(str(output))
    assert page.runner.convert_button.isEnabled()
    assert "Press Convert" in page.reason.text()
    qtbot.mouseClick(page.runner.convert_button, Qt.MouseButton.LeftButton)
    assert wait_until(lambda: page.runner.outcome != "", 60), page.runner.log.toPlainText()
    assert page.runner.outcome == "done", page.runner.log.toPlainText()
    assert "[session" in page.runner.log.toPlainText()  # the preset's steps reach the log
    assert _next_enabled(wizard)
    assert check(output).ok
    card = read_card(output)
    assert card is not None and card.citation["doi"] == "10.1016/j.neuron.2023.06.007"
    wizard.next()
    use = wizard.use_page
    assert wizard.currentPage() is use
    assert use.check_ok
    assert str(output.resolve()) in use.code.toPlainText()
    assert wizard.button(QWizard.WizardButton.FinishButton).isVisible()
    wizard.back()
    assert wizard.currentPage() is page  # Back returns the way it came


def test_a_published_conversion_refuses_an_existing_output_until_replace_is_ticked(
    wizard: ImportWizard, tmp_path: Path
) -> None:
    archive = write_maheswaranathan_archive(tmp_path / "neural_code_data")
    (tmp_path / "taken").mkdir()
    wizard.start_page.convert_published()
    page = wizard.published_page
    page.archive.setText(str(archive))
    page.output.setText(str(tmp_path / "taken"))
    assert "already exists" in page.reason.text()
    assert not page.runner.convert_button.isEnabled()
    page.overwrite.setChecked(True)
    assert page.runner.convert_button.isEnabled()


def test_a_wrong_archive_folder_fails_with_the_presets_message_and_writes_nothing(
    wizard: ImportWizard, tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    wizard.start_page.convert_published()
    page = wizard.published_page
    page.archive.setText(str(tmp_path / "empty"))
    page.output.setText(str(tmp_path / "out"))
    page.start()
    assert wait_until(lambda: page.runner.outcome != "", 30)
    assert page.runner.outcome == "failed"
    assert "nothing was written" in page.runner.log.toPlainText()
    assert "hint" in page.runner.log.toPlainText()
    assert not (tmp_path / "out").exists()
    assert not _next_enabled(wizard)


def test_loader_settings_too_long_for_a_published_dataset_say_where_to_change_them(
    wizard: ImportWizard, tmp_path: Path
) -> None:
    use = _converted_to_use_page(wizard, tmp_path)
    card = read_card(tmp_path / "mahes")
    assert card is not None
    card.loader = {"num_val_clips": 50}  # 50 clips of 90 frames: more than the miniature has
    (tmp_path / "mahes" / CARD_NAME).write_text(card.to_json())
    use.run_loader_check()
    assert wait_until(lambda: "failed" in use.loader_text.text(), 60)
    text = use.loader_text.text()
    assert "50 validation clips" in text and "snippet" in text
    assert use.result is None


def test_the_dataloader_check_reports_progress_and_can_be_cancelled(
    wizard: ImportWizard, tmp_path: Path
) -> None:
    use = _converted_to_use_page(wizard, tmp_path)
    use.run_loader_check()  # settings fitted to the miniature (its card keeps none)
    assert "Cancel" in use.check_button.text()
    use.run_loader_check()  # the same button cancels (here before the first batch)
    assert wait_until(lambda: "cancelled" in use.loader_text.text(), 30)
    assert use.result is None and "Check" in use.check_button.text()
    use.run_loader_check()  # a new check runs to the end, reporting batches as it goes
    assert use.task is not None
    lines: list[str] = []
    use.task.progress.connect(lines.append)
    assert wait_until(lambda: use.result is not None, 60), use.loader_text.text()
    assert lines and all("batches" in line for line in lines)


def _converted_to_use_page(wizard: ImportWizard, tmp_path: Path) -> Any:
    """Convert the miniature Maheswaranathan archive to tmp_path/mahes; the Use page."""
    archive = write_maheswaranathan_archive(tmp_path / "neural_code_data")
    wizard.start_page.convert_published()
    page = wizard.published_page
    page.archive.setText(str(archive))
    page.output.setText(str(tmp_path / "mahes"))
    page.start()
    assert wait_until(lambda: page.runner.outcome != "", 60)
    wizard.next()
    return wizard.use_page
