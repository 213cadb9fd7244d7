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
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from openretina_data._files import require_regular
from openretina_data.errors import UnreadableSourceError
from openretina_data.sources.base import SourceInfo, SourceReader, missing_key, register
from openretina_data.sources.lazy import DeferredArray, LazyArray
from openretina_data.sources.roles import guess_variable

SAMPLE_ROWS = 200
INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


@dataclass
class Table:
    """A whole table read by :func:`read_table`: header, rows of text cells, and how."""

    path: Path
    header: list[str]
    rows: list[list[str]]
    lines: list[int]  # the file line of each row
    encoding: str

    def column(self, name: str) -> list[str]:
        index = self.header.index(name)
        return [row[index] for row in self.rows]

    def records(self) -> list[dict[str, str]]:
        return [dict(zip(self.header, row, strict=True)) for row in self.rows]


def decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding that read it: UTF-8 (BOM allowed), else Latin-1 (never fails)."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def read_table(
    path: str | os.PathLike[str],
    *,
    delimiter: str | None = None,
    header: bool = True,
    session: str | None = None,
) -> Table:
    """Every row of a CSV/TSV file, checked: the one table reader tables go through.

    The file must be a regular file (never a FIFO); UTF-8 is tried first, Latin-1
    (what spreadsheet exports on Windows often are) after; a field longer than csv's
    limit, a row with fewer or more fields than the header and an unterminated quote
    are errors naming the line. ``delimiter`` None: tab for ``.tsv``/``.tab`` or a
    header holding a tab, else comma (semicolon when that is all the header has).

    Raises
    ------
    SourceNotFoundError, UnreadableSourceError
        Naming the file, the line and (``session``) the session.
    """
    path = Path(path)
    require_regular(path, what="table", folders=False)
    try:
        text, encoding = decode(path.read_bytes())
    except OSError as error:
        raise UnreadableSourceError(
            f"the table cannot be read ({error.strerror})", path=path, session=session
        ) from None
    first = text.split("\n", 1)[0]
    chosen = delimiter or _guess_delimiter(path, first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=chosen)
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            if row:
                rows.append(row)
                lines.append(reader.line_num)
    except csv.Error as error:
        raise UnreadableSourceError(
            f"line {reader.line_num}: {error} (a cell is huge, or a quote is never closed)",
            path=path,
            session=session,
            hint="Open the table in a text editor at that line; re-export it as plain TSV/CSV.",
        ) from None
    if not rows:
        raise UnreadableSourceError(
            "the table has no rows", path=path, session=session, hint="Export the table again."
        )
    names = [c.strip() for c in rows[0]] if header else [f"column_{i}" for i in range(len(rows[0]))]
    body, body_lines = (rows[1:], lines[1:]) if header else (rows, lines)
    for row, line in zip(body, body_lines, strict=True):
        if len(row) != len(names):
            raise UnreadableSourceError(
                f"line {line} has {len(row)} fields, the table has {len(names)} columns",
                path=path,
                session=session,
                hint="The file is cut short or has a stray delimiter there; export it again.",
            )
    return Table(path, names, body, body_lines, encoding)


def parse_id(cell: str, *, path: Path, line: int | str, session: str | None = None) -> int:
    """A unit id cell as an int that fits int64 (what every id array here holds)."""
    text = cell.strip()
    try:
        value = int(text)
    except ValueError:
        raise UnreadableSourceError(
            f"line {line}: the id {text[:40]!r} is not a whole number",
            path=path,
            session=session,
            hint="Ids are whole numbers; check that line of the table.",
        ) from None
    if not INT64_MIN <= value <= INT64_MAX:
        raise UnreadableSourceError(
            f"line {line}: the id {text[:40]} is beyond the 64-bit integer range",
            path=path,
            session=session,
            hint="Ids are small whole numbers (cluster numbers); check that line of the table.",
        )
    return value


def _guess_delimiter(path: Path, first: str) -> str:
    if path.suffix.lower() in (".tsv", ".tab") or "\t" in first:
        return "\t"
    if "," in first:
        return ","
    return ";" if ";" in first else ","


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
            with self.path.open("rb") as handle:
                head = [handle.readline() for _ in range(SAMPLE_ROWS + 1)]
        except OSError as error:
            raise self.unreadable("text", error) from error
        first, *rest = decode(b"".join(head))[0].splitlines(keepends=True) or [""]
        sample = [first, *rest]
        self.delimiter = _guess_delimiter(self.path, first)
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

    def probe(self) -> SourceInfo:
        variables = tuple(
            guess_variable(name, (self.n_rows,), dtype, attrs={"column": i})
            for i, (name, dtype) in enumerate(zip(self.columns, self.dtypes, strict=True))
        )
        attrs = {"delimiter": self.delimiter, "header": self.has_header}
        return SourceInfo(str(self.path), self.name, variables, attrs)

    def _parse(self) -> list[np.ndarray]:
        if self._parsed is None:
            table = read_table(self.path, delimiter=self.delimiter, header=self.has_header)
            body = table.rows
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
