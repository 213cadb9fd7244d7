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

import hashlib
import multiprocessing
import os
import threading
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from openretina_data import __version__
from openretina_data.convert_append import remove_dead_staging, staging_folder, writer_when_free
from openretina_data.convert_io import MovieAxes, open_array, read_slabs, source_files
from openretina_data.errors import CancelledError, LayoutError, RecipeError
from openretina_data.layout._fs import remove_tree
from openretina_data.layout.card import SourceFile, read_card
from openretina_data.layout.names import LAYOUT_VERSION, TEST_BY_TRIAL_PREFIX, session_file_name
from openretina_data.layout.session import SessionWriter, source_file
from openretina_data.layout.writer import CREATED_BY, DatasetWriter
from openretina_data.plan import ConversionPlan, plan
from openretina_data.recipe import Recipe, SessionSpec, dumps_recipe, expand_sessions, fill_session
from openretina_data.responses_io import SpikeReader, open_response_reader, read_info_column
from openretina_data.timing.repeats import split_half_reliability

RESPONSE_SLAB_FRAMES = 4096
RELIABILITY_MAX_BYTES = 256 * 1024 * 1024  # larger repeat blocks are not re-read
HASH_CHUNK = 8 * 1024 * 1024


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


@dataclass
class SessionOutcome:
    """What a session worker wrote, for the card (arrays dropped, statistics kept)."""

    name: str
    writer: SessionWriter
    source_files: list[SourceFile] = field(default_factory=list)
    reliability: dict[str, float | None] = field(default_factory=dict)  # stimulus -> median


def recipe_text_and_hash(recipe: Recipe) -> tuple[str, str]:
    """The recipe as stored in the dataset, and its SHA-256."""
    text = dumps_recipe(recipe, fmt="yaml")
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()


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
    existing = read_card(checked.output) if append else None
    if append:
        _check_append(recipe, checked, existing)
        sessions = [s for s in sessions if existing is None or s.name not in existing.sessions]
    text, digest = recipe_text_and_hash(recipe)
    total = _total_frames(checked, sessions, append)
    movie_frames = {s.name: s.shape[1] + recipe.lag_frames for s in checked.stimuli if s.shape}
    make_writer = partial(
        DatasetWriter,
        checked.output,
        frame_rate_hz=recipe.frame_rate_hz,
        response_unit=_response_unit(recipe),
        recipe_text=text,
        recipe_sha256=digest,
        overwrite=overwrite,
        append=append,
    )
    if append:
        yield from _append_sessions(
            recipe, checked.output, sessions, make_writer, movie_frames, jobs, token, total
        )
    else:
        yield from _write_dataset(
            recipe, checked, sessions, make_writer, movie_frames, jobs, token, total
        )
    yield Progress("done", total, total, f"wrote {checked.output}")


def _write_dataset(
    recipe: Recipe,
    checked: ConversionPlan,
    sessions: list[SessionSpec],
    make_writer: Callable[[], DatasetWriter],
    movie_frames: dict[str, int],
    jobs: int,
    token: CancelToken,
    total: int,
) -> Iterator[Progress]:
    """A new dataset (or one replacing the target): stimuli, then sessions, under the lock."""
    done = 0
    with make_writer() as writer:
        _describe(recipe, writer)
        hashing = ThreadPoolExecutor(max_workers=1)  # hashlib releases the GIL: overlaps I/O
        stop_hashing = threading.Event()
        stimulus_hashes = hashing.submit(_stimulus_sources, recipe, stop_hashing)
        for stim in checked.stimuli:
            if not stim.shared or stim.shape is None:
                continue
            for frames in _write_shared_stimulus(recipe, stim.name, writer, token):
                done += frames
                yield Progress(
                    f"stimulus {stim.name}", done, total, f"wrote {frames} frames of {stim.name}"
                )
        try:
            yield from _write_sessions(
                recipe,
                sessions,
                partial(_place_in_writer, writer),
                partial(_adopt, writer),
                movie_frames,
                jobs,
                token,
                done,
                total,
            )
            writer.card.extra["stimulus_sources"] = stimulus_hashes.result()
        finally:
            stop_hashing.set()  # on cancel or error: stop hashing at the next chunk
            hashing.shutdown(wait=True, cancel_futures=True)


def _append_sessions(
    recipe: Recipe,
    target: Path,
    sessions: list[SessionSpec],
    make_writer: Callable[[], DatasetWriter],
    movie_frames: dict[str, int],
    jobs: int,
    token: CancelToken,
    total: int,
) -> Iterator[Progress]:
    """Sessions converted into a staging folder, then adopted under the dataset's lock.

    Several jobs appending to one dataset convert in parallel and queue only for the
    short adoption (see :mod:`openretina_data.convert_append`).
    """
    remove_dead_staging(target)
    staging = staging_folder(target)
    outcomes: list[SessionOutcome] = []
    try:
        yield from _write_sessions(
            recipe,
            sessions,
            lambda name: staging / session_file_name(name),
            outcomes.append,
            movie_frames,
            jobs,
            token,
            0,
            total,
        )
        with writer_when_free(make_writer) as writer:
            _describe(recipe, writer)
            for outcome in outcomes:
                placed = _place_in_writer(writer, outcome.name)
                os.replace(staging / session_file_name(outcome.name), placed)
                _adopt(writer, outcome)
    finally:
        remove_tree(staging)


def _describe(recipe: Recipe, writer: DatasetWriter) -> None:
    """What the card says about the recipe: test stimuli, description, normalisation."""
    writer.card.test_stimuli = [s.name for s in recipe.stimuli if s.split == "test"]
    writer.card.description = recipe.description
    writer.card.extra["recipe_folder"] = str(recipe.base_dir.resolve())  # paths are relative to it
    _set_normalisation(recipe, writer)


def _response_unit(recipe: Recipe) -> str:
    for spec in recipe.sessions:
        for source in spec.responses:
            return recipe.binning.spike_unit if source.kind == "spike_times" else source.unit
    return "a.u."


def _total_frames(checked: ConversionPlan, sessions: list[SessionSpec], append: bool) -> int:
    total = 0 if append else sum(s.shape[1] for s in checked.stimuli if s.shared and s.shape)
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


def _check_append(recipe: Recipe, checked: ConversionPlan, existing: Any) -> None:
    if existing is None:
        raise LayoutError(
            "the folder has no dataset card; cannot tell whether stimuli would change",
            path=str(checked.output),
            hint="Convert into a new folder, or re-create the dataset without --append.",
        )
    wanted = {s.name: list(s.shape) for s in checked.stimuli if s.shared and s.shape}
    have = {name: info.get("shape") for name, info in existing.stimuli.items()}
    if wanted != have:
        raise LayoutError(
            f"appending would change the stimuli: dataset has {have}, recipe gives {wanted}",
            path=str(checked.output),
            hint="Append only sessions that use the dataset's stimuli unchanged; else convert anew.",
        )
    tests = sorted(s.name for s in recipe.stimuli if s.split == "test")
    if tests != sorted(existing.test_stimuli):
        raise LayoutError(
            f"appending would change the test stimuli {sorted(existing.test_stimuli)} → {tests}",
            path=str(checked.output),
            hint="Keep the dataset's train/test split.",
        )
    norm = recipe.normalisation
    if norm.mode == "given" and (norm.mean, norm.std) != (existing.norm_mean, existing.norm_std):
        raise LayoutError(
            f"appending would change the normalisation ({existing.norm_mean}, {existing.norm_std}) "
            f"→ ({norm.mean}, {norm.std})",
            path=str(checked.output),
            hint="Use the dataset's norm_mean/norm_std, or convert anew.",
        )


def _stimulus_sources(recipe: Recipe, stop: threading.Event) -> list[dict[str, Any]]:
    """Name, size and SHA-256 of every shared stimulus source file."""
    found = []
    for spec in recipe.stimuli:
        if spec.shared:
            for path in source_files(recipe.resolve(spec.path)):
                digest = hashlib.sha256()
                with path.open("rb") as handle:
                    while (block := handle.read(HASH_CHUNK)) and not stop.is_set():
                        digest.update(block)
                found.append(
                    {"name": path.name, "size": path.stat().st_size, "sha256": digest.hexdigest()}
                )
    return found


def _write_shared_stimulus(
    recipe: Recipe, name: str, writer: DatasetWriter, token: CancelToken
) -> Iterator[int]:
    spec = recipe.stimulus(name)
    reader, array = open_array(recipe.resolve(spec.path), spec.key, spec.format)
    try:
        axes = MovieAxes.check(spec.axes, array.shape, where=f"stimuli.{name}.axes")
        c, t, h, w = axes.out_shape
        frames = t - recipe.lag_frames
        slabs = writer.create_stimulus(name, (c, frames, h, w), recipe.dtype)
        step = axes.slab_frames(np.dtype(recipe.dtype).itemsize)
        with closing(read_slabs(axes, array, frames, step)) as blocks:
            for start, block in blocks:
                _raise_if_cancelled(token)
                slabs.write(_cast(block, recipe.dtype, name), start)
                yield block.shape[1]
    finally:
        reader.close()


def _cast(block: np.ndarray, dtype: str, name: str) -> np.ndarray:
    from openretina_data.convert_io import cast_frames

    return cast_frames(block, np.dtype(dtype), where=f"stimuli.{name}")


def _raise_if_cancelled(token: CancelToken) -> None:
    if token.cancelled:
        raise CancelledError(
            "the conversion was cancelled", hint="Nothing was written; run it again when ready."
        )


# --- sessions --------------------------------------------------------------------------


def _write_sessions(
    recipe: Recipe,
    sessions: list[SessionSpec],
    place: Callable[[str], Path],
    adopt: Callable[[SessionOutcome], None],
    movie_frames: dict[str, int],
    jobs: int,
    token: CancelToken,
    done: int,
    total: int,
) -> Iterator[Progress]:
    """Write each session's file where ``place(name)`` says and ``adopt`` what was written."""
    if jobs <= 1 or len(sessions) <= 1:
        for spec in sessions:
            job = _session_job(recipe, spec, place(spec.name), movie_frames, token)
            while True:
                try:
                    frames = next(job)
                except StopIteration as stop:
                    adopt(stop.value)
                    break
                done += frames
                yield Progress(f"session {spec.name}", done, total, f"{spec.name}: {frames} frames")
        return
    # spawn, not fork: this process may be running a hashing thread (and, in the
    # wizard, Qt threads); forking a threaded process can deadlock the child.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures: dict[Future[SessionOutcome], SessionSpec] = {}
        for spec in sessions:
            target = place(spec.name)
            futures[pool.submit(_run_session, recipe, spec, target, movie_frames)] = spec
        try:
            for future in _as_completed(futures, token):
                adopt(future.result())
                spec = futures[future]
                done += sum(
                    movie_frames.get(e.stimulus, 0) * e.repeats
                    for r in spec.responses
                    for e in r.epochs
                )
                yield Progress(
                    f"session {spec.name}", min(done, total), total, f"{spec.name}: written"
                )
        except BaseException:
            for future in futures:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _as_completed(
    futures: dict[Future[SessionOutcome], SessionSpec], token: CancelToken
) -> Iterator[Future[SessionOutcome]]:
    from concurrent.futures import FIRST_COMPLETED, wait

    pending = set(futures)
    while pending:
        _raise_if_cancelled(token)
        finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
        yield from finished


def _run_session(
    recipe: Recipe, spec: SessionSpec, target: Path, movie_frames: dict[str, int]
) -> SessionOutcome:
    job = _session_job(recipe, spec, target, movie_frames, CancelToken())
    while True:
        try:
            next(job)
        except StopIteration as stop:
            outcome: SessionOutcome = stop.value
            return outcome


def _place_in_writer(writer: DatasetWriter, name: str) -> Path:
    """Register session ``name`` with the writer; its (empty) file's path, to write into."""
    session = writer.create_session(name)
    session.close()
    return session.path


def _adopt(writer: DatasetWriter, outcome: SessionOutcome) -> None:
    """Hand what a worker wrote to the dataset writer (it validates and fills the card)."""
    session = writer.sessions[outcome.name]
    session.responses = outcome.writer.responses
    session.stimuli = outcome.writer.stimuli
    session.test_by_trial = outcome.writer.test_by_trial
    session.session_info = outcome.writer.session_info
    session.source_files = outcome.source_files
    if outcome.reliability:
        writer.card.extra.setdefault("reliability", {})[outcome.name] = outcome.reliability


def _session_job(
    recipe: Recipe,
    spec: SessionSpec,
    target: Path,
    movie_frames: dict[str, int],
    token: CancelToken,
) -> Generator[int, None, SessionOutcome]:
    """Write one session file at ``target``; yields frames done, returns the outcome."""
    files = _session_sources(recipe, spec)
    attrs = {
        "layout_version": LAYOUT_VERSION,
        "frame_rate_hz": float(recipe.frame_rate_hz),
        "response_unit": _response_unit(recipe),
        "created_by": CREATED_BY,
        "recipe_sha256": recipe_text_and_hash(recipe)[1],
        "package_version": __version__,
    }
    out = SessionWriter(spec.name, target, attrs=attrs, source_files=files, allow_nonfinite=False)
    try:
        unit_ids = None
        for source in spec.responses:
            reader, frame_times = open_response_reader(
                source, recipe, movie_frames, session=spec.name
            )
            try:
                if isinstance(reader, SpikeReader):
                    unit_ids = reader.unit_ids
                if frame_times is not None:
                    out.file.attrs[f"timing_{spec.responses.index(source)}"] = frame_times.summary()
                offset = 0
                for epoch in source.epochs:
                    offset += epoch.skip_frames
                    yield from _write_epoch(
                        recipe,
                        out,
                        reader,
                        epoch.stimulus,
                        epoch.repeats,
                        offset,
                        movie_frames,
                        token,
                    )
                    offset += epoch.repeats * movie_frames[epoch.stimulus]
            finally:
                reader.close()
        for stimulus in recipe.stimuli:
            if not stimulus.shared and stimulus.name in out.responses:
                yield from _write_session_stimulus(recipe, out, spec.name, stimulus.name, token)
        for info in spec.session_info:
            column = read_info_column(
                recipe.resolve(info.path),
                info.key,
                info.format,
                session=spec.name,
                unit_ids=unit_ids,
            )
            out.write_session_info(info.name, column)
    finally:
        out.close()
    for slabs in out.all_slabs():
        slabs.array = None  # the file is closed; keep shapes and statistics only
    return SessionOutcome(spec.name, out, files, _reliability(target))


def _session_sources(recipe: Recipe, spec: SessionSpec) -> list[SourceFile]:
    paths: list[Path] = []
    for source in spec.responses:
        paths.extend(source_files(recipe.resolve(source.path)))
        if source.frame_times.path:
            paths.extend(source_files(recipe.resolve(source.frame_times.path)))
    for stimulus in recipe.stimuli:
        if not stimulus.shared:
            paths.extend(source_files(recipe.resolve(fill_session(stimulus, spec.name).path)))
    unique = list(dict.fromkeys(p.resolve() for p in paths))
    return [source_file(p) for p in unique]


def _write_epoch(
    recipe: Recipe,
    out: SessionWriter,
    reader: Any,
    stimulus: str,
    repeats: int,
    offset: int,
    movie_frames: dict[str, int],
    token: CancelToken,
) -> Iterator[int]:
    movie = movie_frames[stimulus]
    lag = recipe.lag_frames
    frames = movie - lag
    mean = out.create_responses(stimulus, reader.n_neurons, frames)
    trials = None
    if repeats > 1 and recipe.repeats.store_trials:
        trials = out.create_test_by_trial(stimulus, repeats, reader.n_neurons, frames)
    for start in range(0, frames, RESPONSE_SLAB_FRAMES):
        _raise_if_cancelled(token)
        stop = min(start + RESPONSE_SLAB_FRAMES, frames)
        blocks = np.empty((repeats, reader.n_neurons, stop - start), dtype=np.float32)
        for trial in range(repeats):
            first = offset + trial * movie + lag + start
            blocks[trial] = reader.read(first, first + stop - start)
        if trials is not None:
            trials.write(blocks, start)
        mean.write(blocks.mean(axis=0, dtype=np.float64).astype(np.float32), start)
        yield (stop - start) * repeats


def _reliability(path: Path) -> dict[str, float | None]:
    """Median split-half reliability of each test stimulus with repeats (from the written file).

    The per-neuron values go into the file's attrs (``reliability_<stim>``), the medians
    into the dataset card; openretina reads neither.
    """
    medians: dict[str, float | None] = {}
    with h5py.File(path, "r+") as file:
        for key in [k for k in file if k.startswith(TEST_BY_TRIAL_PREFIX)]:
            dataset = file[key]
            if dataset.shape[0] < 2 or dataset.nbytes > RELIABILITY_MAX_BYTES:
                continue
            values = split_half_reliability(dataset[()])
            stimulus = key.removeprefix(TEST_BY_TRIAL_PREFIX)
            file.attrs[f"reliability_{stimulus}"] = values
            finite = values[np.isfinite(values)]
            medians[stimulus] = float(np.median(finite)) if finite.size else None
    return medians


def _write_session_stimulus(
    recipe: Recipe, out: SessionWriter, session: str, name: str, token: CancelToken
) -> Iterator[int]:
    spec = fill_session(recipe.stimulus(name), session)
    reader, array = open_array(recipe.resolve(spec.path), spec.key, spec.format, session=session)
    try:
        axes = MovieAxes.check(spec.axes, array.shape, where=f"stimuli.{name}.axes")
        c, t, h, w = axes.out_shape
        frames = t - recipe.lag_frames
        slabs = out.create_stimulus(name, (c, frames, h, w), recipe.dtype)
        step = axes.slab_frames(np.dtype(recipe.dtype).itemsize)
        with closing(read_slabs(axes, array, frames, step)) as blocks:
            for start, block in blocks:
                _raise_if_cancelled(token)
                slabs.write(_cast(block, recipe.dtype, name), start)
                yield 0
    finally:
        reader.close()


def run(recipe: Recipe, **options: Any) -> Path:
    """Run :func:`convert` to the end; returns the output folder."""
    for _ in convert(recipe, **options):
        pass
    return recipe.resolve(recipe.output)
