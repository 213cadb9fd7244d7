"""Whether a path can be opened in the viewer at all: Qt-free, so the command line can ask first."""

from __future__ import annotations

import os
from pathlib import Path

from openretina_data.errors import LayoutError, OpenRetinaDataError, SourceNotFoundError


def dataset_folder_problem(path: str | os.PathLike[str]) -> OpenRetinaDataError | None:
    """Why ``path`` cannot be opened as a dataset folder, or ``None`` if it is a folder.

    Only existence is checked here; what is inside the folder is for ``check`` (the viewer
    shows its report), so a folder with broken files still opens.
    """
    folder = Path(path)
    if not folder.exists():
        return SourceNotFoundError(
            "no such dataset folder",
            path=path,
            hint="Check the path: pass the folder that holds stimuli/ and the .hdf5 files.",
        )
    if not folder.is_dir():
        return LayoutError(
            "this is a file, not a dataset folder",
            path=path,
            hint="Pass the folder that holds stimuli/ and the .hdf5 files, not one file in it.",
        )
    return None
