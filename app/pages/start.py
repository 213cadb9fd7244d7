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
        grid = QGridLayout()
        self.new_button = QPushButton("&New conversion")
        self.new_button.setToolTip("Start from your raw files: stimuli, responses, triggers")
        self.new_button.clicked.connect(self.new_conversion)
        self.recipe_button = QPushButton("Open a &recipe…")
        self.recipe_button.setToolTip("Load a saved recipe (YAML/JSON) and review it page by page")
        self.recipe_button.clicked.connect(self.choose_recipe)
        self.dataset_button = QPushButton("&Inspect a dataset…")
        self.dataset_button.setToolTip("Open a converted dataset (ours or openretina's) read-only")
        self.dataset_button.clicked.connect(self.choose_dataset)
        for column, button in enumerate((self.new_button, self.recipe_button, self.dataset_button)):
            button.setMinimumHeight(48)
            grid.addWidget(button, 0, column)
        self.recent_recipes = QListWidget()
        self.recent_recipes.setToolTip("Double-click to open")
        self.recent_recipes.itemActivated.connect(
            lambda item: self.open_recipe(item.data(Qt.ItemDataRole.UserRole))
        )
        self.recent_datasets = QListWidget()
        self.recent_datasets.setToolTip("Double-click to open in the viewer")
        self.recent_datasets.itemActivated.connect(
            lambda item: self.wizard_.open_viewer(item.data(Qt.ItemDataRole.UserRole))
        )
        grid.addWidget(QLabel("Recent recipes"), 1, 1)
        grid.addWidget(QLabel("Recent datasets"), 1, 2)
        grid.addWidget(self.recent_recipes, 2, 1)
        grid.addWidget(self.recent_datasets, 2, 2)
        self.loaded = QLabel()
        self.loaded.setWordWrap(True)
        grid.addWidget(self.loaded, 2, 0, Qt.AlignmentFlag.AlignTop)
        self.body.addLayout(grid)
        self.body.addStretch(1)
        self.finish_layout()

    def load(self) -> None:
        for widget, kind in ((self.recent_recipes, "recipes"), (self.recent_datasets, "datasets")):
            widget.clear()
            for path in recent(self.wizard_.settings, kind):
                item = QListWidgetItem(Path(path).name)
                item.setToolTip(path)
                item.setData(Qt.ItemDataRole.UserRole, path)
                widget.addItem(item)
        state = self.state
        if state.mode == "recipe" and state.recipe_path:
            self.loaded.setText(f"Recipe loaded: {state.recipe_path}\nPress Next to review it.")
        else:
            self.loaded.setText("New conversion: press Next to add your stimulus files.")

    def problems(self) -> list[str]:
        return self.state.page_problems("start")

    def new_conversion(self) -> None:
        self.wizard_.new_conversion()
        self.load()
        self.wizard_.next()

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
