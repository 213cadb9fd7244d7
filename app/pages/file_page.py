"""What the file pages (Stimuli, Responses) share: add buttons and probing off the UI thread."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton

from app.pages.base import WizardPage
from app.sources_cache import probe_path
from app.state import Probed
from app.workers import BackgroundTask
from openretina_data.errors import format_error

if TYPE_CHECKING:
    from app.wizard import ImportWizard


class FilePage(WizardPage):
    """A page whose rows are files or folders the user adds.

    Subclasses lay out :meth:`button_row` and say in :meth:`add_probed` what adding one
    probed path does to the state; :meth:`add_paths` probes off the UI thread, reporting
    in ``self.busy``, and reloads the page after each path.
    """

    #: What the busy line calls the paths being probed.
    probing = "file(s)"

    def __init__(self, wizard: ImportWizard, title: str, subtitle: str) -> None:
        super().__init__(wizard, title, subtitle)
        self.busy = QLabel()
        self._task: BackgroundTask | None = None

    def button_row(self, *buttons: tuple[str, str, Callable[[], None]]) -> QHBoxLayout:
        """A row of ``(text, tooltip, slot)`` buttons ending in the busy line."""
        row = QHBoxLayout()
        for text, tip, slot in buttons:
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            row.addWidget(button)
        row.addStretch(1)
        row.addWidget(self.busy)
        return row

    def add_paths(self, paths: list[str]) -> None:
        """Probe ``paths`` off the UI thread, then add each with :meth:`add_probed`."""
        if not paths:
            return
        self.busy.setText(f"Looking inside {len(paths)} {self.probing}…")

        def work() -> Iterator[tuple[str, Probed]]:
            for path in paths:
                yield path, probe_path(path)

        self._task = BackgroundTask(work, self, min_interval_s=0.0)
        self._task.progress.connect(self._probed)
        self._task.finished.connect(lambda _: self.busy.setText(""))
        self._task.failed.connect(lambda e: self.busy.setText(format_error(e)))
        self._task.start()

    def add_probed(self, path: str, probed: Probed) -> None:
        """Add one probed path to the state (the subclass says as what)."""
        raise NotImplementedError

    def _probed(self, item: tuple[str, Probed]) -> None:
        path, probed = item
        self.add_probed(path, probed)
        self.load()
        self.refresh()
