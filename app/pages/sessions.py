"""Sessions: the auto-matched table of sessions × stimuli, editable cell by cell."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QTableWidgetItem

from app.matching import SessionView, match_epochs, session_problems, session_views
from app.pages.base import WizardPage
from app.state import timing_words
from app.widgets.files import DropTable
from openretina_data.recipe import Epoch

if TYPE_CHECKING:
    from app.wizard import ImportWizard

COLUMNS = ("Session", "Responses", "Stimuli shown, in order", "Frame times", "Status")


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
            "One row per response file, matched to stimuli by file and folder names; a session "
            "recorded in several files has one row per file. Edit a cell to fix a name or the "
            "stimuli shown (write repeats as test×10).",
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
        self.views: list[SessionView] = []
        self.rows: list[tuple[SessionView, int]] = []  # (session, index of its source)

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
        self.views = session_views(recipe)
        self.rows = [
            (view, index)
            for view in self.views
            for index in range(max(len(view.spec.responses), 1))
        ]
        self.table.setRowCount(len(self.rows))
        for row, (view, index) in enumerate(self.rows):
            count = len(view.spec.responses)
            source = view.concrete.responses[index] if index < count else None
            spec_source = view.spec.responses[index] if index < count else None
            if index == 0:
                name_tip = (
                    f"Found by the pattern {recipe.session_pattern}: the folder name is the "
                    "session name"
                    if view.templated
                    else "Becomes <session>.hdf5"
                )
                self.table.set_text(row, 0, view.name, editable=not view.templated, tip=name_tip)
            else:
                self.table.set_text(
                    row,
                    0,
                    f"  ↳ {view.name}, file {index + 1} of {count}",
                    tip="Read after the session's previous file, as one recording",
                )
            self.table.set_text(row, 1, source.path if source else "", tip="Response source")
            shown = spec_source.epochs if spec_source else []
            epochs_tip = (
                f"Stimuli shown while this file was recorded, in order. "
                f"Known stimuli: {', '.join(s.name for s in recipe.stimuli)}"
            )
            if view.templated:
                epochs_tip += " · shared by every session of the pattern"
            self.table.set_text(row, 2, epochs_text(shown), editable=True, tip=epochs_tip)
            timing = timing_words(source, recipe.frame_rate_hz) if source else "already per frame"
            self.table.set_text(row, 3, timing, tip="Change on the Timing page")
            hint = problems.get(view.spec.name, "") if index == 0 else ""
            guessed = spec_source is not None and spec_source.path in self.state.guessed_timing
            if hint:
                text, colour, tip = f"problem: {hint}", "#a61b1b", hint
            elif guessed:
                text, colour = "guessed: check the frame times on Timing", "#8a5a00"
                tip = (
                    "The frame times and the stimuli shown (repeats included) are guesses from "
                    "file names: the Timing page shows what they decide"
                )
            else:
                text, colour, tip = "ok", "#1e6b2e", "Ready to convert"
            status = QTableWidgetItem(text)
            status.setFlags(status.flags() & ~Qt.ItemFlag.ItemIsEditable)
            status.setForeground(QBrush(QColor(colour)))
            status.setToolTip(tip)
            self.table.setItem(row, 4, status)
        self._filling = False

    def _edited(self, item: QTableWidgetItem) -> None:
        if self._filling:
            return
        view, index = self.rows[item.row()]
        if item.column() == 0 and index == 0 and not view.templated:
            view.spec.name = item.text().strip()
        elif item.column() == 2 and index < len(view.spec.responses):
            view.spec.responses[index].epochs = parse_epochs(item.text())
        self.load()
        self.refresh()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        # Back from Timing: the status column follows what was checked there.
        super().showEvent(event)
        self.load()

    def problems(self) -> list[str]:
        return self.state.page_problems("sessions")
