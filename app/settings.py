"""Recent recipes and datasets, remembered in QSettings.

Tests point :func:`open_settings` at a temporary INI file; the user's own settings are
only used when no path is given.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings

MAX_RECENT = 8


def open_settings(path: str | os.PathLike[str] | None = None) -> QSettings:
    """The app's settings: an INI file at ``path``, or the user's (``openretina``/``openretina-data``)."""
    if path is not None:
        return QSettings(os.fspath(path), QSettings.Format.IniFormat)
    return QSettings("openretina", "openretina-data")


def recent(settings: QSettings, kind: str) -> list[str]:
    """Recently used paths of ``kind`` (``recipes``, ``datasets``, ``folders``), newest first."""
    value = settings.value(f"recent/{kind}", [])
    if isinstance(value, str):  # QSettings returns a lone string for one-item lists
        return [value]
    return [str(v) for v in value] if isinstance(value, list | tuple) else []


def remember(settings: QSettings, kind: str, path: str | os.PathLike[str]) -> None:
    """Put ``path`` first in the recent list of ``kind``."""
    text = os.fspath(path)
    items = [text] + [p for p in recent(settings, kind) if p != text]
    settings.setValue(f"recent/{kind}", items[:MAX_RECENT])
    settings.sync()
