"""Qt-free: find the recordings inside a folder that no reader opens as a whole.

A person often adds the experiment's folder (``rec/``) rather than each recording in
it (``rec/s1/phy``, ``rec/s1/ttl.npy``, ``rec/s2.nwb``). :func:`find_recordings` walks
it, asking the core's probe about each sub-folder and file, and stops descending where a
reader recognises a folder (a Phy folder holds ``.npy`` files that are parts of it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from app.state import Probed

#: File endings worth probing; others (logs, pictures, params.py) are skipped.
SUFFIXES = (".npy", ".npz", ".h5", ".hdf5", ".mat", ".nwb", ".tif", ".tiff", ".mp4", ".avi")

#: What the summary calls each format.
FORMAT_WORDS = {
    "kilosort": "Phy/Kilosort folder",
    "suite2p": "suite2p folder",
    "nwb": "NWB file",
    "mat-v7.3": "MAT file",
    "mat-v5": "MAT file",
    "hdf5": "HDF5 file",
    "npy": "NumPy file",
    "npz": "NumPy archive",
    "tiff": "TIFF movie",
    "video": "video",
}


def find_recordings(
    folder: str | Path,
    probe: Callable[[str | Path], Probed],
    *,
    max_depth: int = 4,
    max_paths: int = 200,
) -> list[Probed]:
    """Every sub-folder or file of ``folder`` that ``probe`` recognises, in path order.

    ``probe`` is :func:`app.sources_cache.probe_path` (tests may pass their own). At
    most ``max_paths`` paths are probed, ``max_depth`` folders deep; hidden entries are
    skipped.
    """
    found: list[Probed] = []
    budget = [max_paths]

    def walk(path: Path, depth: int) -> None:
        try:
            entries = sorted(p for p in path.iterdir() if not p.name.startswith("."))
        except OSError:
            return
        for entry in entries:
            if budget[0] <= 0:
                return
            if entry.is_dir():
                budget[0] -= 1
                probed = probe(entry)
                if probed.info is not None:
                    found.append(probed)
                elif depth < max_depth:
                    walk(entry, depth + 1)
            elif entry.suffix.lower() in SUFFIXES:
                budget[0] -= 1
                probed = probe(entry)
                if probed.info is not None:
                    found.append(probed)

    walk(Path(folder), 1)
    return found


def describe_found(found: list[Probed]) -> str:
    """``2 Phy/Kilosort folders, 2 trigger channels, 1 NWB file`` (formats, then roles)."""
    words: Counter[str] = Counter()
    for probed in found:
        info = probed.info
        assert info is not None
        roles = {v.role for v in info.variables}
        if info.format not in {"kilosort", "suite2p"} and roles == {"triggers"}:
            words["trigger channel"] += 1
        else:
            words[FORMAT_WORDS.get(info.format, f"{info.format} file")] += 1
    return ", ".join(f"{n} {word}{'s' if n > 1 else ''}" for word, n in words.items())
