"""Stimulus movies for :mod:`openretina_data.convert`: streamed in slabs, and fingerprinted.

One function writes any stimulus, shared (``stimuli/<name>.npy``) or session-specific
(``stimulus_<name>`` in a session file): the caller hands it the layout's
``create_stimulus`` of the dataset or of the session.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from typing import Any

import numpy as np

from openretina_data.convert_io import MovieAxes, cast_frames, open_array, read_slabs, source_files
from openretina_data.layout.slabs import SlabWriter
from openretina_data.recipe import Recipe, StimulusSpec

#: Bytes read at once while hashing source files.
HASH_CHUNK = 8 * 1024 * 1024


def write_movie(
    recipe: Recipe,
    spec: StimulusSpec,
    create: Callable[[str, Sequence[int], Any], SlabWriter],
    check: Callable[[], None],
    *,
    session: str | None = None,
) -> Iterator[int]:
    """Stream the movie ``spec`` names into ``create(name, shape, dtype)``'s slab writer.

    The first ``recipe.lag_frames`` frames' worth is dropped at the end (responses lag
    the stimulus). ``check()`` runs before each slab (it raises to cancel). Yields the
    frames written per slab.
    """
    reader, array = open_array(recipe.resolve(spec.path), spec.key, spec.format, session=session)
    try:
        axes = MovieAxes.check(spec.axes, array.shape, where=f"stimuli.{spec.name}.axes")
        c, t, h, w = axes.out_shape
        frames = t - recipe.lag_frames
        slabs = create(spec.name, (c, frames, h, w), recipe.dtype)
        step = axes.slab_frames(np.dtype(recipe.dtype).itemsize)
        with closing(read_slabs(axes, array, frames, step)) as blocks:
            for start, block in blocks:
                check()
                where = f"stimuli.{spec.name}"
                slabs.write(cast_frames(block, np.dtype(recipe.dtype), where=where), start)
                yield block.shape[1]
    finally:
        reader.close()


def stimulus_sources(recipe: Recipe, stop: threading.Event) -> list[dict[str, Any]]:
    """Name, size and SHA-256 of every shared stimulus source file (stops early on ``stop``)."""
    found = []
    for spec in recipe.stimuli:
        if spec.shared:
            for path in source_files(recipe.resolve(spec.path)):
                digest = hashlib.sha256()
                with path.open("rb") as handle:
                    while (block := handle.read(HASH_CHUNK)) and not stop.is_set():
                        digest.update(block)
                found.append(
                    {"name": path.name, "size": path.stat().st_size, "sha256": digest.hexdigest()}
                )
    return found
