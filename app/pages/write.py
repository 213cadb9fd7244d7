"""Write: the plan and its problems, then the conversion in a worker thread with cancel."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
)

from app.pages.base import WizardPage
from app.workers import BackgroundTask
from openretina_data.errors import CancelledError, format_error
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

    errors = [line(p) for p in result.problems if p.severity == "error"]
    warnings = [line(p) for p in result.problems if p.severity != "error"]
    problem_lines = {text for p in result.problems for text in str(p).splitlines()}
    table = [text for text in result.summary().splitlines() if text not in problem_lines]
    return errors, warnings, "\n".join(table)


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
        self.plan_problems = QLabel()
        self.plan_problems.setWordWrap(True)
        self.plan_problems.setProperty("role", "problem")
        self.plan_warnings = QLabel()
        self.plan_warnings.setWordWrap(True)
        self.plan_warnings.setProperty("role", "warning")
        self.plan_warnings.setVisible(False)
        controls = QHBoxLayout()
        self.convert_button = QPushButton("&Convert")
        self.convert_button.setToolTip(
            "Write the dataset (in the background; the window stays usable)"
        )
        self.convert_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("C&ancel")
        self.cancel_button.setToolTip("Stop now; nothing half-written is kept")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.timing = QLabel()
        self.open_button = QPushButton("&Open folder")
        self.open_button.clicked.connect(self.open_folder)
        self.open_button.setEnabled(False)
        self.save_button = QPushButton("&Save recipe…")
        self.save_button.setToolTip(
            "Save the recipe to re-run this conversion (e.g. next week's sessions)"
        )
        self.save_button.clicked.connect(self.choose_recipe_path)
        for widget in (self.convert_button, self.cancel_button):
            controls.addWidget(widget)
        controls.addWidget(self.progress, 1)
        controls.addWidget(self.timing)
        controls.addWidget(self.open_button)
        controls.addWidget(self.save_button)
        self.log = QPlainTextEdit()
        self.log.setObjectName("log")
        self.log.setReadOnly(True)
        self.log.setToolTip("What the conversion did, step by step")
        self.body.addLayout(out)
        self.body.addWidget(self.plan_text)
        self.body.addWidget(self.plan_problems)
        self.body.addWidget(self.plan_warnings)
        self.body.addLayout(controls)
        self.body.addWidget(self.log, 1)
        self.finish_layout()
        self.plan_errors: list[str] = []
        self.plan_task: BackgroundTask | None = None
        self.planning = False
        self._replan = False
        self.task: BackgroundTask | None = None
        self._started = 0.0
        self.outcome = ""  # "", "done", "cancelled", "failed"
        self._clock = QTimer(self)
        self._clock.setInterval(500)
        self._clock.timeout.connect(self._tick)
        self._last: tuple[int, int] = (0, 0)

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
        self.plan_errors = [format_error(error).replace("\n  hint:", " —")]
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
        return self.task is not None and self.task.running

    def start(self) -> None:
        """Convert in a worker thread; the UI only receives Progress events."""
        if self.busy() or self.plan_errors or self.planning:
            return
        recipe = self.state.recipe
        self.log.clear()
        self.outcome = ""
        self.state.written_dir = ""
        self._log(f"Converting into {recipe.resolve(recipe.output)}")
        overwrite = self.overwrite.isChecked()
        # Every Progress reaches the log (convert yields once per slab, not per frame).
        self.task = BackgroundTask(lambda: run_convert(recipe, overwrite), self, min_interval_s=0.0)
        self.task.progress.connect(self._progress)
        self.task.finished.connect(self._done)
        self.task.failed.connect(self._failed)
        self.task.cancelled.connect(self._cancelled)
        self._started = time.monotonic()
        self._last = (0, 0)
        self.progress.setValue(0)
        self.convert_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.open_button.setEnabled(False)
        self._clock.start()
        self.task.start()
        self.refresh()

    def cancel(self) -> None:
        if self.busy() and self.task is not None:
            self._log("Cancelling at the next step…")
            self.task.cancel()

    def cancel_and_wait(self) -> None:
        """Cancel and wait for the worker (window closing only)."""
        if self.task is not None:
            self.task.cancel()
            self.task.wait()

    def stop_work(self) -> None:
        self._clock.stop()
        if self.plan_task is not None and self.plan_task.running:
            self.plan_task.wait()

    def _progress(self, event: Any) -> None:
        done, total = int(getattr(event, "done", 0)), int(getattr(event, "total", 0) or 0)
        self._last = (done, total)
        if total:
            self.progress.setMaximum(total)
            self.progress.setValue(min(done, total))
        message = getattr(event, "message", "")
        step = getattr(event, "step", "")
        if message:
            self._log(f"[{step}] {message}" if step else str(message))
        self._tick()

    def _tick(self) -> None:
        elapsed = time.monotonic() - self._started
        done, total = self._last
        if not self.busy():
            self.timing.setText(f"took {elapsed:.1f} s")
            return
        text = f"{elapsed:.0f} s elapsed"
        if total and done:
            text += f", about {elapsed * (total - done) / done:.0f} s left"
        self.timing.setText(text)

    def _finish(self, outcome: str) -> None:
        self.outcome = outcome
        self._clock.stop()
        self._tick()
        self.cancel_button.setEnabled(False)
        self.convert_button.setEnabled(not self.plan_errors)
        self.refresh()

    def _done(self, result: Any) -> None:
        recipe = self.state.recipe
        self.state.written_dir = str(recipe.resolve(recipe.output))
        self.progress.setValue(self.progress.maximum())
        self._log(f"Done: {self.state.written_dir}")
        self.open_button.setEnabled(True)
        self._finish("done")

    def _failed(self, error: BaseException) -> None:
        if isinstance(error, CancelledError):
            self._cancelled()
            return
        self._log(f"Failed, nothing was written:\n{format_error(error)}")
        self._finish("failed")

    def _cancelled(self) -> None:
        self._log("Cancelled: nothing was written.")
        self._finish("cancelled")

    def _log(self, line: str) -> None:
        self.log.appendPlainText(line)

    # --- after --------------------------------------------------------------------

    def open_folder(self) -> None:
        if self.state.written_dir:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.state.written_dir))

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
        self._log(f"Recipe saved: {written}")
        return written

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
