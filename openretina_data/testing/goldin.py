"""A miniature of the formatted Goldin et al. (2022) files, for tests.

openretina's mirror of the dataset (``marre_lab/goldin_2022`` on its Hugging Face hub;
the Zenodo record 10.5281/zenodo.6868362 holds the unformatted original) has one HDF5
file per recording, the species in its name::

    <root>/<name with 'mouse' or 'axolotl'>.h5
        train/stimulus          (images, height, width)   one flashed image per bin
        train/response/binned   (neurons, images)         spikes per image presentation
        test/stimulus           (images, height, width)
        test/response/binned    (neurons, images)         mean over repeats
        test/repeats/cellN      (repeats, images)         one per neuron (optional)

That is what openretina 1.1.1's ``goldin_2022`` loaders read. Neither the image size nor
the dtypes are documented; the miniature uses small float32 images in [0, 1].
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np


def write_goldin_archive(
    root: str | os.PathLike[str],
    *,
    sessions: tuple[str, ...] = ("mouse_1", "mouse_2", "axolotl_1"),
    n_neurons: tuple[int, ...] = (7, 5, 4),
    train_images: int = 120,
    test_images: int = 12,
    n_repeats: int = 6,
    image_size: tuple[int, int] = (24, 32),
    with_repeats: bool = True,
    seed: int = 0,
) -> Path:
    """Write ``<root>/<session>.h5`` for each session and return ``root``.

    Every session of a species sees the same test images; train images differ.
    ``test/response/binned`` is the mean of ``test/repeats`` (as openretina checks).
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    test_by_species: dict[str, np.ndarray] = {}
    for session, neurons in zip(sessions, n_neurons, strict=True):
        species = "axolotl" if "axolotl" in session else "mouse"
        test = test_by_species.setdefault(
            species, rng.random((test_images, *image_size), dtype=np.float32)
        )
        train = rng.random((train_images, *image_size), dtype=np.float32)
        trials = rng.poisson(2.0, size=(n_repeats, neurons, test_images)).astype(np.float64)
        with h5py.File(root / f"{session}.h5", "w-") as f:
            f["train/stimulus"] = train
            f["train/response/binned"] = rng.poisson(2.0, size=(neurons, train_images)).astype(
                np.float64
            )
            f["test/stimulus"] = test
            f["test/response/binned"] = trials.mean(axis=0)
            if with_repeats:
                for neuron in range(neurons):
                    f[f"test/repeats/cell{neuron}"] = trials[:, neuron, :]
    return root
