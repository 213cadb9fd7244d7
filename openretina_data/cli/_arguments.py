"""Argument types shared by the subcommands: a bad number is a usage error (exit 2).

argparse turns the ``ArgumentTypeError`` these raise into
``openretina-data <command>: error: argument --flag: <message>`` and exit code 2,
before the command starts.
"""

from __future__ import annotations

import argparse
import unicodedata

from openretina_data.errors import OpenRetinaDataError
from openretina_data.recipe import Recipe, expand_sessions


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def positive_int(text: str) -> int:
    """A whole number of at least 1 (a count or a size)."""
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is too small; give a whole number of at least 1")
    return value


def non_negative_int(text: str) -> int:
    """A whole number of at least 0 (e.g. worker processes, where 0 means none)."""
    value = _whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; give a whole number of at least 0")
    return value


def unknown_session(recipe: Recipe, name: str | None) -> str | None:
    """The usage error for ``--session NAME`` naming no session of the recipe, else None.

    Lists the recipe's sessions so the user can pick one (the caller exits 2). A recipe
    whose sessions cannot be expanded is left for plan to report.
    """
    if name is None:
        return None
    try:
        names = [s.name for s in expand_sessions(recipe)]
    except OpenRetinaDataError:
        return None
    if unicodedata.normalize("NFC", name) in names:
        return None
    listing = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
    return (
        f"error: argument --session: the recipe has no session {name!r}; "
        f"its sessions are: {listing or 'none'}"
    )
