"""``check(path)``: every problem of a dataset folder at once, each with a fix.

``check`` never raises on bad input: unreadable, truncated, empty or non-HDF5 files
become problems. Arrays are scanned for NaN/Inf in bounded time-chunks. Datasets made
by ``openretina create-data`` (float64, no card) check OK.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from openretina_data.layout.check_card import check_card, check_card_file
from openretina_data.layout.check_session import SessionContents, check_session, movie_frame_size
from openretina_data.layout.names import (
    RESERVED_TEST_NAMES,
    SESSION_SUFFIXES,
    STIMULI_DIR,
    STIMULUS_SUFFIX,
)
from openretina_data.layout.reading import NpyTimeFile, all_finite, read_npy_header
from openretina_data.layout.report import Problem, Report, Summary

__all__ = ["Problem", "Report", "Summary", "check"]

_RECOMMENDED_STIMULUS_DTYPES = ("float32", "uint8")


def check(path: str | os.PathLike[str], *, strict: bool = False) -> Report:
    """Check the dataset folder ``path`` against layout v1.

    The timing report each session's card entry holds is read back: its decision is an
    ``info``, each of its warnings a ``warning`` (an ``error`` with ``strict``).

    Returns
    -------
    Report
        ``ok`` is True when no problem has severity ``error``.
    """
    root = Path(path)
    report = Report(path=os.fspath(path))
    if not root.is_dir():
        report.add(
            "error",
            "not-a-folder",
            "the path is not a folder",
            "Pass the dataset folder (the one holding stimuli/ and the .hdf5 files).",
        )
        return report
    if root.name.startswith(".") and ".tmp-" in root.name:  # DatasetWriter's working folder
        report.add(
            "error",
            "unfinished-write",
            "this is the temporary folder of a conversion that did not finish",
            "Run the conversion again; it removes this folder and writes the dataset anew.",
            file=root.name,
        )
    card = check_card_file(root, report)
    try:
        shared = _check_stimuli_dir(root, report)
    except OSError as error:
        shared = {}
        report.add(
            "error",
            "unreadable-file",
            f"the {STIMULI_DIR}/ folder cannot be listed ({error.strerror})",
            "Check the folder's permissions.",
            file=STIMULI_DIR,
        )
    try:
        sessions = _session_files(root, report)
    except OSError as error:
        report.add(
            "error",
            "unreadable-file",
            f"the folder cannot be listed ({error.strerror})",
            "Check the folder's permissions.",
        )
        return report
    contents = {rel: check_session(root / rel, rel, report) for rel in sessions}
    _check_cross(root, report, shared, contents)
    if card is not None:
        check_card(root, report, card, shared, contents)
        _check_timing(report, card.extra.get("timing"), strict=strict)
    report.summary = Summary(
        stimuli={name: list(shape) for name, shape in shared.items()},
        neurons={Path(rel).stem: _neurons(c) for rel, c in contents.items()},
        session_stimuli={Path(rel).stem: sorted(c.responses) for rel, c in contents.items()},
        test_stimuli=list(card.test_stimuli) if card is not None else [],
        has_card=card is not None,
    )
    return report


def _check_timing(report: Report, timing: object, *, strict: bool) -> None:
    """The card's timing reports (one per timed response source of each session), read back."""
    if not isinstance(timing, dict):
        return
    for session, sources in timing.items():
        for data in sources if isinstance(sources, list) else []:
            if not isinstance(data, dict):
                continue
            where = f"{session}.hdf5"
            what = data.get("response") or data.get("path") or "responses"
            report.add(
                "info",
                "timing-report",
                f"{session}, {what}: {data.get('decision', '')}",
                "",
                file=where,
            )
            for warning in data.get("warnings", []):
                report.add(
                    "error" if strict else "warning",
                    "timing-warning",
                    f"{session}, {what}: {warning}",
                    "Look at this session's timing and the alignment check (wizard: Inspect a "
                    "dataset); check --strict treats timing warnings as errors.",
                    file=where,
                )


def _neurons(contents: SessionContents) -> int | None:
    counts = {shape[0] for shape in contents.responses.values()}
    return counts.pop() if len(counts) == 1 else None


# --- stimuli -----------------------------------------------------------------------


def _check_stimuli_dir(root: Path, report: Report) -> dict[str, tuple[int, ...]]:
    """Shapes of the readable, 4-D shared stimuli; problems for the rest."""
    folder = root / STIMULI_DIR
    shapes: dict[str, tuple[int, ...]] = {}
    if not folder.is_dir():
        return shapes
    for path in sorted(folder.iterdir()):
        if path.suffix != STIMULUS_SUFFIX or not path.name.endswith(STIMULUS_SUFFIX):
            continue
        relative = f"{STIMULI_DIR}/{path.name}"
        shape = _check_npy(path, relative, report)
        if shape is not None:
            shapes[path.stem] = shape
    by_folded: dict[str, list[str]] = defaultdict(list)
    for path in folder.glob(f"*{STIMULUS_SUFFIX}"):
        by_folded[path.stem.casefold()].append(path.name)
    for group in by_folded.values():
        if len(group) > 1:
            report.add(
                "error",
                "duplicate-stimulus",
                f"stimulus files {sorted(group)} differ only in letter case",
                "Rename one of them; on macOS and Windows they are the same file.",
                file=f"{STIMULI_DIR}/{sorted(group)[-1]}",
            )
    return shapes


def _check_npy(path: Path, relative: str, report: Report) -> tuple[int, ...] | None:
    fix_copy = "Re-copy or re-export this stimulus; the file is truncated or corrupt."
    try:
        size = path.stat().st_size
        header = read_npy_header(path)
    except (OSError, ValueError, SyntaxError) as error:
        reason = (
            "it is empty (0 bytes)" if path.exists() and path.stat().st_size == 0 else str(error)
        )
        report.add(
            "error",
            "unreadable-file",
            f"stimulus cannot be read: {reason}",
            fix_copy,
            file=relative,
        )
        return None
    if size < header.expected_size:
        report.add(
            "error",
            "unreadable-file",
            f"stimulus is truncated: {size} bytes, its header needs {header.expected_size}",
            fix_copy,
            file=relative,
        )
        return None
    if header.dtype.kind not in "uif" or header.dtype.kind == "b":
        report.add(
            "error",
            "stimulus-dtype",
            f"stimulus dtype {header.dtype} is not numeric",
            "Save the movie as float32 (or uint8).",
            file=relative,
        )
        return None
    if header.dtype.name not in _RECOMMENDED_STIMULUS_DTYPES:
        report.add(
            "info",
            "stimulus-dtype",
            f"stimulus dtype is {header.dtype}; float32 or uint8 need less memory",
            "Nothing needs doing; re-save as float32 to halve memory if it is float64.",
            file=relative,
        )
    if len(header.shape) != 4 or 0 in header.shape:
        report.add(
            "error",
            "stimulus-shape",
            f"stimulus has shape {header.shape}; expected (channels, time, height, width)",
            "Save the movie as a 4-D array; add a channel axis of 1 for greyscale.",
            file=relative,
        )
        return None
    try:
        if header.fortran_order:
            finite, at = all_finite(np.load(path, mmap_mode="r", allow_pickle=False), 1)
        else:
            reader = NpyTimeFile(path)
            try:
                finite, at = all_finite(reader, 1)
            finally:
                reader.close()
    except (OSError, ValueError) as error:
        report.add(
            "error",
            "unreadable-file",
            f"stimulus data cannot be read ({error})",
            fix_copy,
            file=relative,
        )
        return None
    if not finite:
        report.add(
            "error",
            "non-finite",
            f"stimulus contains NaN or Inf (in the chunk from frame {at})",
            "Replace NaN/Inf frames before converting.",
            file=relative,
        )
    return header.shape


# --- sessions ----------------------------------------------------------------------


def _session_files(root: Path, report: Report) -> list[str]:
    candidates = sorted(p for p in root.iterdir() if p.name.endswith(SESSION_SUFFIXES))
    names = [p.name for p in candidates if p.is_file()]
    for path in candidates:
        if not path.is_file():
            report.add(
                "error",
                "unreadable-file",
                "the name ends like a session file but this is not a regular file",
                "Rename or move it: openretina opens every *.h5/*.hdf5 in the folder as a session.",
                file=path.name,
            )
    if not names:
        report.add(
            "error",
            "no-sessions",
            "the folder has no session files (*.hdf5 or *.h5)",
            "Put one <session>.hdf5 per session next to the stimuli/ folder.",
        )
    by_stem: dict[str, list[str]] = defaultdict(list)
    for name in names:
        by_stem[Path(name).stem.casefold()].append(name)
    for group in by_stem.values():
        if len(group) > 1:
            exact = len({Path(n).stem for n in group}) == 1
            what = "have the same session name" if exact else "differ only in letter case"
            report.add(
                "error",
                "duplicate-session",
                f"session files {group} {what}; one would overwrite the other when loading",
                "Rename or remove all but one of them.",
                file=group[-1],
            )
    return names


def _check_cross(
    root: Path,
    report: Report,
    shared: dict[str, tuple[int, ...]],
    contents: dict[str, SessionContents],
) -> None:
    folder_exists = (root / STIMULI_DIR).is_dir()
    needs_shared = False
    for relative, session in contents.items():
        for stimulus, shape in session.responses.items():
            movie = session.movies.get(stimulus, shared.get(stimulus))
            key = f"responses_{stimulus}"
            if movie is None:
                needs_shared = True
                report.add(
                    "error",
                    "unknown-stimulus",
                    f"responses to stimulus {stimulus!r}, which is neither stimuli/{stimulus}.npy "
                    "nor a stimulus_ in this file",
                    "Add the stimulus movie, or rename the responses to the stimulus they belong to.",
                    file=relative,
                    key=key,
                )
            elif movie[1] != shape[1]:
                transposed = shape[0] == movie[1]
                report.add(
                    "error",
                    "length-mismatch",
                    f"stimulus {stimulus!r} has {movie[1]} frames but the responses have "
                    f"{shape[1]} (shape {shape})",
                    "Transpose the responses to (neurons, time)."
                    if transposed
                    else "Bin the responses on the stimulus frames so both have the same length.",
                    file=relative,
                    key=key,
                )
    if not folder_exists:
        report.add(
            "error" if needs_shared else "warning",
            "no-stimuli-dir",
            f"the folder has no {STIMULI_DIR}/ subfolder",
            f"Create {STIMULI_DIR}/ with one <stimulus>.npy (channels, time, height, width) per stimulus.",
        )
    movies = [(f"{STIMULI_DIR}/{name}.npy", shape) for name, shape in shared.items()]
    movies += [
        (f"{rel}:stimulus_{name}", shape)
        for rel, c in contents.items()
        for name, shape in c.movies.items()
    ]
    sizes = Counter(movie_frame_size(shape) for _, shape in movies)
    if len(sizes) > 1:
        common = sizes.most_common(1)[0][0]
        for label, shape in movies:
            if movie_frame_size(shape) != common:
                file, _, key = label.partition(":")
                report.add(
                    "error",
                    "frame-size-mismatch",
                    f"(channels, height, width) is {movie_frame_size(shape)}, most stimuli have {common}",
                    "Resize or crop every stimulus to the same channels, height and width.",
                    file=file,
                    key=key or None,
                )
    used = {stim for c in contents.values() for stim in c.responses}
    for name in sorted(set(shared) - used):
        report.add(
            "info",
            "unused-stimulus",
            f"no session has responses to stimulus {name!r}",
            "Nothing needs doing; delete the file if it is not needed.",
            file=f"{STIMULI_DIR}/{name}.npy",
        )
    for name in sorted(shared):
        if name.casefold() in RESERVED_TEST_NAMES:
            report.add(
                "warning",
                "reserved-name",
                f"stimulus {name!r} has the name of a data split",
                "Rename it; as a test stimulus it would overwrite that split.",
                file=f"{STIMULI_DIR}/{name}.npy",
            )
