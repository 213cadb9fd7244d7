"""What every wizard page shares: the state it edits and a visible reason why Next is off."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget, QWizardPage

if TYPE_CHECKING:
    from app.state import WizardState
    from app.wizard import ImportWizard


class ProblemLabel(QLabel):
    """Plain-language problems (red) or a calm 'ready' line (green), placed where they are fixed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.show_problems([])

    def show_problems(self, problems: list[str], ready: str = "") -> None:
        """Show ``problems`` as a bullet list, or ``ready`` (may be empty) when there are none."""
        if problems:
            self.setProperty("role", "problem")
            self.setText("\n".join(f"• {p}" for p in problems))
        else:
            self.setProperty("role", "ok")
            self.setText(ready)
        self.setVisible(bool(problems) or bool(ready))
        self.style().unpolish(self)
        self.style().polish(self)


class WizardPage(QWizardPage):
    """A page that edits one part of the wizard's state.

    Subclasses build their widgets in ``__init__``, fill them from the state in
    :meth:`load`, and return what still blocks Next from :meth:`problems`; calling
    :meth:`refresh` after an edit updates the reason line and the Next button.
    """

    page_id = ""

    def __init__(self, wizard: ImportWizard, title: str, subtitle: str) -> None:
        super().__init__()
        self.wizard_ = wizard
        self.setTitle(title)
        self.setSubTitle(subtitle)
        self.body = QVBoxLayout(self)
        self.reason = ProblemLabel()
        self.reason.setObjectName(f"{self.page_id}_reason")

    @property
    def state(self) -> WizardState:
        """The wizard's state (one Recipe and what probing found)."""
        return self.wizard_.state

    def finish_layout(self) -> None:
        """Put the reason line at the bottom of the page (call at the end of ``__init__``)."""
        self.body.addWidget(self.reason)

    def initializePage(self) -> None:  # noqa: N802 - Qt API
        self.load()
        self.refresh()

    def load(self) -> None:
        """Fill the widgets from the state (called each time the page is entered)."""

    def reset(self) -> None:
        """Forget what the page showed of an earlier conversion (New conversion calls it)."""
        self.reason.show_problems([])

    def problems(self) -> list[str]:
        """What still blocks Next, in plain language (empty when the page is complete)."""
        return []

    def refresh(self) -> None:
        """Re-evaluate problems, show them, and update the Next button."""
        self.reason.show_problems(self.problems())
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802 - Qt API
        return not self.problems()
