"""Start: a new conversion, a saved recipe, or an existing dataset in the viewer."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
)

from app.pages.base import WizardPage
from app.settings import recent

if TYPE_CHECKING:
    from app.wizard import ImportWizard


class StartPage(WizardPage):
    """Choose what to do; recent recipes and datasets are one double-click away."""

    page_id = "start"

    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__(
            wizard,
            "Welcome",
            "Turn a stimulus movie and recorded responses into a dataset openretina can train on.",
        )
        actions = QGridLayout()
        self.new_button = QPushButton("&New conversion")
        self.recipe_button = QPushButton("Open a &recipe…")
        self.dataset_button = QPushButton("&Inspect a dataset…")
        self.published_button = QPushButton("Convert a &published dataset…")
        rows = (
            (
                self.new_button,
                self.new_conversion,
                "Start from your raw files: stimulus movies, spike-sorter output or traces, trigger channels.",
            ),
            (
                self.recipe_button,
                self.choose_recipe,
                "Load a recipe saved earlier (YAML/JSON) and review it page by page — e.g. to convert next week's sessions.",
            ),
            (
                self.published_button,
                self.convert_published,
                "Convert a dataset you downloaded from a paper (e.g. Maheswaranathan et al. 2023) in one step.",
            ),
            (
                self.dataset_button,
                self.choose_dataset,
                "Look at a converted dataset (ours or one made by openretina), read-only: movie, responses, repeats, check.",
            ),
        )
        for row, (button, slot, text) in enumerate(rows):
            button.setMinimumSize(220, 40)
            button.setToolTip(text)
            button.clicked.connect(slot)
            label = QLabel(text)
            label.setWordWrap(True)
            actions.addWidget(button, row, 0)
            actions.addWidget(label, row, 1)
        actions.setColumnStretch(1, 1)
        self.loaded = QLabel()
        self.loaded.setWordWrap(True)
        self.loaded.setProperty("role", "ok")
        self.recent_recipes = QListWidget()
        self.recent_recipes.setToolTip("Double-click (or Enter) to open")
        self.recent_recipes.itemActivated.connect(
            lambda item: self.open_recipe(item.data(Qt.ItemDataRole.UserRole))
        )
        self.recent_datasets = QListWidget()
        self.recent_datasets.setToolTip("Double-click (or Enter) to open in the viewer")
        self.recent_datasets.itemActivated.connect(
            lambda item: self.wizard_.open_viewer(item.data(Qt.ItemDataRole.UserRole))
        )
        recent_grid = QGridLayout()
        recent_grid.addWidget(QLabel("Recent recipes"), 0, 0)
        recent_grid.addWidget(QLabel("Recent datasets"), 0, 1)
        recent_grid.addWidget(self.recent_recipes, 1, 0)
        recent_grid.addWidget(self.recent_datasets, 1, 1)
        self.body.addLayout(actions)
        self.body.addWidget(self.loaded)
        self.body.addLayout(recent_grid, 1)
        self.finish_layout()

    def load(self) -> None:
        self.load_recent()
        state = self.state
        if state.mode == "preset":
            self.loaded.setText("Press Next to choose the published dataset and its archive.")
        elif state.mode == "recipe" and state.recipe_path:
            self.loaded.setText(f"Recipe loaded: {state.recipe_path} — press Next to review it.")
        else:
            self.loaded.setText("Press Next to start a new conversion with your stimulus files.")

    def load_recent(self) -> None:
        """Fill the recent recipes and datasets lists from the settings."""
        for widget, kind in ((self.recent_recipes, "recipes"), (self.recent_datasets, "datasets")):
            widget.clear()
            for path in recent(self.wizard_.settings, kind):
                item = QListWidgetItem(f"{Path(path).name} — {Path(path).parent}")
                item.setToolTip(path)
                item.setData(Qt.ItemDataRole.UserRole, path)
                widget.addItem(item)

    def problems(self) -> list[str]:
        return self.state.page_problems("start")

    def new_conversion(self) -> None:
        self.wizard_.new_conversion()
        self.load()
        self.wizard_.next()

    def convert_published(self) -> None:
        self.state.mode = "preset"
        self.load()
        self.wizard_.next()

    def nextId(self) -> int:  # noqa: N802 - Qt API
        if self.state.mode == "preset":
            return self.wizard_.page_number("published")
        return self.wizard_.page_number("stimuli")

    def choose_recipe(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a recipe", "", "Recipes (*.yaml *.yml *.json);;All files (*)"
        )
        if path:
            self.open_recipe(path)

    def open_recipe(self, path: str) -> None:
        if self.wizard_.open_recipe(path):
            self.load()
            self.refresh()

    def choose_dataset(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a dataset folder")
        if path:
            self.wizard_.open_viewer(path)
