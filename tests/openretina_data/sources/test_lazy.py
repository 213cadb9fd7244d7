"""Lazy views index exactly like numpy (property-based), reading only what is asked."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from openretina_data.sources.lazy import DeferredArray, FrameArray, IndexableArray, TransposedArray

shapes = hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=6)


@st.composite
def array_and_key(draw: st.DrawFn) -> tuple[np.ndarray, Any]:
    shape = draw(shapes)
    data = np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape)
    key = draw(hnp.basic_indices(shape, allow_newaxis=False, allow_ellipsis=True))
    return data, key


def _views(data: np.ndarray) -> list[Any]:
    frames_read: list[int] = []

    def read_frames(start: int, stop: int, step: int) -> np.ndarray:
        frames_read.extend(range(start, stop, step))
        return data[start:stop:step]

    return [
        IndexableArray(data),
        TransposedArray(np.ascontiguousarray(data.T)),
        FrameArray(data.shape, data.dtype, read_frames),
        DeferredArray(data.shape, data.dtype, lambda: data),
    ]


@settings(max_examples=150, deadline=None)
@given(array_and_key())
def test_basic_indexing_matches_numpy(case: tuple[np.ndarray, Any]) -> None:
    data, key = case
    for view in _views(data):
        assert view.shape == data.shape and view.ndim == data.ndim
        got = view[key]
        np.testing.assert_array_equal(got, data[key])
        assert np.shape(got) == np.shape(data[key])


def test_frame_array_reads_only_the_frames_asked() -> None:
    data = np.arange(100).reshape(20, 5)
    asked: list[tuple[int, int, int]] = []

    def read_frames(start: int, stop: int, step: int) -> np.ndarray:
        asked.append((start, stop, step))
        return data[start:stop:step]

    view = FrameArray(data.shape, data.dtype, read_frames)
    np.testing.assert_array_equal(view[15:5:-3, 2], data[15:5:-3, 2])
    assert asked == [(6, 16, 3)]


def test_fancy_index_falls_back_to_a_full_read() -> None:
    data = np.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(IndexableArray(data)[[0, 2]], data[[0, 2]])


def test_out_of_range_index_is_an_index_error() -> None:
    with pytest.raises(IndexError):
        IndexableArray(np.zeros(3))[3]
