"""Every number box takes what is typed into it, decimals included (keys only, as a person types)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractSpinBox, QDoubleSpinBox
from pytestqt.qtbot import QtBot

from app.screenshots import wait_until
from app.wizard import ImportWizard


def _go_to(wizard: ImportWizard, page_id: str) -> None:
    while wizard.currentPage() is not wizard.pages[page_id]:
        page = wizard.currentPage()
        assert wait_until(page.isComplete, 30), page.reason.text()
        wizard.next()


def type_into(qtbot: QtBot, box: QAbstractSpinBox, text: str, *, select_all: bool) -> None:
    """Click into ``box``, optionally select all (Ctrl+A), type ``text`` and press Tab."""
    qtbot.mouseClick(box.lineEdit(), Qt.MouseButton.LeftButton)  # the box takes the focus
    assert box.hasFocus()
    if select_all:
        qtbot.keyClick(box, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(box, text)  # keys go to the focused box, as from a keyboard
    qtbot.keyClick(box, Qt.Key.Key_Tab)  # on to the next control (Return would press Next)


def _responses_with_a_trace(wizard: ImportWizard, tmp_path: Path) -> QDoubleSpinBox:
    np.save(tmp_path / "natural.npy", np.zeros((40, 4, 5), np.float32))
    (tmp_path / "s1").mkdir()
    np.save(tmp_path / "s1" / "traces.npy", np.zeros((3, 400), np.float32))
    _go_to(wizard, "stimuli")
    wizard.pages["stimuli"].add_paths([str(tmp_path / "natural.npy")])
    assert wait_until(lambda: len(wizard.state.recipe.stimuli) == 1, 10)
    wizard.next()
    page = wizard.pages["responses"]
    page.add_paths([str(tmp_path / "s1" / "traces.npy")])
    assert wait_until(lambda: len(wizard.state.recipe.sessions) == 1, 10)
    page.table.cellWidget(0, 4).setCurrentText("traces")  # needs a rate: a "required" box
    return page.table.cellWidget(0, 6)


TYPED = ("7.5", "30", "12.25", "0.5", "20000")


def test_a_fresh_required_rate_box_takes_what_is_typed(
    qtbot: QtBot, wizard: ImportWizard, tmp_path: Path
) -> None:
    box = _responses_with_a_trace(wizard, tmp_path)
    page = wizard.pages["responses"]
    source = wizard.state.recipe.sessions[0].responses[0]
    for typed in TYPED:
        for select_all in (False, True):
            source.sampling_rate_hz = None
            page.load()  # a fresh box showing "required"
            box = page.table.cellWidget(0, 6)
            assert box.text() == "required"
            type_into(qtbot, box, typed, select_all=select_all)
            assert box.value() == pytest.approx(float(typed)), (typed, select_all)
            assert source.sampling_rate_hz == pytest.approx(float(typed))


def test_every_number_box_of_timing_and_normalisation_takes_what_is_typed(
    qtbot: QtBot, wizard: ImportWizard, example_recipe: Path
) -> None:
    assert wizard.open_recipe(example_recipe)
    _go_to(wizard, "timing")
    timing = wizard.pages["timing"]
    recipe = wizard.state.recipe
    times = recipe.sessions[0].responses[0].frame_times
    for typed in TYPED:
        if float(typed) <= timing.rate.maximum():  # up to 10 kHz frames
            type_into(qtbot, timing.rate, typed, select_all=True)  # prefilled: 30 Hz
            assert recipe.frame_rate_hz == pytest.approx(float(typed))
        type_into(qtbot, timing.sampling, typed, select_all=True)  # prefilled: 2 kHz
        assert times.sampling_rate_hz == pytest.approx(float(typed))
    timing.sampling.setValue(0.0)  # empty: shows "not set"
    assert timing.sampling.text() == "not set"
    type_into(qtbot, timing.sampling, "2000.5", select_all=False)
    assert times.sampling_rate_hz == pytest.approx(2000.5)
    type_into(qtbot, timing.rate, "30", select_all=True)  # the example's rig again
    type_into(qtbot, timing.sampling, "2000", select_all=True)
    assert wait_until(lambda: timing.isComplete(), 30), timing.reason.text()
    _go_to(wizard, "normalisation")
    norm = wizard.pages["normalisation"]
    norm.mode.setCurrentIndex(norm.mode.findData("given"))
    for typed in (*TYPED, "-3.125"):
        type_into(qtbot, norm.mean, typed, select_all=True)
        assert recipe.normalisation.mean == pytest.approx(float(typed))
        type_into(qtbot, norm.std, typed.lstrip("-"), select_all=True)
        assert recipe.normalisation.std == pytest.approx(float(typed.lstrip("-")))
