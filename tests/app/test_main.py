"""``openretina-data-wizard``'s entry points: screenshots of every page, the viewer on a folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from app.main import build_parser, main
from app.state import PAGES


@pytest.mark.gui
def test_screenshots_walk_every_page_and_the_viewer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--screenshots", str(tmp_path / "shots")]) == 0
    names = sorted(p.name for p in (tmp_path / "shots").glob("*.png"))
    for number, page in enumerate(PAGES, start=1):
        assert f"{number:02d}-{page}.png" in names
    assert "07-preview-alignment.png" in names and "10-viewer.png" in names
    assert all((tmp_path / "shots" / n).stat().st_size > 5_000 for n in names)  # not blank
    assert capsys.readouterr().out.count(".png") == len(names)


def test_the_command_line_says_what_each_form_does() -> None:
    text = build_parser().format_help()
    for option in ("--example", "--screenshots", "dataset"):
        assert option in text


@pytest.mark.gui
def test_example_with_a_display_opens_the_wizard_on_the_example_recipe(
    qtbot: QtBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from PySide6.QtWidgets import QApplication

    import app.main as entry
    from app.wizard import ImportWizard

    monkeypatch.setattr(entry, "display_available", lambda: True)
    monkeypatch.setattr(QApplication, "exec", lambda self: 0)  # do not block in the test
    monkeypatch.setattr("app.settings.open_settings", lambda path=None: _temp_settings(tmp_path))
    assert main(["--example", "--demo-dir", str(tmp_path / "demo")]) == 0
    recipe = str(tmp_path / "demo" / "recipe.yaml")
    wizards = [
        w
        for w in QApplication.topLevelWidgets()
        if isinstance(w, ImportWizard) and w.state.recipe_path == recipe
    ]
    assert len(wizards) == 1 and wizards[0].isVisible()
    assert wizards[0].state.recipe.stimuli[0].name == "natural"
    wizards[0].close()
    wizards[0].deleteLater()


def _temp_settings(folder: Path) -> QSettings:
    return QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)
