"""TIFF stacks (``.tif``, ``.tiff``, ImageJ and OME stacks) through tifffile, page by page.

Each image series is one variable: the file stem for the first series,
``<stem>/series<i>`` for the others. A series whose pages are its first axis
(``(time, height, width[, samples])``) is read only for the pages asked; other
shapes (hyperstacks) are read whole on first access.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from openretina_data.errors import UnreadableSourceError
from openretina_data.sources.base import BY_MAGIC, SourceInfo, SourceReader, missing_key, register
from openretina_data.sources.lazy import DeferredArray, FrameArray, LazyArray
from openretina_data.sources.roles import guess_variable

TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@register
class TiffReader(SourceReader):
    name = "tiff"
    description = "TIFF stack (.tif, .tiff)"
    suffixes = (".tif", ".tiff")
    extra = "tiff"
    requires = ("tifffile",)

    @classmethod
    def sniff(cls, path: Path, header: bytes) -> int:
        if header[:4] in TIFF_MAGICS:
            return BY_MAGIC
        return super().sniff(path, header)

    def __init__(self, path: Any) -> None:
        super().__init__(path)
        import tifffile

        opened: list[Any] = []  # closed again if tifffile complains after opening
        try:
            with self._guard("file"):
                opened.append(tifffile.TiffFile(self.path))
            self.file = opened[0]
            with self._guard("file"):
                self.series = list(self.file.series)
                self._check_sizes()
        except UnreadableSourceError:
            for handle in opened:
                handle.close()
            raise
        stem = self.path.stem.removesuffix(".ome")
        self.keys_to_series = {
            (stem if i == 0 else f"{stem}/series{i}"): s for i, s in enumerate(self.series)
        }

    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        """Turn tifffile's logged complaints and exceptions into our error."""
        logger = logging.getLogger("tifffile")
        handler = _Collect()
        logger.addHandler(handler)
        propagate, logger.propagate = logger.propagate, False
        try:
            yield
        except UnreadableSourceError:
            raise
        except Exception as error:  # tifffile raises many types on corrupt files
            raise self.unreadable(what, error) from error
        finally:
            logger.removeHandler(handler)
            logger.propagate = propagate
        if handler.messages:
            raise self.unreadable(what, ValueError("; ".join(handler.messages[:3])))

    def _check_sizes(self) -> None:
        size = self.path.stat().st_size
        for series in self.series:
            offset = series.dataoffset
            if offset is not None and offset + series.nbytes > size:
                raise self.unreadable("pixel data: the file ends early (truncated?)")

    def probe(self) -> SourceInfo:
        variables = []
        for key, series in self.keys_to_series.items():
            found = {"axes": series.axes, "pages": len(series.pages)}
            variables.append(guess_variable(key, tuple(series.shape), series.dtype, attrs=found))
        attrs: dict[str, Any] = {"imagej": self.file.is_imagej, "ome": self.file.is_ome}
        return SourceInfo(str(self.path), self.name, tuple(variables), attrs)

    def array(self, key: str) -> LazyArray:
        if key not in self.keys_to_series:
            raise missing_key(key, list(self.keys_to_series), self.path)
        series = self.keys_to_series[key]
        index = self.series.index(series)
        shape = tuple(series.shape)
        if len(series.pages) > 1 and len(series.pages) == shape[0]:

            def read_frames(start: int, stop: int, step: int) -> np.ndarray:
                pages = list(range(start, stop, step))
                with self._guard(f"pages {start}..{stop}"):
                    data = self.file.asarray(key=pages, series=index)
                return np.reshape(data, (len(pages), *shape[1:]))

            return FrameArray(shape, series.dtype, read_frames)

        def read_all() -> np.ndarray:
            with self._guard(f"series {key!r}"):
                return np.asarray(series.asarray())

        return DeferredArray(shape, series.dtype, read_all)

    def close(self) -> None:
        self.file.close()
