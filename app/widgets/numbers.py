"""A number box that takes what a person types: decimals kept, no hidden first keystroke."""

from __future__ import annotations

from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QDoubleSpinBox, QWidget


class NumberBox(QDoubleSpinBox):
    """A ``QDoubleSpinBox`` for measured quantities (rates, means).

    Two things a plain one gets wrong for a person typing:

    - When it shows its special text ("required") at the minimum, the first keystroke
      lands after that text and is refused (``required7``); here typing replaces it.
    - A fixed number of decimals rounds what was typed (7.25 → 7.2 with one decimal);
      here up to ``decimals`` digits are kept and shown without trailing zeros.

    Parameters
    ----------
    minimum, maximum
        The range.
    decimals
        Digits kept after the decimal point (shown only as far as needed).
    special
        Text shown at ``minimum`` (e.g. "required"), or "" for the number.
    suffix
        Unit after the number, e.g. " Hz".
    """

    def __init__(
        self,
        minimum: float = 0.0,
        maximum: float = 1e9,
        *,
        decimals: int = 6,
        special: str = "",
        suffix: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setDecimals(decimals)
        self.setRange(minimum, maximum)
        self.setSpecialValueText(special)
        self.setSuffix(suffix)

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt API
        text = self.locale().toString(float(value), "f", self.decimals())
        point = self.locale().decimalPoint()
        if point in text:
            text = text.rstrip("0").rstrip(point)
        return text.replace(self.locale().groupSeparator(), "")

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        typed = event.text()
        special = self.specialValueText()
        showing_special = bool(special) and self.lineEdit().text() == special
        if showing_special and typed and (typed.isdigit() or typed in ".,-+"):
            self.lineEdit().clear()  # replace "required" rather than append to it
        super().keyPressEvent(event)
