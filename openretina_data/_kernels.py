"""Chunks of a movie copied into a batch and normalised: the compiled kernel, or numpy.

Both paths compute ``(float32(x) - mean) / std`` in float32 (``mean`` and ``std``
float32), the two roundings of openretina's ``(torch.tensor(x, dtype=float32) - mean) /
std``, so they give the same bits. The kernel (:mod:`openretina_data._kernel_numba`)
does it in one pass and moves fewer bytes; numpy needs two passes (subtract while
copying, then divide).

Importing numba and loading the kernel costs about a second in a fresh process (most of
it numba's own start-up), more than the first batch itself. So the kernel is loaded by a
background thread the first time a batch asks for it, and numpy serves the batches
until it is ready: the values are the same either way, only the speed changes.
:func:`prepare_kernel` loads it in the calling thread instead.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

#: Source dtypes the kernel is compiled for (native byte order); others take numpy's path.
KERNEL_DTYPES = frozenset(
    np.dtype(name)
    for name in ("uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64")
    + ("float32", "float64")
)


class _KernelLoader:
    """The compiled kernel of this process, once loaded for a dtype (per process: a
    forked DataLoader worker starts its own loading)."""

    def __init__(self) -> None:
        self.enabled = True  # False: numpy only (tests compare the two paths)
        self._lock = threading.Lock()
        self._pid = 0
        self._function: Callable[..., None] | None = None
        self._ready: set[np.dtype[Any]] = set()
        self._loading: threading.Thread | None = None
        self._failed: BaseException | None = None

    def _reset_if_forked(self) -> None:
        if self._pid != os.getpid():
            self._pid, self._ready, self._loading = os.getpid(), set(), None

    def get(self, dtype: np.dtype[Any]) -> Callable[..., None] | None:
        """The kernel for frames of ``dtype`` if it is ready, else None (and loading starts)."""
        if not self.enabled or dtype not in KERNEL_DTYPES or not dtype.isnative:
            return None
        with self._lock:
            self._reset_if_forked()
            if dtype in self._ready:
                return self._function
            if self._failed is None and (self._loading is None or not self._loading.is_alive()):
                self._loading = threading.Thread(
                    target=self._load, args=([dtype],), name="openretina-data-kernel", daemon=True
                )
                self._loading.start()
        return None

    def prepare(self, dtypes: Iterable[Any]) -> None:
        """Load the kernel for ``dtypes`` now, in this thread."""
        wanted = [np.dtype(d) for d in dtypes]
        with self._lock:
            self._reset_if_forked()
            loading = self._loading
        if loading is not None and loading is not threading.current_thread():
            loading.join()
        self._load(wanted)
        if self._failed is not None:
            raise self._failed

    def _load(self, dtypes: Sequence[np.dtype[Any]]) -> None:
        try:
            from openretina_data._kernel_numba import normalise_chunks

            for dtype in dtypes:
                if dtype in KERNEL_DTYPES and dtype.isnative:
                    # Tiny calls compile (or load from numba's cache) this dtype's versions:
                    # numba types read-only arrays (memory maps) apart from writable ones.
                    target = np.empty((1, 1, 1, 1, 1), np.float32)
                    for writeable in (False, True):
                        frames = np.zeros((1, 1, 1, 1), dtype)
                        frames.flags.writeable = writeable
                        normalise_chunks(frames, target, _ZERO, _ZERO, np.float32(0), np.float32(1))
                    with self._lock:
                        self._function = normalise_chunks
                        self._ready.add(dtype)
        except Exception as error:  # numba missing or broken: numpy serves every batch
            self._failed = error


_ZERO = np.zeros(1, dtype=np.int64)
_LOADER = _KernelLoader()


def prepare_kernel(*dtypes: Any) -> None:
    """Load the compiled normalisation kernel for movies of ``dtypes`` now.

    Dataloaders load it in the background on their first batch and use numpy until it
    is ready (same values, two passes instead of one). Call this before timing
    batches, or to fail early where numba cannot compile. Default dtypes: uint8 and
    float32.
    """
    _LOADER.prepare(dtypes or (np.uint8, np.float32))


def fill_chunks(
    values: Any,
    batch: np.ndarray,
    rows: Sequence[int],
    starts: Sequence[int],
    mean: float | None,
    std: float | None,
) -> None:
    """``batch[rows[k]] = (float32(values[:, starts[k] : starts[k] + n]) - mean) / std``.

    Parameters
    ----------
    values : (channels, time, height, width)
        Raw frames: a numpy array (the kernel serves C-contiguous ones) or anything
        whose ``[:, a:b]`` gives one (an h5py dataset).
    batch : (batch, channels, n, height, width)
        The batch being filled: float32 when normalising; with ``mean`` None, raw
        values are copied in (cast to ``batch``'s dtype).
    rows, starts
        Batch rows and the frame each row's chunk starts at.
    mean, std
        The normalisation; None copies raw values.
    """
    n = batch.shape[2]
    if mean is None or std is None:
        for row, start in zip(rows, starts, strict=True):
            np.copyto(batch[row], values[:, start : start + n], casting="unsafe")
        return
    mean32, std32 = np.float32(mean), np.float32(std)
    if (
        isinstance(values, np.ndarray)
        and values.flags.c_contiguous
        and batch.flags.c_contiguous
        and batch.dtype == np.float32
    ):
        kernel = _LOADER.get(values.dtype)
        if kernel is not None:
            kernel(values, batch, np.asarray(rows), np.asarray(starts), mean32, std32)
            return
    for row, start in zip(rows, starts, strict=True):
        target = batch[row]
        np.subtract(values[:, start : start + n], mean32, out=target, dtype=np.float32)
        np.divide(target, std32, out=target)
