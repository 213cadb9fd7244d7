"""CSV / TSV tables (spike times, event times, cell tables): one variable per column.

Columns are named by the header row; a file whose first row is all numbers has no
header and its columns are ``column_0``, ``column_1`` .... Numeric columns become
``int64`` or ``float64`` (empty cells → NaN), others text (object arrays of ``str``).
Probing reads the first rows to type the columns and counts lines; the columns are
parsed on first access.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from openretina_data.sources.base import SourceInfo, SourceReader, missing_key, register
from openretina_data.sources.lazy import DeferredArray, LazyArray
from openretina_data.sources.roles import guess_variable

SAMPLE_ROWS = 200


def _number(cell: str) -> float | None:
    try:
        return float(cell) if cell.strip() else math.nan
    except ValueError:
        return None


def _column_dtype(cells: list[str]) -> np.dtype[Any]:
    values = [_number(c) for c in cells]
    if any(v is None for v in values):
        return np.dtype(object)
    if all(c.strip().lstrip("+-").isdigit() for c in cells):
        return np.dtype(np.int64)
    return np.dtype(np.float64)


@register
class TableReader(SourceReader):
    name = "table"
    description = "CSV/TSV table (.csv, .tsv, .txt)"
    suffixes = (".csv", ".tsv", ".tab", ".txt")

    @classmethod
    def sniff(cls, path: Path, header: bytes) -> int:
        if b"\x00" in header[:1024]:
            return 0  # binary, not a table
        return super().sniff(path, header)

    def __init__(self, path: Any) -> None:
        super().__init__(path)
        try:
            with self.path.open("r", newline="", encoding="utf-8-sig") as handle:
                first = handle.readline()
                sample = [first] + [handle.readline() for _ in range(SAMPLE_ROWS)]
        except (OSError, UnicodeDecodeError) as error:
            raise self.unreadable("text", error) from error
        self.delimiter = self._delimiter(first)
        try:
            reader = csv.reader(io.StringIO("".join(sample)), delimiter=self.delimiter)
            rows = [r for r in reader if r]
        except csv.Error as error:
            raise self.unreadable("table", error) from error
        if not rows:
            raise self.unreadable("table: no rows")
        self.has_header = any(_number(c) is None for c in rows[0])
        body = rows[1:] if self.has_header else rows
        width = len(rows[0])
        self.columns = (
            [c.strip() or f"column_{i}" for i, c in enumerate(rows[0])]
            if self.has_header
            else [f"column_{i}" for i in range(width)]
        )
        self.dtypes = [
            _column_dtype([r[i] for r in body if i < len(r)]) if body else np.dtype(np.float64)
            for i in range(width)
        ]
        with self.path.open("rb") as raw:
            lines = sum(1 for line in raw if line.strip())
        self.n_rows = lines - int(self.has_header)
        self._parsed: list[np.ndarray] | None = None

    def _delimiter(self, first: str) -> str:
        if self.path.suffix.lower() in (".tsv", ".tab") or "\t" in first:
            return "\t"
        if "," in first:
            return ","
        return ";" if ";" in first else ","

    def probe(self) -> SourceInfo:
        variables = tuple(
            guess_variable(name, (self.n_rows,), dtype, attrs={"column": i})
            for i, (name, dtype) in enumerate(zip(self.columns, self.dtypes, strict=True))
        )
        attrs = {"delimiter": self.delimiter, "header": self.has_header}
        return SourceInfo(str(self.path), self.name, variables, attrs)

    def _parse(self) -> list[np.ndarray]:
        if self._parsed is None:
            try:
                with self.path.open("r", newline="", encoding="utf-8-sig") as handle:
                    rows = [r for r in csv.reader(handle, delimiter=self.delimiter) if r]
            except (OSError, UnicodeDecodeError, csv.Error) as error:
                raise self.unreadable("text", error) from error
            body = rows[1:] if self.has_header else rows
            for n, row in enumerate(body, start=2 if self.has_header else 1):
                if len(row) != len(self.columns):
                    raise self.unreadable(
                        f"line {n}: {len(row)} fields, the table has {len(self.columns)} "
                        "(truncated or a stray delimiter?)"
                    )
            self._parsed = []
            for i, dtype in enumerate(self.dtypes):
                cells = [row[i] for row in body]
                if dtype.kind == "O":
                    column = np.empty(len(cells), dtype=object)
                    column[:] = [c.strip() for c in cells]
                else:
                    column = self._numbers(cells, i, dtype)
                self._parsed.append(column)
        return self._parsed

    def _numbers(self, cells: list[str], i: int, dtype: np.dtype[Any]) -> np.ndarray:
        try:
            values = np.array([float(c) if c.strip() else math.nan for c in cells])
        except ValueError as error:
            raise self.unreadable(f"column {self.columns[i]!r}", error) from error
        if dtype.kind == "i" and not np.isfinite(values).all():
            raise self.unreadable(
                f"column {self.columns[i]!r}: empty cells in a column of integers"
            )
        return values.astype(dtype)

    def array(self, key: str) -> LazyArray:
        if key not in self.columns:
            raise missing_key(key, self.columns, self.path)
        i = self.columns.index(key)
        return DeferredArray((self.n_rows,), self.dtypes[i], lambda: self._parse()[i])
