"""The import wizard: nine pages that edit one Recipe, then write and check the dataset."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings
from PySide6.QtGui import QCloseEvent, QIcon
from PySide6.QtWidgets import QMessageBox, QWidget, QWizard

from app.pages.base import WizardPage
from app.pages.normalisation import NormalisationPage
from app.pages.preview import PreviewPage
from app.pages.published import PublishedPage
from app.pages.responses import ResponsesPage
from app.pages.sessions import SessionsPage
from app.pages.start import StartPage
from app.pages.stimuli import StimuliPage
from app.pages.timing import TimingPage
from app.pages.use import UsePage
from app.pages.write import WritePage
from app.settings import remember
from app.sources_cache import ReaderCache, probe_path
from app.state import Probed, WizardState, new_recipe
from app.workers import BackgroundTask
from openretina_data.errors import OpenRetinaDataError, format_error
from openretina_data.recipe import load_recipe

if TYPE_CHECKING:
    from app.viewer import DatasetViewer

RESOURCES = Path(__file__).parent / "resources"


def app_icon() -> QIcon:
    """The app icon (an SVG in ``resources/``)."""
    return QIcon(str(RESOURCES / "icon.svg"))


def stylesheet() -> str:
    """The small stylesheet in ``resources/``."""
    return (RESOURCES / "style.qss").read_text(encoding="utf-8")


class ImportWizard(QWizard):
    """Start → Stimuli → Responses → Sessions → Timing → Normalisation → Preview → Write → Use.

    A published dataset goes Start → Convert a published dataset → Use.

    Parameters
    ----------
    settings
        Where recent files are remembered (tests pass a temporary INI file).
    state
        The state to edit (a fresh one by default).
    """

    def __init__(
        self,
        settings: QSettings,
        state: WizardState | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.state = state or WizardState()
        self.readers = ReaderCache()
        self.viewers: list[QWidget] = []
        self.probing: BackgroundTask | None = None
        self.setWindowTitle("openretina-data — import recordings")
        self.setWindowIcon(app_icon())
        self.setStyleSheet(stylesheet())
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.HaveFinishButtonOnEarlyPages, False)
        self.start_page = StartPage(self)
        self.stimuli_page = StimuliPage(self)
        self.responses_page = ResponsesPage(self)
        self.sessions_page = SessionsPage(self)
        self.timing_page = TimingPage(self)
        self.normalisation_page = NormalisationPage(self)
        self.preview_page = PreviewPage(self)
        self.write_page = WritePage(self)
        self.use_page = UsePage(self)
        self.published_page = PublishedPage(self)
        self.pages: dict[str, WizardPage] = {}
        self.numbers: dict[str, int] = {}
        for page in (
            self.start_page,
            self.stimuli_page,
            self.responses_page,
            self.sessions_page,
            self.timing_page,
            self.normalisation_page,
            self.preview_page,
            self.write_page,
            self.use_page,
            self.published_page,  # Start → published → Use, reached only from Start
        ):
            self.pages[page.page_id] = page
            self.numbers[page.page_id] = self.addPage(page)
        self.resize(1180, 700)  # fits a 1366×768 screen with a task bar
        self.setMinimumSize(900, 580)

    def page_number(self, page_id: str) -> int:
        """QWizard's number of the page ``page_id`` (for ``nextId``)."""
        return self.numbers[page_id]

    # --- actions the pages ask for ------------------------------------------------

    def new_conversion(self) -> None:
        """Forget everything and start an empty recipe: every page starts clean."""
        self.readers.close_all()
        self.state = WizardState(recipe=new_recipe(Path.cwd()))
        for page in self.pages.values():
            page.reset()

    def remember(self, kind: str, path: str | Path) -> None:
        """Put ``path`` first in the recent ``kind`` ("recipes", "datasets"); Welcome shows it at once."""
        remember(self.settings, kind, Path(path).resolve())
        self.start_page.load_recent()

    def open_recipe(self, path: str | Path) -> bool:
        """Load a recipe file into the wizard; a problem is shown, not raised."""
        try:
            recipe = load_recipe(path)
        except (OpenRetinaDataError, OSError) as error:
            QMessageBox.warning(self, "Cannot open the recipe", format_error(error))
            return False
        self.readers.close_all()
        self.state.recipe = recipe
        self.state.mode, self.state.recipe_path = "recipe", str(path)
        self.state.probes.clear()
        # A saved recipe states kind and unit of every source: they count as confirmed.
        self.state.confirmed = {r.path for s in recipe.sessions for r in s.responses}
        self.remember("recipes", path)
        self.probe_all()
        return True

    def probe_all(self) -> None:
        """Probe every source of the recipe in the background; pages refresh when done."""
        targets = self.state.probe_targets()
        if not targets:
            return

        def work() -> Iterator[tuple[str, Probed]]:
            for key, path in targets.items():
                yield key, probe_path(path)

        self.probing = BackgroundTask(work, self, min_interval_s=0.0)
        self.probing.progress.connect(lambda item: self.state.probes.__setitem__(*item))
        self.probing.finished.connect(lambda _: self._reload_current())
        self.probing.start()

    def _reload_current(self) -> None:
        page = self.currentPage()
        if isinstance(page, WizardPage):
            page.load()
            page.refresh()

    def open_viewer(self, path: str | Path) -> DatasetViewer | None:
        """Open a dataset folder read-only in a viewer window.

        A missing path (or a file) is shown in a message box, not raised, and is not
        remembered; ``None`` is returned then.
        """
        from app.viewer import DatasetViewer
        from openretina_data.layout import dataset_folder_problem

        problem = dataset_folder_problem(path)
        if problem is not None:
            QMessageBox.warning(self, "Cannot open the dataset", format_error(problem))
            return None
        try:
            viewer = DatasetViewer(Path(path))
        except (OpenRetinaDataError, OSError) as error:
            QMessageBox.warning(self, "Cannot open the dataset", format_error(error))
            return None
        viewer.setWindowIcon(app_icon())
        viewer.show()
        self.viewers.append(viewer)
        self.remember("datasets", path)
        return viewer

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        running = [p for p in (self.write_page, self.published_page) if p.runner.busy()]
        if running:
            answer = QMessageBox.question(
                self,
                "Conversion running",
                "Cancel the conversion and close? Nothing half-written is kept.",
            )
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
            for busy_page in running:
                busy_page.runner.cancel_and_wait()
        for page in self.pages.values():
            stop = getattr(page, "stop_work", None)
            if stop is not None:
                stop()
        # Every worker thread must end before its QThread object goes away.
        for task in self.findChildren(BackgroundTask):
            task.cancel()
            task.wait()
        self.readers.close_all()
        super().closeEvent(event)
