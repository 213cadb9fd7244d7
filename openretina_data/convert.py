"""Run a recipe: stream every source into a native dataset, atomically.

:func:`convert` is a generator of :class:`Progress`; the CLI's progress bar and the
wizard's worker both drive it, and either may stop between two yields (``close()`` the
generator or set a :class:`CancelToken`). It checks the recipe with
:func:`~openretina_data.plan.plan` first, then writes through
:class:`~openretina_data.layout.DatasetWriter`: everything goes into a temporary
folder beside the target, is fsynced and renamed into place, so a cancel, an error or
a kill leaves the target as it was (the next run removes stale temporaries).

Sources are read in time-slabs, so memory does not grow with recording length.
Sessions convert in parallel processes with ``jobs > 1``. This module never imports torch.

Examples
--------
>>> for step in convert(load_recipe("recipe.yaml")):   # doctest: +SKIP
...     print(step.message)
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from openretina_data._card_data_info import card_data_info
from openretina_data.convert_append import (
    check_append,
    dataset_exists,
    remove_dead_staging,
    staging_folder,
    writer_when_free,
)
from openretina_data.convert_sessions import (
    SessionOutcome,
    adopt_into,
    place_in_writer,
    write_sessions,
)
from openretina_data.convert_stimuli import stimulus_sources, write_movie
from openretina_data.errors import CancelledError, OutputError, RecipeError
from openretina_data.layout._fs import remove_tree
from openretina_data.layout.card import read_card
from openretina_data.layout.names import session_file_name
from openretina_data.layout.writer import DatasetWriter
from openretina_data.plan import ConversionPlan, plan
from openretina_data.plan_guards import source_paths
from openretina_data.recipe import Recipe, SessionSpec, expand_sessions, recipe_text_and_hash

RESPONSE_SLAB_FRAMES = 4096
#: ``run_sessions(place, adopt)``: :func:`~openretina_data.convert_sessions.write_sessions`
#: with everything but where the files go and who adopts them already given.
SessionRunner = Callable[
    [Callable[[str], Path], Callable[[SessionOutcome], None]], Iterator[tuple[str, int, str]]
]


@dataclass(frozen=True)
class Progress:
    """One step of a conversion: ``done`` of ``total`` work units (frames) so far."""

    step: str
    done: int
    total: int
    message: str


class CancelToken:
    """Set from any thread; :func:`convert` stops at its next slab and cleans up."""

    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


def convert(
    recipe: Recipe,
    *,
    session: str | None = None,
    jobs: int = 1,
    append: bool = False,
    overwrite: bool = False,
    cancel: CancelToken | None = None,
) -> Iterator[Progress]:
    """Convert ``recipe`` into its output folder, yielding :class:`Progress`.

    Parameters
    ----------
    session
        Convert only this session (e.g. one job of a SLURM array; combine with ``append``).
    jobs
        Sessions converted in parallel processes.
    append
        Add sessions to an existing dataset without rewriting it; refused when the
        stimuli or the normalisation would change. Sessions already present are skipped.
        Where there is no dataset yet, it is created (stimuli, card and these sessions):
        every job of an array may append, the first to take the lock creates it.
    overwrite
        Replace an existing dataset once the new one is complete.
    cancel
        A token that stops the conversion at the next slab.

    Raises
    ------
    RecipeError
        The plan has errors (all are listed in the message).
    CancelledError
        ``cancel`` was set; nothing was left behind.
    """
    token = cancel or CancelToken()
    yield Progress("plan", 0, 1, "checking the recipe and its sources")
    checked = plan(recipe, overwrite=overwrite, append=append, session=session)
    if not checked.ok:
        listing = "\n".join(str(p) for p in checked.errors)
        raise RecipeError(
            f"the recipe has {len(checked.errors)} problem(s):\n{listing}",
            hint="Fix them (run `openretina-data plan RECIPE`), then convert again.",
        )
    sessions = expand_sessions(recipe)
    if session is not None:
        sessions = [s for s in sessions if s.name == session]
        if not sessions:
            raise RecipeError(
                f"no session named {session!r}", session=session, hint="See `openretina-data plan`."
            )
    existing = None
    if append and dataset_exists(checked.output):  # else the first job to get the lock creates it
        existing = read_card(checked.output)
        check_append(recipe, checked, existing)
        sessions = [s for s in sessions if existing is None or s.name not in existing.sessions]
    text, digest = recipe_text_and_hash(recipe)
    total = _total_frames(checked, sessions, existing is not None)
    movie_frames = {s.name: s.shape[1] + recipe.lag_frames for s in checked.stimuli if s.shape}
    make_writer = partial(
        DatasetWriter,
        checked.output,
        frame_rate_hz=recipe.frame_rate_hz,
        response_unit=recipe.response_unit(),
        recipe_text=text,
        recipe_sha256=digest,
        overwrite=overwrite,
        append=append,
        keep=source_paths(recipe, expand_sessions(recipe)),
    )
    check = partial(_raise_if_cancelled, token)
    run_sessions = partial(
        write_sessions,
        recipe,
        sessions,
        movie_frames=movie_frames,
        jobs=jobs,
        check=check,
        slab_frames=RESPONSE_SLAB_FRAMES,  # read per call: tests and benchmarks set it
    )
    if append:
        yield from _append_sessions(recipe, checked, make_writer, run_sessions, check, total)
    else:
        yield from _write_dataset(recipe, checked, make_writer, run_sessions, check, total)
    yield Progress("done", total, total, f"wrote {checked.output}")


def _write_dataset(
    recipe: Recipe,
    checked: ConversionPlan,
    make_writer: Callable[[], DatasetWriter],
    run_sessions: SessionRunner,
    check: Callable[[], None],
    total: int,
) -> Iterator[Progress]:
    """A new dataset (or one replacing the target): stimuli, then sessions, under the lock."""
    with make_writer() as writer:
        hashing = ThreadPoolExecutor(max_workers=1)  # hashlib releases the GIL: overlaps I/O
        stop_hashing = threading.Event()
        stimulus_hashes = hashing.submit(stimulus_sources, recipe, stop_hashing)
        try:
            done = yield from _write_shared(recipe, checked, writer, check, total)
            placed = run_sessions(partial(place_in_writer, writer), partial(adopt_into, writer))
            yield from _progress(placed, done, total)
            writer.card.extra["stimulus_sources"] = stimulus_hashes.result()
            _record_data_info(recipe, writer)
        finally:
            stop_hashing.set()  # on cancel or error: stop hashing at the next chunk
            hashing.shutdown(wait=True, cancel_futures=True)


def _write_shared(
    recipe: Recipe,
    checked: ConversionPlan,
    writer: DatasetWriter,
    check: Callable[[], None],
    total: int,
) -> Generator[Progress, None, int]:
    """The card's description and the shared stimulus movies of a new dataset; frames written."""
    _describe(recipe, writer)
    done = 0
    for stim in checked.stimuli:
        if not stim.shared or stim.shape is None:
            continue
        spec = recipe.stimulus(stim.name)
        for frames in write_movie(recipe, spec, writer.create_stimulus, check):
            done += frames
            yield Progress(
                f"stimulus {stim.name}", done, total, f"wrote {frames} frames of {stim.name}"
            )
    return done


def _append_sessions(
    recipe: Recipe,
    checked: ConversionPlan,
    make_writer: Callable[..., DatasetWriter],
    run_sessions: SessionRunner,
    check: Callable[[], None],
    total: int,
) -> Iterator[Progress]:
    """Sessions converted into a staging folder, then adopted under the dataset's lock.

    Several jobs appending to one dataset convert in parallel and queue only for the
    short adoption (see :mod:`openretina_data.convert_append`). When there is no dataset
    yet (every job of a SLURM array started on a fresh output), the first job to take
    the lock creates it with the shared stimuli and the card; the others find it there
    and append (the same recipe gives the same stimuli and normalisation).
    """
    target = checked.output
    remove_dead_staging(target)
    staging = staging_folder(target)
    outcomes: list[SessionOutcome] = []
    try:
        staged = run_sessions(lambda name: staging / session_file_name(name), outcomes.append)
        yield from _progress(staged, 0, total)
        if not dataset_exists(target):
            try:
                with writer_when_free(partial(make_writer, append=False)) as writer:
                    yield from _write_shared(recipe, checked, writer, check, total)
                    _adopt_staged(writer, staging, outcomes)
                    _record_data_info(recipe, writer)
                    writer.card.extra["stimulus_sources"] = stimulus_sources(
                        recipe, threading.Event()
                    )
                return
            except OutputError:
                if not dataset_exists(target):
                    raise
                # another job created it while this one waited: append as planned
        with writer_when_free(make_writer) as writer:
            check_append(recipe, checked, read_card(target))
            _describe(recipe, writer)
            _adopt_staged(writer, staging, outcomes)
            _record_data_info(recipe, writer)
    finally:
        remove_tree(staging)


def _adopt_staged(writer: DatasetWriter, staging: Path, outcomes: list[SessionOutcome]) -> None:
    for outcome in outcomes:
        if outcome.name in writer.card.sessions:
            continue  # another job appended it meanwhile
        placed = place_in_writer(writer, outcome.name)
        os.replace(staging / session_file_name(outcome.name), placed)
        adopt_into(writer, outcome)


def _describe(recipe: Recipe, writer: DatasetWriter) -> None:
    """What the card says about the recipe: test stimuli, description, normalisation."""
    writer.card.test_stimuli = [s.name for s in recipe.stimuli if s.split == "test"]
    writer.card.description = recipe.description
    writer.card.loader = dataclasses.asdict(recipe.loader)
    writer.card.extra["recipe_folder"] = str(recipe.base_dir.resolve())  # paths are relative to it
    _set_normalisation(recipe, writer)


def _record_data_info(recipe: Recipe, writer: DatasetWriter) -> None:
    """openretina's ``data_info`` in the card, once the sessions' timing reports are in."""
    writer.card.data_info = card_data_info(
        writer.card, recipe.stimulus_class, recipe.retina_pixel_size_um
    )


def _total_frames(checked: ConversionPlan, sessions: list[SessionSpec], appending: bool) -> int:
    total = 0 if appending else sum(s.shape[1] for s in checked.stimuli if s.shared and s.shape)
    names = {s.name for s in sessions}
    for session in checked.sessions:
        if session.name in names:
            total += sum(session.frames[n] * session.stimuli[n] for n in session.frames)
    return max(total, 1)


def _set_normalisation(recipe: Recipe, writer: DatasetWriter) -> None:
    norm = recipe.normalisation
    if writer.append:
        return
    if norm.mode == "given":
        writer.card.norm_mean, writer.card.norm_std = norm.mean, norm.std
    elif norm.mode == "none":
        writer.card.norm_mean, writer.card.norm_std = 0.0, 1.0


def _progress(steps: Iterator[tuple[str, int, str]], done: int, total: int) -> Iterator[Progress]:
    """Session steps ``(name, frames, message)`` as :class:`Progress`, counting on from ``done``."""
    for name, frames, message in steps:
        done += frames
        yield Progress(f"session {name}", min(done, total), total, message)


def _raise_if_cancelled(token: CancelToken) -> None:
    if token.cancelled:
        raise CancelledError(
            "the conversion was cancelled", hint="Nothing was written; run it again when ready."
        )


def run(recipe: Recipe, **options: Any) -> Path:
    """Run :func:`convert` to the end; returns the output folder."""
    for _ in convert(recipe, **options):
        pass
    return recipe.resolve(recipe.output)
