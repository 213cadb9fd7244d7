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

from openretina_data.errors import OpenRetinaDataError
from openretina_data.layout.card import read_card
from openretina_data.layout.ownership import occupant
from openretina_data.plan_report import Collector
from openretina_data.recipe import Recipe, SessionSpec, fill_session


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
