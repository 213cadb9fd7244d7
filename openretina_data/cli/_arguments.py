"""Argument types shared by the subcommands: a bad number is a usage error (exit 2).

argparse turns the ``ArgumentTypeError`` these raise into
``openretina-data <command>: error: argument --flag: <message>`` and exit code 2,
before the command starts.
"""

from __future__ import annotations

import argparse


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
