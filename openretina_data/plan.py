"""Check a recipe against its sources before one byte is written.

:func:`plan` opens every source lazily (headers only; a trigger channel is scanned
when it is small enough), and collects *all* problems at once, each with a hint and a
severity, plus a summary: the sessions × stimuli table, neurons, frames, bytes to
write and a time estimate. :func:`~openretina_data.convert.convert` runs a plan first
and refuses to start while it has errors.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from openretina_data.convert_io import MovieAxes, open_array
from openretina_data.layout.names import RESERVED_TEST_NAMES, fold, validate_name
from openretina_data.plan_guards import check_output, output_path
from openretina_data.plan_report import (
    Collector,
    ConversionPlan,
    Problem,
    SessionPlan,
    Severity,
    StimulusPlan,
)
from openretina_data.plan_sessions import plan_session
from openretina_data.recipe import (
    RESPONSE_UNITS,
    SESSION_TOKEN,
    Recipe,
    SessionSpec,
    StimulusSpec,
    expand_sessions,
    fill_session,
)

__all__ = [
    "ConversionPlan",
    "Problem",
    "SessionPlan",
    "Severity",
    "StimulusPlan",
    "iter_problems",
    "plan",
]


def plan(
    recipe: Recipe, *, overwrite: bool = False, append: bool = False, session: str | None = None
) -> ConversionPlan:
    """Check ``recipe`` against its sources; nothing is written.

    Parameters
    ----------
    overwrite, append
        What the conversion will be allowed to do with an existing output folder.
    session
        Check only this session (the others' sources are not opened).
    """
    found = Collector()
    output = output_path(recipe, found)
    _check_names(recipe, found)
    sessions = found.attempt(lambda: expand_sessions(recipe)) or []
    if output is not None:
        check_output(recipe, output, sessions, found, overwrite=overwrite, append=append)
    else:
        output = recipe.base_dir.absolute() / "(no output)"
    if session is not None:
        expanded, sessions = sessions, [s for s in sessions if s.name == session]
        if not sessions:
            known = ", ".join(repr(s.name) for s in expanded[:20]) or "none"
            found.add(
                "error",
                f"no session named {session!r}; the recipe's sessions are: {known}",
                "Give one of those names to --session.",
                key="session",
            )
    elif not sessions:
        found.add("error", "the recipe has no sessions", "Add a session, or check session_pattern.")
    stimuli = [_plan_stimulus(recipe, spec, sessions, found) for spec in recipe.stimuli]
    movie_frames = {s.name: s.shape[1] for s in stimuli if s.shape is not None}
    _check_frame_sizes(stimuli, found)
    _check_loader(recipe, stimuli, found)
    session_plans = [plan_session(recipe, session, movie_frames, found) for session in sessions]
    _check_unique_sessions([s.name for s in sessions], found)
    result = ConversionPlan(recipe, output, stimuli, session_plans, found.problems)
    _estimate_bytes(recipe, result)
    _check_free_space(output, result.bytes_to_write, found)
    return result


def _check_loader(recipe: Recipe, stimuli: list[StimulusPlan], found: Collector) -> None:
    """The card's dataloader settings must be valid, and usable on the training frames."""
    hint = (
        "Change the recipe's `loader` section: the dataset card keeps it for `loader-check` "
        "and the wizard."
    )
    invalid = recipe.loader.problems(train_frames=None)
    if invalid:
        found.add("error", f"the loader settings are invalid: {invalid[0]}", hint, key="loader")
        return
    shapes = [s.shape for s in stimuli if s.split == "train"]
    if not shapes or any(shape is None for shape in shapes):
        return
    frames = sum(shape[1] for shape in shapes if shape is not None) - recipe.lag_frames
    for problem in recipe.loader.problems(frames):
        found.add(
            "warning",
            f"the loader settings do not fit the data: {problem}",
            hint + " The dataset itself is written either way.",
            key="loader",
        )


#: Room kept free beside the dataset (card, HDF5 metadata, file system blocks): a share
#: of its size plus a few blocks.
FREE_SPACE_SHARE, FREE_SPACE_BLOCKS = 0.05, 4 * 4096


def _check_free_space(output: Path, needed: int, found: Collector) -> None:
    """Refuse a dataset larger than the output disk's free space (absurd headers included)."""
    folder = output.parent
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    margin = int(needed * FREE_SPACE_SHARE) + FREE_SPACE_BLOCKS
    if needed + margin > free:
        found.add(
            "error",
            f"the dataset needs about {needed / 1e9:.3g} GB (and {margin / 1e6:.3g} MB to "
            f"spare), the output disk has {free / 1e9:.3g} GB free",
            "Free space or write elsewhere; if the size looks absurd, check the stimulus shapes.",
            path=output,
        )


def _check_names(recipe: Recipe, found: Collector) -> None:
    seen: dict[str, str] = {}
    for spec in recipe.stimuli:
        found.attempt(partial(validate_name, spec.name, kind="stimulus"))
        if spec.name.casefold() in seen:
            found.add(
                "error",
                f"stimulus name {spec.name!r} is used twice",
                "Give every stimulus its own name.",
            )
        seen[spec.name.casefold()] = spec.name
        if spec.split == "test" and spec.name.casefold() in RESERVED_TEST_NAMES:
            found.add(
                "error",
                f"test stimulus {spec.name!r} has a split's name",
                "Rename it, e.g. 'test_movie'.",
            )
        if not spec.shared and SESSION_TOKEN not in spec.path:
            found.add(
                "error",
                f"session-specific stimulus {spec.name!r} has no {SESSION_TOKEN} in its path",
                "Put {session} where the session name goes, or set shared: true.",
            )
    if not any(s.split == "train" for s in recipe.stimuli):
        found.add("error", "no training stimulus", "Mark at least one stimulus as split: train.")
    if recipe.frame_rate_hz <= 0:
        found.add(
            "error",
            f"frame_rate_hz must be positive, got {recipe.frame_rate_hz}",
            "State the rate in Hz.",
        )
    if recipe.lag_frames < 0:
        found.add(
            "error",
            "lag_frames cannot be negative",
            "Use 0 or a positive number of frames.",
            key="lag_frames",
        )
    norm = recipe.normalisation
    if norm.mode == "given" and (norm.mean is None or norm.std is None or norm.std <= 0):
        found.add(
            "error",
            "normalisation mode given needs mean and a positive std",
            "Fill in mean and std.",
        )
    for session in recipe.sessions:
        for source in session.responses:
            allowed = RESPONSE_UNITS.get(source.kind, ())
            if source.unit not in allowed:
                found.add(
                    "error",
                    f"unit {source.unit!r} does not fit {source.kind} responses",
                    f"Use one of: {', '.join(allowed)}.",
                    session=session.name,
                    path=source.path,
                )
    by_unit: dict[str, list[str]] = {}
    for s in recipe.sessions:
        for r in s.responses:
            by_unit.setdefault(recipe.response_unit(r), []).append(s.name)
    if len(by_unit) > 1:
        which = "; ".join(
            f"{unit}: {', '.join(sorted(set(names)))}" for unit, names in by_unit.items()
        )
        found.add(
            "error",
            f"sessions give different response units ({which}); a dataset holds one unit",
            "Make one dataset per unit: keep the sessions of one unit in this recipe and put the "
            "others (e.g. the calcium sessions) in a second recipe with its own output folder; "
            "a model can train on both datasets.",
        )


def _plan_stimulus(
    recipe: Recipe, spec: StimulusSpec, sessions: list[SessionSpec], found: Collector
) -> StimulusPlan:
    paths = (
        [recipe.resolve(spec.path)]
        if spec.shared
        else [recipe.resolve(fill_session(spec, s.name).path) for s in sessions]
    )
    shapes = set()
    for path in paths:
        shape = found.attempt(partial(_movie_shape, path, spec))
        if shape is not None:
            shapes.add(shape)
    if len(shapes) > 1:
        found.add(
            "error",
            f"session movies of {spec.name!r} differ in shape: {sorted(shapes)}",
            "Convert them separately.",
        )
    shape = shapes.pop() if len(shapes) == 1 else None
    if shape is not None and shape[1] <= recipe.lag_frames:
        found.add(
            "error",
            f"stimulus {spec.name!r} has {shape[1]} frames, not more than lag_frames "
            f"({recipe.lag_frames}): nothing of it would be left",
            "Lower lag_frames: it must be shorter than every stimulus.",
            key="lag_frames",
            path=spec.path,
        )
    if shape is not None:
        shape = (shape[0], shape[1] - max(recipe.lag_frames, 0), shape[2], shape[3])
    return StimulusPlan(spec.name, spec.split, spec.shared, shape, spec.path)


def _movie_shape(path: Path, spec: StimulusSpec) -> tuple[int, int, int, int]:
    reader, array = open_array(path, spec.key, spec.format)
    try:
        return MovieAxes.check(spec.axes, array.shape, where=f"stimuli.{spec.name}.axes").out_shape
    finally:
        reader.close()


def _check_frame_sizes(stimuli: list[StimulusPlan], found: Collector) -> None:
    """One frame size for all stimuli; else name each stimulus, its file and its size."""
    sized = [s for s in stimuli if s.shape is not None]
    sizes = {(s.shape[0], s.shape[2], s.shape[3]) for s in sized if s.shape is not None}
    if len(sizes) > 1:
        listing = ", ".join(
            f"{s.name!r} ({s.source}): {s.shape[0]}x{s.shape[2]}x{s.shape[3]}"
            for s in sized
            if s.shape is not None
        )
        found.add(
            "error",
            f"stimuli differ in frame size (channels x height x width): {listing}",
            "Check each stimulus's `axes` letters (e.g. thw vs twh, cthw); "
            "else resize or crop every stimulus to one frame size.",
        )


def _check_unique_sessions(names: list[str], found: Collector) -> None:
    seen: dict[str, str] = {}
    for name in names:
        if fold(name) in seen:
            clash = (
                f"session name {name!r} is given twice (listed twice, or two folders whose "
                "names differ only in Unicode form, NFC/NFD)"
                if seen[fold(name)] == name
                else f"session names {seen[fold(name)]!r} and {name!r} clash"
            )
            found.add(
                "error",
                clash,
                "Give every session its own name (letter case and Unicode form do not count).",
                session=name,
            )
        seen[fold(name)] = name


def _estimate_bytes(recipe: Recipe, result: ConversionPlan) -> None:
    itemsize = 1 if recipe.dtype == "uint8" else 4
    total = 0
    for stimulus in result.stimuli:
        if stimulus.shape is not None:
            c, t, h, w = stimulus.shape
            copies = 1 if stimulus.shared else len(result.sessions)
            total += copies * c * t * h * w * itemsize
    for session in result.sessions:
        for name, frames in session.frames.items():
            repeats = session.stimuli[name]
            trials = repeats if repeats > 1 and recipe.repeats.store_trials else 0
            total += (session.neurons or 0) * frames * 4 * (1 + trials)
    result.bytes_to_write = total
    result.bytes_to_read = total


def iter_problems(plan_result: ConversionPlan) -> Iterator[Problem]:
    """Errors first, then warnings."""
    yield from plan_result.errors
    yield from plan_result.warnings
