"""Fixtures for the wizard's tests: a temporary QSettings file and the example recording."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from app.wizard import ImportWizard
from openretina_data.example import create_example


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    """Settings in a temporary INI file: tests never touch the user's."""
    from app.settings import open_settings

    return open_settings(tmp_path / "settings.ini")


@pytest.fixture(scope="session")
def example_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example raw recording (two Phy sessions, TTL triggers), written once."""
    root = tmp_path_factory.mktemp("example")
    create_example(root)
    return root


@pytest.fixture
def example_recipe(example_root: Path, tmp_path: Path) -> Path:
    """The example's recipe, writing into this test's own folder."""
    from openretina_data.recipe import load_recipe, save_recipe

    recipe = load_recipe(example_root / "recipe.yaml")
    recipe.output = str(tmp_path / "dataset")
    return save_recipe(recipe, example_root / f"recipe-{tmp_path.name}.yaml")


@pytest.fixture
def wizard(qtbot: QtBot, settings: QSettings) -> Iterator[ImportWizard]:
    """A shown wizard with a fresh state; closed (workers joined) after the test."""
    widget = ImportWizard(settings)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.close()
