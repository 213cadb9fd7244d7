"""Plain-language numbers for timing reports ("312 of 36 000 frames ...")."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray


def count(n: int | np.integer) -> str:
    """``36000`` → ``"36 000"`` (thin, unambiguous thousands separator)."""
    return f"{int(n):,}".replace(",", " ")


def seconds(t: float) -> str:
    """A time in seconds with as many digits as a person needs."""
    if t != 0 and abs(t) < 1:
        return f"{t * 1000:.3g} ms"
    return f"{t:,.6g} s".replace(",", " ")


def percent(part: int, whole: int) -> str:
    """``(1.2 %)`` or ``""`` when ``whole`` is zero."""
    return f" ({100.0 * part / whole:.3g} %)" if whole else ""


def listing(values: Sequence[int | str] | NDArray[np.integer], limit: int = 5) -> str:
    """``"3, 17, 42 and 9 more"`` — the first few items of a list, then how many are left."""
    items = [count(v) if isinstance(v, int | np.integer) else str(v) for v in list(values)[:limit]]
    rest = len(values) - len(items)
    text = ", ".join(items)
    return f"{text} and {count(rest)} more" if rest > 0 else text
