"""Who owns an output folder, and whether replacing it can lose anything.

Replacing a dataset (``--overwrite``, the wizard's Replace) deletes the folder it
replaces. :func:`occupant` looks at what is there before anything is written and
says what it is: nothing, an empty folder, something that is not a folder, a dataset
this tool wrote (its card is ours and every file in it is one the card lists), a
folder holding files we did not write, or one holding sources of the conversion.
Only the first three may be written into and only ``ours`` may be replaced; the
writer and ``plan`` both ask here, so the two can never disagree.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from openretina_data.errors import OpenRetinaDataError
from openretina_data.layout.card import read_card
from openretina_data.layout.names import CARD_NAME

#: Files an operating system drops into any folder it shows; they are nobody's data.
OS_LITTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
CREATOR = "openretina-data"

Kind = Literal["missing", "empty", "not_folder", "ours", "foreign", "sources"]


@dataclass
class Occupant:
    """What stands at an output path (see the module docstring)."""

    path: Path
    kind: Kind
    what: str = ""  # for not_folder: "a file", "a character device" ...
    names: list[str] = field(default_factory=list)  # foreign files, or sources inside

    @property
    def free(self) -> bool:
        """Nothing would be replaced: the path is missing or an empty folder."""
        return self.kind in ("missing", "empty")

    @property
    def replaceable(self) -> bool:
        """Replacing it deletes only a dataset this tool wrote."""
        return self.kind == "ours"

    def message(self, *, replacing: bool) -> str:
        """What is there, in one sentence; ``replacing``: the user asked to replace it."""
        listing = ", ".join(repr(n) for n in self.names[:5])
        more = f" and {len(self.names) - 5} more" if len(self.names) > 5 else ""
        if self.kind == "not_folder":
            return f"the output path is {self.what}, not a folder"
        if self.kind == "sources":
            return (
                "the output folder holds (or lies inside) source files of this conversion: "
                f"{listing}{more}"
            )
        if self.kind == "foreign":
            verb = "refusing to replace" if replacing else "the output folder already exists and"
            return (
                f"{verb} a folder holding files that openretina-data did not write: {listing}{more}"
            )
        return "the output folder already holds a dataset written by openretina-data"

    def hint(self) -> str:
        """What to do; ``--overwrite`` is offered only where replacing loses nothing."""
        if self.kind == "ours":
            return "Choose a new folder, or pass --overwrite to replace that dataset."
        if self.kind == "sources":
            return (
                "Write the dataset into a folder of its own (e.g. output: dataset); "
                "replacing this one would delete the sources."
            )
        if self.kind == "foreign":
            return (
                "Choose a new, empty output folder; replacing this one would delete those "
                "files (only a dataset openretina-data wrote is ever replaced)."
            )
        return "Choose a new folder name for the dataset."


def _kind_of(mode: int) -> str:
    for test, words in (
        (stat.S_ISREG, "a file"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return words
    return "not a folder"


def real(path: str | os.PathLike[str]) -> Path:
    """``path`` absolute with every symlink followed (also where it does not exist yet)."""
    return Path(os.path.realpath(path))


def overlapping(target: Path, sources: Iterable[Path]) -> list[Path]:
    """The sources that are ``target``, lie inside it, or hold it (symlinks followed)."""
    out = real(target)
    found = []
    for source in sources:
        where = real(source)
        if where == out or where.is_relative_to(out) or out.is_relative_to(where):
            found.append(source)
    return found


def occupant(target: str | os.PathLike[str], sources: Iterable[Path] = ()) -> Occupant:
    """What stands at ``target``; ``sources``: files the conversion reads (never replaced)."""
    path = Path(os.path.abspath(target))
    inside = overlapping(path, sources)
    if inside:
        return Occupant(path, "sources", names=sorted({os.fspath(p) for p in inside}))
    try:
        info = path.lstat()
    except FileNotFoundError:
        return Occupant(path, "missing")
    except OSError:
        return Occupant(path, "not_folder", "not readable")
    if stat.S_ISLNK(info.st_mode):
        return Occupant(path, "not_folder", "a symbolic link")
    if not stat.S_ISDIR(info.st_mode):
        return Occupant(path, "not_folder", _kind_of(info.st_mode))
    try:
        entries = [e for e in path.iterdir() if e.name not in OS_LITTER]
    except OSError:
        return Occupant(path, "not_folder", "a folder that cannot be listed")
    if not entries:
        return Occupant(path, "empty")
    return _dataset_or_foreign(path)


def _dataset_or_foreign(path: Path) -> Occupant:
    """``ours`` when the card is ours and lists every file there; else ``foreign``."""
    try:
        card = read_card(path)
    except OpenRetinaDataError:
        card = None
    listed = set(card.files) if card is not None else set()
    unknown = []
    for folder, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if not _our_temporary(d)]
        for name in files:
            if name in OS_LITTER or _our_temporary(name):
                continue
            relative = Path(folder, name).relative_to(path).as_posix()
            if relative != CARD_NAME and relative not in listed:
                unknown.append(relative)
    for folder, dirs, _files in os.walk(path):
        for name in dirs:  # a symlinked folder (never followed) must be one the card lists
            entry = Path(folder, name)
            relative = entry.relative_to(path).as_posix()
            if entry.is_symlink() and not any(f.startswith(relative + "/") for f in listed):
                unknown.append(relative)
    if card is None or not card.created_by.startswith(CREATOR):
        names = sorted(unknown) or [CARD_NAME]
        return Occupant(path, "foreign", names=names)
    if unknown:
        return Occupant(path, "foreign", names=sorted(unknown))
    return Occupant(path, "ours")


def _our_temporary(name: str) -> bool:
    """A leftover of one of our writers (``.x.tmp-123``), cleaned up before writing."""
    return name.startswith(".") and ".tmp-" in name
