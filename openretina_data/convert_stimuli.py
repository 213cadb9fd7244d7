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
    the stimulus). The movie is written in the recipe's ``dtype``; ``"auto"`` writes
    uint8 when every value is a whole number 0..255 (:func:`movie_dtype`). ``check()``
    runs before each slab (it raises to cancel). Yields the frames written per slab.
    """
    reader, array = open_array(recipe.resolve(spec.path), spec.key, spec.format, session=session)
    try:
        axes = MovieAxes.check(spec.axes, array.shape, where=f"stimuli.{spec.name}.axes")
        c, t, h, w = axes.out_shape
        frames = t - recipe.lag_frames
        dtype = movie_dtype(recipe.dtype, axes, array, frames, check)
        slabs = create(spec.name, (c, frames, h, w), dtype.name)
        step = axes.slab_frames(dtype.itemsize)
        with closing(read_slabs(axes, array, frames, step)) as blocks:
            for start, block in blocks:
                check()
                where = f"stimuli.{spec.name}"
                slabs.write(cast_frames(block, dtype, where=where), start)
                yield block.shape[1]
    finally:
        reader.close()


def movie_dtype(
    requested: str, axes: MovieAxes, array: Any, frames: int, check: Callable[[], None]
) -> np.dtype[Any]:
    """The dtype a movie is written in: ``requested`` (``"float32"``, ``"uint8"``), or for
    ``"auto"`` uint8 when its first ``frames`` frames hold only whole numbers 0..255 (8-bit
    TIFFs and videos, uint8 arrays, 8-bit movies stored as floats), else float32.

    A uint8 source is taken at its word; any other is scanned slab by slab first (the
    scan stops at the first value that does not fit, usually in the first slab).
    Dataloaders normalise uint8 frames as they copy them into the batch, reading a
    quarter of the bytes; the values they serve are the same as from float32.
    """
    if requested != "auto":
        return np.dtype(requested)
    source = np.dtype(array.dtype)
    if source == np.uint8:
        return source
    if source.kind not in "biuf":
        return np.dtype(np.float32)
    step = axes.slab_frames(source.itemsize)
    with closing(read_slabs(axes, array, frames, step)) as blocks:
        for _, block in blocks:
            check()
            if not holds_bytes(block):
                return np.dtype(np.float32)
    return np.dtype(np.uint8)


def holds_bytes(block: np.ndarray) -> bool:
    """Whether every value of ``block`` is a whole number 0..255 (NaN is not)."""
    if block.size == 0:
        return True
    low, high = block.min(), block.max()
    if not (low >= 0 and high <= 255):  # also False for NaN
        return False
    return block.dtype.kind in "biu" or bool(np.array_equal(block, np.floor(block)))


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
