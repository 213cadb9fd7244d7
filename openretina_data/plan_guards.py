"""Guards plan runs before anything else: the output folder against the sources.

:func:`source_paths` lists every file or folder a recipe reads (stimuli, responses,
frame times, session info, for every expanded session); :func:`check_output` asks
:func:`~openretina_data.layout.ownership.occupant` what stands at the output and
refuses an output that is, holds or lies inside any of them (symlinks followed),
one that is not a folder, and a replace (``overwrite``) of anything but a dataset
this tool wrote. The writer asks the same question again when it opens, so a
conversion that skips the plan is guarded too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from openretina_data.errors import MissingKeyError, OpenRetinaDataError
from openretina_data.layout.card import read_card
from openretina_data.layout.ownership import occupant
from openretina_data.plan_report import Collector
from openretina_data.recipe import Recipe, SessionSpec, fill_session
from openretina_data.responses_io import _cut_to as cut_to
from openretina_data.responses_io import _typed_column as typed_column
from openretina_data.responses_io import read_info_column
from openretina_data.sources.table import parse_id, read_table


def source_paths(recipe: Recipe, sessions: list[SessionSpec]) -> list[Path]:
    """Every path the recipe reads, made absolute (templates filled for ``sessions``)."""
    paths: list[str] = []
    for spec in recipe.stimuli:
        if spec.shared:
            paths.append(spec.path)
        else:
            paths.extend(fill_session(spec, s.name).path for s in sessions)
    for session in sessions:
        for source in session.responses:
            paths.append(source.path)
            if source.frame_times.path:
                paths.append(source.frame_times.path)
        paths.extend(info.path for info in session.session_info)
    resolved = []
    for path in dict.fromkeys(paths):
        if path and "\x00" not in path:
            resolved.append(recipe.resolve(path).absolute())
    return resolved


def output_path(recipe: Recipe, found: Collector) -> Path | None:
    """The output folder, absolute; None (with an error) when it cannot be one."""
    text = recipe.output
    if not text.strip():
        found.add(
            "error",
            "the recipe's output is empty",
            "Set output to a new folder for the dataset, e.g. output: dataset.",
            key="output",
        )
        return None
    bad = sorted({repr(c) for c in text if ord(c) < 32 or ord(c) == 127})
    if bad:
        found.add(
            "error",
            f"the recipe's output {text!r} contains the control character(s) {', '.join(bad)}",
            "Write the output folder as plain text, e.g. output: dataset.",
            key="output",
        )
        return None
    return recipe.resolve(text).absolute()


def check_output(
    recipe: Recipe,
    output: Path,
    sessions: list[SessionSpec],
    found: Collector,
    *,
    overwrite: bool,
    append: bool,
) -> None:
    """Errors for an output that would overwrite sources or anything we did not write."""
    blocking = next((p for p in output.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        found.add(
            "error",
            "a file stands where a folder of the output path should be",
            "Choose another output path.",
            path=blocking,
            key="output",
        )
        return
    if not output.parent.is_dir():
        found.add("warning", "the output's parent folders will be created", "", path=output.parent)
    there = occupant(output, source_paths(recipe, sessions))
    if there.kind == "sources" or there.kind == "not_folder":
        found.add("error", there.message(replacing=overwrite), there.hint(), path=output)
        return
    if there.free:
        return
    if append:
        try:
            card = read_card(output)
        except OpenRetinaDataError:
            card = None
        if card is None:
            found.add("warning", "appending to a folder without a dataset card", "", path=output)
        return
    if overwrite and there.replaceable:
        return
    hint = there.hint()
    if there.replaceable:
        hint = "Choose a new folder, pass --overwrite to replace it, or --append to add sessions."
    found.add("error", there.message(replacing=overwrite), hint, path=output)


def info_column(
    path: Path,
    key: str | None,
    fmt: str | None,
    *,
    session: str | None = None,
    unit_ids: np.ndarray | None = None,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`~openretina_data.responses_io.read_info_column`, tables through :func:`read_table`.

    A TSV/CSV goes through the one checked table reader (FIFOs refused, Latin-1
    accepted, short rows, huge cells and ids beyond int64 named by line); other
    formats are read as before.
    """
    if path.suffix.lower() not in (".tsv", ".csv"):
        return read_info_column(path, key, fmt, session=session, unit_ids=unit_ids, rows=rows)
    if key is None:
        raise MissingKeyError("a table needs `key` (the column)", path=path, session=session)
    table = read_table(
        path, delimiter="\t" if path.suffix.lower() == ".tsv" else ",", session=session
    )
    if key not in table.header:
        raise MissingKeyError(
            f"no column {key!r}; columns: {', '.join(table.header)}",
            path=path,
            key=key,
            session=session,
            hint="Set the session_info key to one of those columns.",
        )
    values = table.column(key)
    id_column = next((c for c in ("cluster_id", "id") if c in table.header), None)
    if unit_ids is not None and id_column is not None:
        ids = [
            parse_id(cell, path=path, line=line, session=session)
            for cell, line in zip(table.column(id_column), table.lines, strict=True)
        ]
        by_id = dict(zip(ids, values, strict=True))
        missing = [int(u) for u in unit_ids if int(u) not in by_id]
        if missing:
            raise MissingKeyError(
                f"the table has no row for clusters {missing[:5]}",
                path=path,
                key=key,
                session=session,
                hint="Export the cluster table again from the same sorting as the spikes.",
            )
        values = [by_id[int(u)] for u in unit_ids]
    return cut_to(typed_column(values), rows, path, session)
