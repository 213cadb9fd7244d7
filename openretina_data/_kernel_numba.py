"""The compiled kernel of the dataloaders: frames cast to float32 and normalised in one pass.

Imported by :mod:`openretina_data._kernels` (which loads it off the reading path).

``(float32(x) - mean) / std`` with ``mean`` and ``std`` float32, element by element, in
float32 arithmetic: the same two roundings as openretina's ``(torch.tensor(x,
dtype=float32) - mean) / std``, so the values are bit-identical (no fast-math, no
reciprocal). What makes it fast is moving fewer bytes: each source value is read once
(a uint8 movie reads a quarter of the bytes of a float32 one) and each output value is
written once, while it is copied into the batch.

Compiled by numba on first use, once per source dtype, and cached on disk
(``cache=True``): later processes load the machine code instead of compiling. The
kernel releases the GIL, so the reading threads of a batch run in parallel.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _normalise_chunks(
    frames: Any, target: Any, rows: Any, firsts: Any, mean: Any, std: Any
) -> None:  # pragma: no cover - compiled; its Python body is never run
    """``target[rows[k], c, :] = (float32(frames[c, firsts[k] : firsts[k] + n]) - mean) / std``.

    ``frames`` (channels, values) and ``target`` (batch, channels, n) are C-contiguous;
    ``firsts`` are offsets in values (a chunk's first frame times the frame size).
    """
    n = target.shape[2]
    for k in range(rows.shape[0]):
        row, first = rows[k], firsts[k]
        for c in range(frames.shape[0]):
            source = frames[c, first : first + n]
            out = target[row, c]
            for i in range(n):
                out[i] = (np.float32(source[i]) - mean) / std


def normalise_chunks(
    frames: np.ndarray,
    target: np.ndarray,
    rows: np.ndarray,
    firsts: np.ndarray,
    mean: np.float32,
    std: np.float32,
) -> None:
    """Fill chunks of a batch with normalised frames, in one pass per chunk.

    Parameters
    ----------
    frames : (channels, time, height, width), C-contiguous, a dtype of ``_kernels.KERNEL_DTYPES``
        The movie (a memory map reads only the pages of the chunks asked for).
    target : (batch, channels, chunk, height, width) float32, C-contiguous
        The batch; only ``target[rows]`` is written.
    rows, firsts : (k,) int64
        Batch rows to fill and the movie frame each row's chunk starts at.
    mean, std : float32
        ``target = (float32(frames) - mean) / std``.
    """
    if not (frames.flags.c_contiguous and target.flags.c_contiguous):
        raise ValueError("normalise_chunks needs C-contiguous frames and target")
    batch, channels, chunk = target.shape[:3]
    starts = np.ascontiguousarray(firsts, dtype=np.int64)
    if len(starts) and (starts.min() < 0 or starts.max() + chunk > frames.shape[1]):
        raise ValueError("normalise_chunks: a chunk lies outside the frames")
    frame_values = int(np.prod(frames.shape[2:]))
    _normalise_chunks(
        frames.reshape(frames.shape[0], -1),
        target.reshape(batch, channels, chunk * frame_values),
        np.ascontiguousarray(rows, dtype=np.int64),
        starts * frame_values,
        np.float32(mean),
        np.float32(std),
    )
