"""Small widgets shared by the file pages: drop target, add buttons, a combo in a cell."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)


class DropTable(QTableWidget):
    """A table that accepts files and folders dropped on it (emits their local paths)."""

    pathsDropped = Signal(list)

    def __init__(self, headers: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__(0, len(headers), parent)
        self.setHorizontalHeaderLabels(list(headers))
        self.setAcceptDrops(True)
        # Tab leaves the table (arrow keys move between cells, F2 edits): no keyboard trap.
        self.setTabKeyNavigation(False)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            self.pathsDropped.emit(paths)
            event.acceptProposedAction()
        else:
            super().dropEvent(event)

    def set_text(
        self, row: int, column: int, text: str, *, editable: bool = False, tip: str = ""
    ) -> QTableWidgetItem:
        """Put ``text`` in a cell; read-only unless ``editable``."""
        item = QTableWidgetItem(text)
        if not editable:
            item.setFlags(item.flags() & ~item.flags().ItemIsEditable)
        if tip:
            item.setToolTip(tip)
        self.setItem(row, column, item)
        return item

    def set_combo(
        self,
        row: int,
        column: int,
        choices: Sequence[str],
        current: str,
        on_change: Callable[[str], None],
        *,
        editable: bool = False,
        tip: str = "",
    ) -> QComboBox:
        """Put a combo box in a cell; ``on_change(text)`` runs when the user picks."""
        combo = QComboBox()
        combo.setEditable(editable)
        combo.addItems(list(choices))
        if current not in choices:
            combo.addItem(current)
        combo.setCurrentText(current)
        combo.setToolTip(tip)
        combo.currentTextChanged.connect(on_change)
        self.setCellWidget(row, column, combo)
        return combo
