"""Preset: Goldin et al. (2022) flashed natural images -> layout v1.

Paper: Goldin MA et al., "Context-dependent selectivity to natural images in the
retina", Nat Commun 13:5556 (2022), https://doi.org/10.1038/s41467-022-33242-8.
Data: the formatted per-recording HDF5 files of openretina's mirror
(https://huggingface.co/datasets/open-retina/open-retina/tree/main/marre_lab/goldin_2022);
the original Zenodo record (https://doi.org/10.5281/zenodo.6868362) is not in this
format and is refused with a hint.

Presets ``goldin_2022_mouse`` and ``goldin_2022_axolotl`` convert the files whose
names contain the species (as openretina's loader selects them), one dataset each.
Each response bin is one flashed image, so the card's ``frame_rate_hz`` is ``None``
(not a movie; openretina uses clips of one frame) and the unit is ``spikes/bin``:
spike counts per image presentation, undivided (openretina's loader divides by
``fr_normalization=0.3`` when loading). ``test_by_trial_<test images>`` holds the
``test/repeats/cellN`` trials when a file has them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np

from openretina_data.convert import Progress
from openretina_data.datasets.preset import species_presets
from openretina_data.datasets.train_test_h5 import TrainTestArchive, convert_train_test_files
from openretina_data.errors import ShapeError, SourceNotFoundError
from openretina_data.maheswaranathan_2023.archive import get_dataset, open_archive_file

MIRROR_URL = (
    "https://huggingface.co/datasets/open-retina/open-retina/tree/main/marre_lab/goldin_2022"
)
SPECIES = {"mouse": "mouse (Mus musculus)", "axolotl": "axolotl (Ambystoma mexicanum)"}
_CELL_KEY = re.compile(r"cell_?(\d+)$")

CITATION = {
    "title": "Context-dependent selectivity to natural images in the retina",
    "authors": "Goldin MA, Lefebvre B, Virgili S, Pham Van Cang MK, Ecker A, Mora T, Ferrari U, Marre O",
    "journal": "Nature Communications 13:5556 (2022)",
    "doi": "10.1038/s41467-022-33242-8",
    "data_doi": "10.5281/zenodo.6868362",
    "url": MIRROR_URL,
    "license": "as stated on the Zenodo record and the mirror (not checked by openretina-data)",
    "species": "",
    "recording_method": "multielectrode array, spike-sorted ganglion cells, flashed natural images",
    "units": "spikes/bin: spike count per flashed image",
}


def find_recordings(archive_dir: str | os.PathLike[str], species: str) -> dict[str, Path]:
    """``<stem> -> file`` for every ``*.h5`` in ``archive_dir`` whose name contains ``species``."""
    folder = Path(archive_dir)
    if not folder.is_dir():
        raise SourceNotFoundError(
            "the folder with the Goldin 2022 files does not exist",
            path=folder,
            hint=f"Download the formatted files from {MIRROR_URL} and pass their folder.",
        )
    files = {p.stem: p for p in sorted(folder.glob("*.h5")) if species in p.name}
    if not files:
        raise SourceNotFoundError(
            f"no .h5 file with {species!r} in its name",
            path=folder,
            hint=f"Pass the folder of the formatted files from {MIRROR_URL} (the Zenodo original is not formatted).",
        )
    return files


def read_repeats(path: Path, session: str) -> np.ndarray | None:
    """(repeats, neurons, images) from ``test/repeats/cellN``, or ``None`` without repeats."""
    with open_archive_file(path) as handle:
        group = handle.get("test/repeats")
        if not isinstance(group, h5py.Group):
            return None
        cells = sorted((int(m.group(1)), key) for key in group if (m := _CELL_KEY.search(key)))
        if not cells:
            return None
        trials = [
            np.asarray(get_dataset(handle, f"test/repeats/{key}", session)[()]) for _, key in cells
        ]
    if len({t.shape for t in trials}) != 1 or trials[0].ndim != 2:
        raise ShapeError(
            "the per-cell test repeats differ in shape or are not (repeats, images)",
            path=path,
            key="test/repeats",
            session=session,
        )
    return np.stack(trials, axis=1)


def convert_archive(
    archive_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    species: str = "mouse",
) -> Iterator[Progress]:
    """Convert the Goldin 2022 ``species`` files in ``archive_dir`` to a dataset at ``out_dir``."""
    files = find_recordings(archive_dir, species)
    archive = TrainTestArchive(
        stim_prefix="naturalscene",
        response_key="binned",
        response_unit="spikes/bin",
        frame_rate_hz=None,
        citation={**CITATION, "species": SPECIES[species]},
        description=(
            f"Goldin et al. (2022), {species}, flashed natural images (one bin per image), "
            f"{len(files)} recordings, converted from {MIRROR_URL}."
        ),
        read_repeats=read_repeats,
    )
    yield from convert_train_test_files(files, out_dir, archive, overwrite=overwrite)


PRESETS = species_presets(
    name="goldin_2022_{species}",
    title="Goldin et al. 2022 - {species} ganglion cells, flashed natural images (MEA)",
    archive_layout="ARCHIVE_DIR/*{species}*.h5 (formatted files of openretina's mirror)",
    citation=CITATION,
    species=SPECIES,
    run=convert_archive,
)
