"""The wizard can be walked with the keyboard alone: Tab reaches every button a step needs.

(Alt mnemonics work on desktop platforms; Qt's offscreen platform used by the tests does
not deliver them, so the walk uses Tab and Space, the slower keyboard path.)
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget, QWizard
from pytestqt.qtbot import QtBot

from app.screenshots import wait_until
from app.wizard import ImportWizard


def press_by_tab(wizard: ImportWizard, target: QWidget, limit: int = 80) -> None:
    """Tab through the window until ``target`` has the focus, then press Space on it."""
    for _ in range(limit):
        focused = QApplication.focusWidget()
        if focused is target:
            QTest.keyClick(target, Qt.Key.Key_Space)
            return
        QTest.keyClick(focused or wizard, Qt.Key.Key_Tab)
    raise AssertionError(f"Tab never reached {target!r}; stuck at {QApplication.focusWidget()!r}")


def test_an_opened_recipe_is_converted_and_checked_with_the_keyboard_only(
    qtbot: QtBot, wizard: ImportWizard, example_recipe: Path, tmp_path: Path
) -> None:
    assert wizard.open_recipe(example_recipe)  # through a file dialog, keyboard-usable itself
    wizard.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is wizard, timeout=5000)
    next_button = wizard.button(QWizard.WizardButton.NextButton)
    write = wizard.pages["write"]
    for _ in range(len(wizard.pages)):
        if wizard.currentPage() is write:
            break
        assert wait_until(next_button.isEnabled, 30), type(wizard.currentPage()).__name__
        press_by_tab(wizard, next_button)
    assert wizard.currentPage() is write
    assert wait_until(write.convert_button.isEnabled, 30)
    press_by_tab(wizard, write.convert_button)
    assert wait_until(lambda: (tmp_path / "dataset").is_dir() and not write.busy(), 60)
    assert wait_until(next_button.isEnabled, 30)
    press_by_tab(wizard, next_button)
    use = wizard.use_page
    assert wizard.currentPage() is use
    press_by_tab(wizard, use.check_button)
    assert wait_until(lambda: use.result is not None, 60), use.loader_text.text()
