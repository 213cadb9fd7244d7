"""What the file pages (Stimuli, Responses) share: add buttons and probing off the UI thread."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QHBoxLayout, QLabel, QMessageBox, QPushButton

from app.finding import describe_found, find_recordings
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

        def work() -> Iterator[tuple[str, Probed, list[Probed]]]:
            for path in paths:
                probed = probe_path(path)
                inside: list[Probed] = []
                if probed.info is None and Path(path).is_dir():
                    inside = find_recordings(path, probe_path)
                yield path, probed, inside

        self._task = BackgroundTask(work, self, min_interval_s=0.0)
        self._task.progress.connect(self._probed)
        self._task.finished.connect(lambda _: self.busy.setText(""))
        self._task.failed.connect(lambda e: self.busy.setText(format_error(e)))
        self._task.start()

    def add_probed(self, path: str, probed: Probed) -> None:
        """Add one probed path to the state (the subclass says as what)."""
        raise NotImplementedError

    def confirm_found(self, folder: str, summary: str) -> bool:
        """Ask whether to add the recordings found inside ``folder`` (tests replace this)."""
        answer = QMessageBox.question(
            self,
            "Recordings found inside the folder",
            f"No reader opens {Path(folder).name} as one recording, but it holds: "
            f"{summary}. Add them?",
        )
        return answer == QMessageBox.StandardButton.Yes

    def _probed(self, item: tuple[str, Probed, list[Probed]]) -> None:
        path, probed, inside = item
        if inside:
            if self.confirm_found(path, describe_found(inside)):
                for found in inside:
                    self.add_probed(found.path, found)
        else:
            self.add_probed(path, probed)
        self.load()
        self.refresh()
