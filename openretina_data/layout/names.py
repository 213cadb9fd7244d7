"""Names of layout v1: folders, keys, the card file, and which names are legal.

A dataset folder holds ``stimuli/<stim>.npy``, one ``<session>.hdf5`` per session and
the card ``openretina_data.json``. Inside a session file, the keys are
``responses_<stim>``, optionally ``stimulus_<stim>`` and ``test_by_trial_<stim>``, and
the group ``session_info``. openretina 1.1.1 reads the session stem as the session
name and every ``*.h5``/``*.hdf5`` file in the folder as a session.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from openretina_data.errors import InvalidNameError, OutputError

LAYOUT_VERSION = 1
STIMULI_DIR = "stimuli"
CARD_NAME = "openretina_data.json"
SESSION_SUFFIX = ".hdf5"
SESSION_SUFFIXES = (".h5", ".hdf5")
STIMULUS_SUFFIX = ".npy"
SESSION_INFO_GROUP = "session_info"

RESPONSES_PREFIX = "responses_"
STIMULUS_PREFIX = "stimulus_"
TEST_BY_TRIAL_PREFIX = "test_by_trial_"

# openretina's split names: a test stimulus with one of these names would overwrite a split.
RESERVED_TEST_NAMES = frozenset({"train", "validation"})
RESPONSE_UNITS = ("spikes/bin", "Hz", "dF/F", "a.u.")

MAX_NAME_LENGTH = 200
#: File systems limit a name to 255 bytes; ours get a suffix and a temporary prefix too.
MAX_NAME_BYTES = 200
# Characters that are illegal in file names on at least one common file system.
_UNPORTABLE = set('/\\:*?"<>|')


def responses_key(stimulus: str) -> str:
    """HDF5 key of a session's responses to ``stimulus``: ``responses_<stimulus>``."""
    return RESPONSES_PREFIX + stimulus


def stimulus_key(stimulus: str) -> str:
    """HDF5 key of a session-specific movie: ``stimulus_<stimulus>``."""
    return STIMULUS_PREFIX + stimulus


def test_by_trial_key(stimulus: str) -> str:
    """HDF5 key of the single-trial repeats of a test stimulus: ``test_by_trial_<stimulus>``."""
    return TEST_BY_TRIAL_PREFIX + stimulus


test_by_trial_key.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def session_file_name(session: str) -> str:
    """File name of a session: ``<session>.hdf5``."""
    return session + SESSION_SUFFIX


def stimulus_file_name(stimulus: str) -> str:
    """File name of a shared stimulus inside ``stimuli/``: ``<stimulus>.npy``."""
    return stimulus + STIMULUS_SUFFIX


def validate_name(name: str, *, kind: str) -> str:
    """Return ``name`` if it can be a session or stimulus name, else raise.

    Parameters
    ----------
    name
        The proposed name.
    kind
        ``"session"`` or ``"stimulus"``; used in the message.

    Raises
    ------
    InvalidNameError
        Empty, too long, ``.``/``..``, leading dot or space, a path separator or another
        character illegal on common file systems, or a control character.
    """
    problem = _name_problem(name)
    if problem is not None:
        raise InvalidNameError(
            f"{kind} name {name!r} is not allowed: {problem}",
            key=name if kind == "stimulus" else None,
            session=name if kind == "session" else None,
            hint=f"Use letters, digits, '_', '-' and '.' only, e.g. {_suggest(name)!r}.",
        )
    return name


def _name_problem(name: str) -> str | None:
    if not isinstance(name, str) or name == "":
        return "it is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"it is longer than {MAX_NAME_LENGTH} characters"
    if name in (".", ".."):
        return "it is a relative folder reference"
    if ".." in name:
        return "it contains '..'"
    if name[0] in ". " or name[-1] == " ":
        return "it starts with a dot or space, or ends with a space"
    bad = sorted({c for c in name if c in _UNPORTABLE or _invisible(c)})
    if bad:
        return f"it contains {', '.join(_show(c) for c in bad)}"
    size = len(name.encode("utf-8", errors="surrogatepass"))
    if size > MAX_NAME_BYTES:
        return (
            f"it is {size} bytes long in UTF-8, more than the {MAX_NAME_BYTES} a file name allows"
        )
    return None


def _invisible(character: str) -> bool:
    """Control (C0, C1), format (bidi overrides, zero-width) and unassigned/surrogate characters."""
    return unicodedata.category(character) in ("Cc", "Cf", "Cs", "Co", "Cn")


def _show(character: str) -> str:
    if _invisible(character):
        name = unicodedata.name(character, "")
        return f"U+{ord(character):04X}" + (f" ({name})" if name else "")
    return repr(character)


def fold(name: str) -> str:
    """The form two names share when they would be one file somewhere (NFC, letter case)."""
    return unicodedata.normalize("NFC", name).casefold()


def _suggest(name: str) -> str:
    cleaned = "".join(c if (c.isalnum() or c in "_-.") else "_" for c in str(name))
    cleaned = cleaned.replace("..", "_").strip("._ ")
    return cleaned or "session_0"


def validate_unique(names: Iterable[str], *, kind: str) -> None:
    """Raise if two names are the same, or differ only in letter case or Unicode form (NFC/NFD)."""
    seen: dict[str, str] = {}
    for name in names:
        folded = fold(name)
        if folded in seen and seen[folded] != name:
            how = "letter case" if seen[folded].casefold() == name.casefold() else "Unicode form"
            raise InvalidNameError(
                f"{kind} names {seen[folded]!r} and {name!r} differ only in {how}",
                hint=f"Rename one of the two {kind}s; on macOS and Windows they would be the same file.",
            )
        if folded in seen:
            raise InvalidNameError(
                f"{kind} name {name!r} is used twice",
                hint=f"Give every {kind} its own name.",
            )
        seen[folded] = name


def validate_test_stimuli(test_stimuli: Iterable[str]) -> list[str]:
    """Check names of test stimuli; ``train``/``validation`` would overwrite a split."""
    names = list(test_stimuli)
    for name in names:
        validate_name(name, kind="stimulus")
        if name.casefold() in RESERVED_TEST_NAMES:
            raise InvalidNameError(
                f"test stimulus {name!r} has the name of a data split",
                key=name,
                hint="Rename the stimulus (e.g. 'test_movie'); 'train' and 'validation' are split names.",
            )
    validate_unique(names, kind="test stimulus")
    return names


def validate_response_unit(unit: str) -> str:
    """Return ``unit`` if it is one of :data:`RESPONSE_UNITS`, else raise."""
    if unit not in RESPONSE_UNITS:
        raise InvalidNameError(
            f"response unit {unit!r} is not one of {', '.join(RESPONSE_UNITS)}",
            hint="Pick 'spikes/bin' for binned counts, 'Hz' for rates, 'dF/F' for calcium, else 'a.u.'.",
        )
    return unit


def inside(folder: str | os.PathLike[str], relative: str) -> Path:
    """``folder / relative``, refusing any result that would leave ``folder``.

    Raises
    ------
    OutputError
        When ``relative`` is absolute or resolves outside ``folder`` (``..``, links).
    """
    base = Path(folder).resolve()
    candidate = (base / relative).resolve()
    if Path(relative).is_absolute() or not candidate.is_relative_to(base) or candidate == base:
        raise OutputError(
            f"output name {relative!r} would be written outside the dataset folder",
            path=os.fspath(folder),
            hint="Use plain session and stimulus names without '/', '..' or absolute paths.",
        )
    return base / relative
