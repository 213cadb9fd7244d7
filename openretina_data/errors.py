"""One error hierarchy for everything a user can get wrong.

Every error subclasses both :class:`OpenRetinaDataError` and the builtin it is
(``ValueError``, ``FileNotFoundError``, ``KeyError`` ...), so ``except ValueError``
keeps working. Each carries where the problem is (``path``, ``key``, ``session``)
and a plain-language ``hint``: one sentence that tells the person at the screen
what to do. The CLI and the wizard print ``str(error)``; they never show a
traceback for one of these.

Examples
--------
>>> raise ShapeError(
...     "responses have shape (5400, 60); expected (neurons, time)",
...     path="s0.hdf5", key="responses_natural", session="s0",
...     hint="Transpose the array: it looks like (time, neurons).",
... )
"""

from __future__ import annotations

import os
from typing import Any


class OpenRetinaDataError(Exception):
    """Base class of every error openretina-data raises on purpose.

    Parameters
    ----------
    message
        What is wrong, in one sentence.
    hint
        What to do about it, in one sentence.
    path, key, session
        Where the problem is: a file, a dataset key / variable inside it, a session.
    """

    default_hint = ""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        path: str | os.PathLike[str] | None = None,
        key: str | None = None,
        session: str | None = None,
    ) -> None:
        self.message = message
        self.hint = hint if hint is not None else self.default_hint
        self.path = os.fspath(path) if path is not None else None
        self.key = key
        self.session = session
        super().__init__(message)

    @property
    def where(self) -> str:
        """``session 's0', file 'x.h5', key 'responses'`` — only the parts that are known."""
        parts = []
        if self.session is not None:
            parts.append(f"session {self.session!r}")
        if self.path is not None:
            parts.append(f"file {self.path!r}")
        if self.key is not None:
            parts.append(f"key {self.key!r}")
        return ", ".join(parts)

    def __str__(self) -> str:
        text = self.message
        if self.where:
            text = f"{text} [{self.where}]"
        if self.hint:
            text = f"{text}\n  hint: {self.hint}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (for ``--json`` output and the wizard)."""
        return {
            "error": type(self).__name__,
            "message": self.message,
            "hint": self.hint,
            "path": self.path,
            "key": self.key,
            "session": self.session,
        }


# --- values and shapes -------------------------------------------------------------


class DataValidationError(OpenRetinaDataError, ValueError):
    """Array contents or metadata are not what the layout or the API needs."""


class ShapeError(DataValidationError):
    """An array has the wrong number of dimensions or mismatching lengths."""


class NonFiniteError(DataValidationError):
    """An array contains NaN or Inf where finite values are required."""

    default_hint = "Remove or interpolate the NaN/Inf values before converting."


class InvalidNameError(DataValidationError):
    """A session or stimulus name is illegal or clashes with another name."""


class TimingError(DataValidationError):
    """Frame times, triggers, spike times or traces cannot be aligned as stated."""


# --- mistakes openretina itself detects ----------------------------------------------
# Where openretina 1.1.1 catches a mistake with ``assert`` (or raises another builtin),
# ours is also that builtin, so an ``except`` clause written for openretina still
# catches it; the message begins with openretina's own sentence, then says more.


class ShapeAssertionError(ShapeError, AssertionError):
    """A shape mistake openretina 1.1.1 reports with ``assert``."""


class MismatchError(DataValidationError, AssertionError):
    """Movies and responses that do not belong together (names, ``stim_id``), which
    openretina 1.1.1 reports with ``assert``."""


class SessionMismatchError(InvalidNameError, AssertionError):
    """The responses and movies dictionaries name different sessions (openretina 1.1.1
    asserts they match)."""


class UnknownSplitError(DataValidationError, NotImplementedError):
    """A split name the dataloaders do not know (openretina 1.1.1 raises
    ``NotImplementedError``)."""


# --- files and formats -------------------------------------------------------------


class SourceNotFoundError(OpenRetinaDataError, FileNotFoundError):
    """An input file or folder does not exist."""

    default_hint = "Check the path; relative paths are resolved from the recipe's folder."


class DatasetFolderNotFoundError(SourceNotFoundError, ValueError):
    """The dataset folder handed to the h5 reader is not a directory (openretina 1.1.1
    raises ``ValueError``; ``except FileNotFoundError`` catches it too)."""


class UnreadableSourceError(OpenRetinaDataError, OSError):
    """A file exists but cannot be read: truncated, corrupt or not what its name says."""

    default_hint = "Re-export or re-copy the file; it looks truncated or corrupt."


class UnsupportedFormatError(OpenRetinaDataError, ValueError):
    """No registered reader can open this file."""


class MissingKeyError(OpenRetinaDataError, KeyError):
    """A dataset key / variable / column asked for is not in the file."""

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return OpenRetinaDataError.__str__(self)


class UnsafeContentError(OpenRetinaDataError, ValueError):
    """A file would need code execution to load (a pickle with objects, say): refused."""

    default_hint = "Re-save the data as plain arrays (np.save without objects, HDF5, MAT)."


class MissingDependencyError(OpenRetinaDataError, ImportError):
    """An optional extra is needed for this format or feature."""


# --- recipes, layout, output -------------------------------------------------------


class RecipeError(OpenRetinaDataError, ValueError):
    """A recipe is malformed: unknown keys, wrong version, bad types or values."""


class LayoutError(OpenRetinaDataError, ValueError):
    """A folder is not a valid native dataset."""


class OutputError(OpenRetinaDataError, OSError):
    """The output cannot be written: exists, locked, read-only, disk full, escapes its folder."""


class CancelledError(OpenRetinaDataError, RuntimeError):
    """Work was cancelled by the user; nothing was left behind."""


class WorkerError(OpenRetinaDataError, RuntimeError):
    """A worker process died (killed by the system, out of memory); nothing was left behind."""


def format_error(error: BaseException) -> str:
    """One message for a person: ours as they are, anything else with its type name."""
    if isinstance(error, OpenRetinaDataError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def error_from_dict(data: dict[str, Any]) -> OpenRetinaDataError:
    """The error :meth:`OpenRetinaDataError.to_dict` described (an unknown class name comes
    back as :class:`UnreadableSourceError`): errors cross process boundaries this way."""
    cls = globals().get(str(data.get("error")))
    if not (isinstance(cls, type) and issubclass(cls, OpenRetinaDataError)):
        cls = UnreadableSourceError
    return cls(
        str(data.get("message")),
        hint=data.get("hint"),
        path=data.get("path"),
        key=data.get("key"),
        session=data.get("session"),
    )
