"""The restricted unpickler behind ``from_pickle`` and the pickled-``.npy`` readers."""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from openretina_data.errors import UnsafeContentError
from openretina_data.layout import parse_npy_header
from openretina_data.safe_pickle import load_plain_pickle, unpickle_plain_data


class _RunsCode:
    def __reduce__(self) -> tuple:
        return (os.getcwd, ())


def test_unpickle_plain_data_reads_the_pickle_after_an_npy_header(tmp_path: Path) -> None:
    path = tmp_path / "ops.npy"
    np.save(path, {"fs": 30.0, "mask": np.arange(4)}, allow_pickle=True)
    with open(path, "rb") as handle:
        assert parse_npy_header(handle).dtype.hasobject
        value = unpickle_plain_data(handle, path)
    assert (
        isinstance(value, np.ndarray) and value.shape == ()
    )  # object arrays are the caller's call
    assert value.item()["fs"] == 30.0 and value.item()["mask"].tolist() == [0, 1, 2, 3]


def test_unpickle_plain_data_refuses_code_and_names_the_file(tmp_path: Path) -> None:
    stream = io.BytesIO(pickle.dumps({"x": _RunsCode()}))
    with pytest.raises(UnsafeContentError, match="posix.getcwd|os.getcwd") as caught:
        unpickle_plain_data(stream, tmp_path / "bad.pkl")
    assert caught.value.path == str(tmp_path / "bad.pkl") and caught.value.hint


def test_load_plain_pickle_still_refuses_object_arrays(tmp_path: Path) -> None:
    path = tmp_path / "objects.pkl"
    path.write_bytes(pickle.dumps({"a": np.array([1, "x"], dtype=object)}))
    with pytest.raises(UnsafeContentError, match="array of Python objects"):
        load_plain_pickle(path)
