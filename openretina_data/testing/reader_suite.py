"""One test suite every source reader passes (inherit it in the reader's test module).

Like zarr's ``StoreTests``: a subclass says how to write an example source and which
format name the probe must report; the suite checks the contract every reader keeps —
probe reads no array data, lazy slices equal the full read, broken files raise our
errors, a wrong key lists the available keys.

Examples
--------
>>> class TestNpy(ReaderContract):                          # doctest: +SKIP
...     format_name = "npy"
...     def write(self, folder):
...         return write_npy(folder / "responses.npy")
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import h5py
import numpy as np
import pytest

from openretina_data.errors import MissingKeyError, OpenRetinaDataError, UnreadableSourceError
from openretina_data.sources import ROLES, SourceReader, open_source, probe
from openretina_data.sources.lazy import LazyArray

Arrays = dict[str, np.ndarray]
SMALL = 16  # elements: an HDF5 read this small is metadata (a reference, a scalar), not data


class ReaderContract:
    """Mix-in test class; subclasses set :attr:`format_name` and implement :meth:`write`."""

    format_name: ClassVar[str]
    #: Whether a slice may be compared exactly (False for lossy video codecs).
    exact: ClassVar[bool] = True

    def write(self, folder: Path) -> tuple[Path, Arrays]:
        """Write an example source in ``folder``; return its path and ``{key: array}`` written."""
        raise NotImplementedError

    def file_to_break(self, source: Path) -> Path:
        """The file that the truncation tests cut (the source itself, or one file of a folder)."""
        return source

    # --- helpers --------------------------------------------------------------------

    def _compare(self, got: np.ndarray, expected: np.ndarray) -> None:
        if self.exact:
            np.testing.assert_array_equal(got, expected)
        else:
            assert got.shape == expected.shape

    # --- the contract ---------------------------------------------------------------

    def test_probe_names_format_and_lists_written_keys(self, tmp_path: Path) -> None:
        source, written = self.write(tmp_path)
        info = probe(source)
        assert info.format == self.format_name
        for key, value in written.items():
            variable = info.variable(key)
            assert variable.shape == value.shape, key
            assert 0.0 <= variable.confidence <= 1.0

    def test_probe_reads_no_array_data(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        source, _ = self.write(tmp_path)
        called: list[str] = []

        def spy(self: LazyArray, key: object) -> np.ndarray:
            called.append(type(self).__name__)
            raise AssertionError("probe read array data")

        for cls in _subclasses(LazyArray):
            monkeypatch.setattr(cls, "_read", spy)
        monkeypatch.setattr(np, "load", _forbidden("np.load"))
        big_reads: list[str] = []
        plain_getitem = h5py.Dataset.__getitem__

        def small_reads_only(dataset: h5py.Dataset, key: object, **kwargs: object) -> object:
            if dataset.size > SMALL:  # references and scalars (metadata) are fine
                big_reads.append(dataset.name or "?")
            return plain_getitem(dataset, key, **kwargs)

        monkeypatch.setattr(h5py.Dataset, "__getitem__", small_reads_only)
        info = probe(source)
        assert info.variables and not called and not big_reads

    def test_probe_is_json_ready(self, tmp_path: Path) -> None:
        source, _ = self.write(tmp_path)
        info = probe(source)
        again = json.loads(json.dumps(info.to_dict()))
        assert again["format"] == self.format_name
        assert [v["key"] for v in again["variables"]] == info.keys
        assert all(v["role"] in ROLES for v in again["variables"])

    def test_lazy_slice_equals_full_read(self, tmp_path: Path) -> None:
        source, written = self.write(tmp_path)
        with open_source(source) as reader:
            for key, expected in written.items():
                view = reader.array(key)
                assert view.shape == expected.shape and view.ndim == expected.ndim
                full = np.asarray(view)
                self._compare(full, expected)
                if expected.ndim and expected.shape[0] > 2:
                    self._compare(view[1:-1], full[1:-1])
                    self._compare(view[::-2], full[::-2])
                    self._compare(view[-1], full[-1])
                if expected.ndim >= 2 and expected.shape[-1] > 1:
                    self._compare(view[..., 1:], full[..., 1:])

    def test_wrong_key_lists_available_keys(self, tmp_path: Path) -> None:
        source, written = self.write(tmp_path)
        with open_source(source) as reader, pytest.raises(MissingKeyError) as caught:
            reader.array("no_such_variable")
        assert next(iter(written)) in str(caught.value)
        assert caught.value.hint

    def test_truncated_file_raises_our_error(self, tmp_path: Path) -> None:
        source, written = self.write(tmp_path)
        target = self.file_to_break(source)
        content = target.read_bytes()
        target.write_bytes(content[: len(content) // 2])
        with pytest.raises(OpenRetinaDataError):
            with open_source(source) as reader:
                reader.probe()
                for key in written:
                    np.asarray(reader.array(key))

    def test_empty_file_raises_unreadable(self, tmp_path: Path) -> None:
        source, written = self.write(tmp_path)
        target = self.file_to_break(source)
        target.write_bytes(b"")
        with pytest.raises(UnreadableSourceError):
            with open_source(source) as reader:
                reader.probe()
                for key in written:
                    np.asarray(reader.array(key))

    def test_reader_is_a_source_reader(self, tmp_path: Path) -> None:
        source, _ = self.write(tmp_path)
        with open_source(source) as reader:
            assert isinstance(reader, SourceReader) and reader.name == self.format_name


def _subclasses(cls: type) -> list[type]:
    out: list[type] = [cls]
    sub: type
    for sub in cls.__subclasses__():
        out.extend(_subclasses(sub))
    return out


def _forbidden(name: str) -> object:
    def call(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"probe called {name}")

    return call
