"""Sessions: the auto-matched table of sessions × stimuli, editable cell by cell."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QHBoxLayout, QPushButton, QTableWidgetItem

from app.pages.base import WizardPage
from app.state import match_epochs, session_problems
from app.widgets.files import DropTable
from openretina_data.recipe import Epoch

if TYPE_CHECKING:
    from app.wizard import ImportWizard

COLUMNS = ("Session", "Responses", "Stimuli shown, in order", "Status")


def epochs_text(epochs: list[Epoch]) -> str:
    """``natural, test×10`` — an epoch list as a person types it."""
    return ", ".join(e.stimulus + (f"×{e.repeats}" if e.repeats > 1 else "") for e in epochs)


def parse_epochs(text: str) -> list[Epoch]:
    """Inverse of :func:`epochs_text`: ``natural, test×10`` (``*10`` works as well as ``×10``)."""
    epochs = []
    for part in (p.strip() for p in text.split(",")):
        match = re.fullmatch(r"(.+?)\s*[×*]\s*(\d+)", part)
        if match:
            epochs.append(Epoch(stimulus=match[1], repeats=max(int(match[2]), 1)))
        elif part:
            epochs.append(Epoch(stimulus=part))
    return epochs


class SessionsPage(WizardPage):
    """Rename sessions and fix which stimuli each saw; every row says if it is ok."""

    page_id = "sessions"

    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__(
            wizard,
            "Sessions",
            "Each response source is one session, matched to stimuli by file and folder names. "
            "Edit a cell to fix a name or the stimuli shown (write repeats as test×10).",
        )
        self.table = DropTable(COLUMNS)
        self.table.itemChanged.connect(self._edited)
        buttons = QHBoxLayout()
        rematch = QPushButton("&Match again")
        rematch.setToolTip("Redo the automatic matching of stimuli for every session")
        rematch.clicked.connect(self.match_again)
        buttons.addWidget(rematch)
        buttons.addStretch(1)
        self.body.addLayout(buttons)
        self.body.addWidget(self.table, 1)
        self.finish_layout()
        self._filling = False

    def match_again(self) -> None:
        recipe = self.state.recipe
        for session in recipe.sessions:
            for source in session.responses:
                source.epochs = match_epochs(source.path, session.name, recipe.stimuli)
        self.load()
        self.refresh()

    def load(self) -> None:
        self.state.rematch()
        self._filling = True
        recipe = self.state.recipe
        problems = dict(session_problems(recipe))
        rows = [(s, r) for s in recipe.sessions for r in s.responses]
        self.table.setRowCount(len(rows))
        for row, (session, source) in enumerate(rows):
            self.table.set_text(row, 0, session.name, editable=True, tip="Becomes <session>.hdf5")
            self.table.set_text(row, 1, Path(source.path).name, tip=source.path)
            self.table.set_text(
                row,
                2,
                epochs_text(source.epochs),
                editable=True,
                tip=f"Known stimuli: {', '.join(s.name for s in recipe.stimuli)}",
            )
            hint = problems.get(session.name, "")
            status = QTableWidgetItem(f"problem: {hint}" if hint else "ok")
            status.setFlags(status.flags() & ~status.flags().ItemIsEditable)
            status.setForeground(self.palette().text() if not hint else _red())
            status.setToolTip(hint or "Ready to convert")
            self.table.setItem(row, 3, status)
        self._filling = False

    def _edited(self, item: QTableWidgetItem) -> None:
        if self._filling:
            return
        rows = [(s, r) for s in self.state.recipe.sessions for r in s.responses]
        session, source = rows[item.row()]
        if item.column() == 0:
            session.name = item.text().strip()
        elif item.column() == 2:
            source.epochs = parse_epochs(item.text())
        self.load()
        self.refresh()

    def problems(self) -> list[str]:
        return self.state.page_problems("sessions")


def _red():  # noqa: ANN202
    from PySide6.QtGui import QBrush, QColor

    return QBrush(QColor("#a61b1b"))
