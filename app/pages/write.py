"""Write: the plan and its problems, then the conversion in a worker thread with cancel."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.pages.base import WizardPage
from app.widgets.conversion import ConversionRunner
from app.wording import gui_words
from app.workers import BackgroundTask
from openretina_data.errors import format_error
from openretina_data.recipe import save_recipe

if TYPE_CHECKING:
    from app.wizard import ImportWizard


def run_plan(recipe: Any, overwrite: bool) -> Any:
    """``openretina_data.plan.plan``: every check, headers only, nothing written."""
    from openretina_data.plan import plan

    return plan(recipe, overwrite=overwrite)


def run_convert(recipe: Any, overwrite: bool) -> Any:
    """The conversion generator ``openretina_data.convert.convert`` (each yield a Progress)."""
    from openretina_data.convert import convert

    return convert(recipe, overwrite=overwrite)


def plan_lines(result: Any) -> tuple[list[str], list[str], str]:
    """(errors, warnings, summary table) of a ``ConversionPlan``, each problem one line + hint."""

    def line(problem: Any) -> str:
        where = ", ".join(
            f"{name} {value}"
            for name, value in (
                ("session", problem.session),
                ("file", problem.path),
                ("key", problem.key),
            )
            if value
        )
        text = problem.message + (f" ({where})" if where else "")
        return text + (f" — {problem.hint}" if problem.hint else "")

    errors = [gui_words(line(p)) for p in result.problems if blocks(p)]
    warnings = [gui_words(line(p)) for p in result.problems if not blocks(p)]
    problem_lines = {text for p in result.problems for text in str(p).splitlines()}
    table = [text for text in result.summary().splitlines() if text not in problem_lines]
    return errors, warnings, gui_words("\n".join(table))


def blocks(problem: Any) -> bool:
    """True for a plan problem that must stop Convert: an error, or frame times whose count
    does not match the stimulus frames (written anyway, they would misalign every frame
    after the mismatch)."""
    if problem.severity == "error":
        return True
    return bool(_COUNT_MISMATCH.search(problem.message))


_COUNT_MISMATCH = re.compile(r"frame times but the stimulus has|cannot be matched to the")


class WritePage(WizardPage):
    """Plan, choose the output folder, convert with progress / cancel, then save the recipe."""

    page_id = "write"

    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__(
            wizard,
            "Write the dataset",
            "Everything is checked before a byte is written. The dataset appears only when "
            "the conversion finishes; cancelling leaves nothing behind.",
        )
        out = QHBoxLayout()
        out.addWidget(QLabel("Output folder"))
        self.output = QLineEdit()
        self.output.setToolTip("The dataset folder to create (relative to the recipe's folder)")
        self.output.editingFinished.connect(self._set_output)
        out.addWidget(self.output, 1)
        browse = QPushButton("&Browse…")
        browse.clicked.connect(self.choose_output)
        out.addWidget(browse)
        self.overwrite = QCheckBox("&Replace it if it exists")
        self.overwrite.setToolTip("The old dataset is replaced only once the new one is complete")
        self.overwrite.toggled.connect(self.update_plan)
        out.addWidget(self.overwrite)
        self.plan_text = QLabel("Checking the plan…")
        self.plan_text.setObjectName("log")
        self.plan_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.plan_text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.plan_problems = QLabel()
        self.plan_problems.setWordWrap(True)
        self.plan_problems.setProperty("role", "problem")
        self.plan_warnings = QLabel()
        self.plan_warnings.setWordWrap(True)
        self.plan_warnings.setProperty("role", "warning")
        self.plan_warnings.setVisible(False)
        self.runner = ConversionRunner()
        self.runner.convert_requested.connect(self.start)
        self.runner.ended.connect(self._ended)
        self.save_button = QPushButton("&Save recipe…")
        self.save_button.setToolTip(
            "Save the recipe to re-run this conversion (e.g. next week's sessions)"
        )
        self.save_button.clicked.connect(self.choose_recipe_path)
        self.runner.add_button(self.save_button)
        # The plan table scrolls both ways (its lines are not wrapped); the problems wrap
        # to the page's width and scroll down: nothing is cut at any window size.
        self.plan_scroll = QScrollArea()
        self.plan_scroll.setWidget(self.plan_text)
        self.plan_scroll.setWidgetResizable(True)
        self.plan_scroll.setFrameShape(QFrame.Shape.NoFrame)
        problems = QWidget()
        problems_layout = QVBoxLayout(problems)
        problems_layout.setContentsMargins(0, 0, 0, 0)
        problems_layout.addWidget(self.plan_problems)
        problems_layout.addWidget(self.plan_warnings)
        problems_layout.addStretch(1)
        self.problems_scroll = QScrollArea()
        self.problems_scroll.setWidget(problems)
        self.problems_scroll.setWidgetResizable(True)
        self.problems_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.problems_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        split = QSplitter(Qt.Orientation.Vertical)
        for part in (self.plan_scroll, self.problems_scroll, self.runner):
            split.addWidget(part)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 2)
        split.setStretchFactor(2, 3)
        split.setChildrenCollapsible(False)
        self.body.addLayout(out)
        self.body.addWidget(split, 1)
        self.finish_layout()
        self.plan_errors: list[str] = []
        self.plan_task: BackgroundTask | None = None
        self.planning = False
        self._replan = False

    # The runner's parts, by the names the tests and the screenshots use.
    @property
    def convert_button(self) -> QPushButton:
        return self.runner.convert_button

    @property
    def log(self) -> QPlainTextEdit:
        return self.runner.log

    @property
    def task(self) -> BackgroundTask | None:
        return self.runner.task

    @property
    def outcome(self) -> str:
        """ "", "done", "cancelled" or "failed" (of the last conversion)."""
        return self.runner.outcome

    # --- plan ---------------------------------------------------------------------

    def load(self) -> None:
        self.output.setText(self.state.recipe.output)
        self.update_plan()

    def update_plan(self) -> None:
        """Run ``plan`` (headers only) in the background and show its summary and problems."""
        if self.plan_task is not None and self.plan_task.running:
            self._replan = True
            return
        self._replan = False
        self.planning = True
        self.plan_text.setText("Checking the recipe and every source…")
        self.convert_button.setEnabled(False)
        recipe, overwrite = self.state.recipe, self.overwrite.isChecked()
        self.plan_task = BackgroundTask(lambda: run_plan(recipe, overwrite), self)
        self.plan_task.finished.connect(self._planned)
        self.plan_task.failed.connect(self._plan_failed)
        self.plan_task.start()
        self.refresh()

    def _planned(self, result: Any) -> None:
        if self._replan:
            self.update_plan()
            return
        self.plan_errors, warnings, summary = plan_lines(result)
        self.plan_text.setText(summary)
        self.plan_warnings.setText("\n".join(f"• {w}" for w in warnings))
        self.plan_warnings.setVisible(bool(warnings))
        self._show_plan()

    def _plan_failed(self, error: BaseException) -> None:
        if self._replan:
            self.update_plan()
            return
        self.plan_errors = [gui_words(format_error(error).replace("\n  hint:", " —"))]
        self.plan_text.setText("The plan could not be made:")
        self._show_plan()

    def _show_plan(self) -> None:
        self.planning = False
        self.plan_problems.setText("\n".join(f"• {e}" for e in self.plan_errors))
        self.plan_problems.setVisible(bool(self.plan_errors))
        self.convert_button.setEnabled(not self.plan_errors and not self.busy())
        self.refresh()

    def _set_output(self) -> None:
        text = self.output.text().strip()
        if text and text != self.state.recipe.output:
            self.state.recipe.output = text
            self.update_plan()

    def choose_output(self) -> None:
        folder, _ = QFileDialog.getSaveFileName(
            self,
            "Dataset folder to create",
            str(self.state.recipe.resolve(self.state.recipe.output)),
        )
        if folder:
            self.output.setText(folder)
            self._set_output()

    # --- convert ------------------------------------------------------------------

    def busy(self) -> bool:
        return self.runner.busy()

    def start(self) -> None:
        """Convert in a worker thread; the UI only receives Progress events."""
        if self.busy() or self.plan_errors or self.planning:
            return
        recipe = self.state.recipe
        self.state.written_dir = ""
        overwrite = self.overwrite.isChecked()
        self.runner.run(lambda: run_convert(recipe, overwrite), recipe.resolve(recipe.output))
        self.refresh()

    def cancel(self) -> None:
        self.runner.cancel()

    def cancel_and_wait(self) -> None:
        """Cancel and wait for the worker (window closing only)."""
        self.runner.cancel_and_wait()

    def stop_work(self) -> None:
        self.runner.stop_clock()
        if self.plan_task is not None and self.plan_task.running:
            self.plan_task.wait()

    def _ended(self, outcome: str) -> None:
        if outcome == "done":
            self.state.written_dir = self.runner.target
            self.wizard_.remember("datasets", self.runner.target)
        self.convert_button.setEnabled(not self.plan_errors)
        self.refresh()

    # --- after --------------------------------------------------------------------

    def choose_recipe_path(self) -> None:
        start = self.state.recipe_path or str(self.state.recipe.base_dir / "recipe.yaml")
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the recipe", start, "YAML (*.yaml);;JSON (*.json)"
        )
        if path:
            self.save_recipe(path)

    def save_recipe(self, path: str | Path) -> Path:
        """Save the recipe being edited (paths stay relative to the recipe's folder)."""
        written = save_recipe(self.state.recipe, path)
        self.log.appendPlainText(f"Recipe saved: {written}")
        self.wizard_.remember("recipes", written)
        return written

    def reset(self) -> None:
        super().reset()
        self.runner.reset()
        self.plan_errors = []
        self.plan_text.setText("Checking the plan…")
        for label in (self.plan_problems, self.plan_warnings):
            label.setText("")
            label.setVisible(False)

    def problems(self) -> list[str]:
        if self.planning:
            return ["Checking the recipe…"]
        if self.busy():
            return ["The conversion is running."]
        if self.plan_errors:
            return ["Fix the problems listed above (on the page named in each) before converting."]
        if self.outcome != "done":
            return ["Press Convert to write the dataset."]
        return []
