"""Cheap, bounded-memory checks on stimulus and response arrays.

The containers in :mod:`openretina_data.base` and the readers in
:mod:`openretina_data.h5_dataset_reader` validate what they are handed with
these helpers. None of them copies a whole array: value checks walk the time
axis in slabs, so the temporary memory they need is a few MiB whatever the
recording length.

Arrays that live on disk (``np.memmap``, ``h5py.Dataset``, lazy views) are
*not* scanned for NaN/Inf by :func:`holds_values_in_memory`-aware callers:
that full pass runs once, when a dataset is written or checked
(DESIGN.md §6), so opening a memory-mapped dataset stays instant.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from openretina_data.errors import DataValidationError, NonFiniteError, ShapeError

#: Elements per slab in value checks: bounds the temporary memory (~16 MiB of bools).
SLAB_ELEMENTS = 1 << 24


def holds_values_in_memory(array: Any) -> bool:
    """True for a plain in-RAM ``np.ndarray``; False for memory maps, HDF5 datasets, lazy views.

    Only arrays whose values are already in RAM are scanned at construction;
    scanning the others would read the whole file.
    """
    if not isinstance(array, np.ndarray) or isinstance(array, np.memmap):
        return False
    base = array.base
    while isinstance(base, np.ndarray):
        if isinstance(base, np.memmap):
            return False
        base = base.base
    return True


def time_slabs(length: int, elements_per_frame: int) -> Iterator[slice]:
    """Slices covering ``range(length)`` whose frames hold at most :data:`SLAB_ELEMENTS` values."""
    step = max(1, SLAB_ELEMENTS // max(1, elements_per_frame))
    for start in range(0, length, step):
        yield slice(start, min(start + step, length))


def require_ndim(
    array: Any,
    ndim: int,
    *,
    what: str,
    axes: str,
    hint: str | None = None,
    path: str | None = None,
    key: str | None = None,
    session: str | None = None,
) -> None:
    """Raise :class:`ShapeError` unless ``array`` has ``ndim`` dimensions.

    Parameters
    ----------
    array
        Anything with ``.shape``.
    ndim
        The number of dimensions required.
    what
        What the array is, for the message ("train movie", "test responses 'natural'").
    axes
        The axes expected, e.g. ``"(channels, time, height, width)"``.
    """
    shape = tuple(getattr(array, "shape", ()))
    if len(shape) != ndim:
        raise ShapeError(
            f"{what} has shape {shape} ({len(shape)} dimensions); expected {ndim}: {axes}",
            hint=hint or f"Reshape or transpose the array to {axes}.",
            path=path,
            key=key,
            session=session,
        )


def holds_real_numbers(array: Any) -> bool:
    """True when ``array`` (numpy, memmap, h5py, torch or anything with ``.dtype``) holds
    integers or floats of any width; False for bool, complex, strings, bytes, objects, dates."""
    declared: Any = getattr(array, "dtype", None)
    if type(array).__module__.startswith("torch"):
        return not declared.is_complex and str(declared) != "torch.bool"
    dtype = np.asarray(array).dtype if declared is None else np.dtype(declared)
    return bool(np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating))


def require_real_numbers(
    array: Any, *, what: str, hint: str, key: str | None = None, session: str | None = None
) -> None:
    """Raise :class:`DataValidationError` unless ``array`` holds integers or floats."""
    if not holds_real_numbers(array):
        raise DataValidationError(
            f"{what} holds {getattr(array, 'dtype', type(array).__name__)} values, "
            "not real numbers (integers or floats)",
            key=key,
            session=session,
            hint=hint,
        )


def first_non_finite(array: np.ndarray, time_axis: int) -> tuple[int, ...] | None:
    """Index of the first NaN/Inf in ``array`` scanning slab by slab along ``time_axis``, or None.

    Integer and boolean arrays are finite by construction and return None at once.
    """
    if array.dtype.kind not in "fc":
        return None
    if array.size == 0:
        return None
    length = array.shape[time_axis]
    per_frame = array.size // max(1, length)
    for slab in time_slabs(length, per_frame):
        index: list[slice] = [slice(None)] * array.ndim
        index[time_axis] = slab
        block = np.asarray(array[tuple(index)])
        finite = np.isfinite(block)
        if not finite.all():
            where = np.argwhere(~finite)[0]
            where[time_axis] += slab.start
            return tuple(int(i) for i in where)
    return None


def require_finite(
    array: np.ndarray,
    *,
    what: str,
    time_axis: int,
    path: str | None = None,
    key: str | None = None,
    session: str | None = None,
) -> None:
    """Raise :class:`NonFiniteError` naming the first NaN/Inf position, if there is one.

    Parameters
    ----------
    array
        Any numeric array; scanned in slabs along ``time_axis`` (bounded temporary memory).
    what
        What the array is, for the message.
    time_axis
        The axis to walk along.
    """
    position = first_non_finite(array, time_axis)
    if position is not None:
        value = array[position]
        raise NonFiniteError(
            f"{what} contains a non-finite value ({value}) at index {position}",
            path=path,
            key=key,
            session=session,
        )
