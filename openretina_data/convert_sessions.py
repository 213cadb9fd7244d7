"""Session files for :mod:`openretina_data.convert`: responses slab by slab, then the rest.

:func:`session_job` writes one ``<session>.hdf5``: each response source's epochs
(mean over repeats and, when kept, every trial), session-specific stimuli and
``session_info`` columns, then the split-half reliability of test repeats.
:func:`write_sessions` runs the jobs in this process or in worker processes and hands
each outcome to the caller, who adopts it into a dataset writer
(:func:`place_in_writer`, :func:`adopt_into`) or a staging folder.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from openretina_data import __version__
from openretina_data.convert_io import source_files
from openretina_data.convert_stimuli import write_movie
from openretina_data.crash import working_on
from openretina_data.errors import CancelledError, WorkerError
from openretina_data.layout.card import SourceFile
from openretina_data.layout.names import LAYOUT_VERSION, TEST_BY_TRIAL_PREFIX
from openretina_data.layout.session import SessionWriter, source_file
from openretina_data.layout.writer import CREATED_BY, DatasetWriter
from openretina_data.recipe import Recipe, SessionSpec, fill_session, recipe_text_and_hash
from openretina_data.responses_io import open_response_reader, read_info_column
from openretina_data.timing.repeats import split_half_reliability

RELIABILITY_MAX_BYTES = 256 * 1024 * 1024  # larger repeat blocks are not re-read


@dataclass
class SessionOutcome:
    """What a session worker wrote, for the card (arrays dropped, statistics kept)."""

    name: str
    writer: SessionWriter
    source_files: list[SourceFile] = field(default_factory=list)
    reliability: dict[str, float | None] = field(default_factory=dict)  # stimulus -> median
    timing: list[dict[str, Any]] = field(default_factory=list)  # TimingReport.as_dict per source


_STOP: Any = None  # in a session worker: the parent's "stop now" event


def _start_worker(parent: int, stop: Any) -> None:
    """Worker initialiser: remember the stop event, and leave if the parent dies.

    A parent killed with SIGKILL cannot stop its workers; each one notices that its
    parent process changed and exits (what it wrote stays in the dead run's temporary
    folder, which the next run removes).
    """
    global _STOP
    _STOP = stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C for everyone

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, name="openretina-data-parent-watch", daemon=True).start()


def _go_on() -> None:
    """Between slabs in a worker: stop if the parent asked (a cancel or another failure)."""
    if _STOP is not None and _STOP.is_set():
        raise CancelledError("stopped by the parent conversion")


def write_sessions(
    recipe: Recipe,
    sessions: list[SessionSpec],
    place: Callable[[str], Path],
    adopt: Callable[[SessionOutcome], None],
    movie_frames: dict[str, int],
    *,
    jobs: int,
    check: Callable[[], None],
    slab_frames: int,
) -> Iterator[tuple[str, int, str]]:
    """Write each session's file where ``place(name)`` says and ``adopt`` what was written.

    Parameters
    ----------
    movie_frames
        Frames of each stimulus movie (before the lag is dropped).
    jobs
        Sessions written in parallel worker processes.
    check
        Called between slabs; raises to cancel.
    slab_frames
        Response frames read and written at once.

    Yields
    ------
    (session, frames, message)
        Response frames written since the last step.
    """
    if jobs <= 1 or len(sessions) <= 1:
        for spec in sessions:
            job = session_job(recipe, spec, place(spec.name), movie_frames, check, slab_frames)
            while True:
                try:
                    with working_on(session=spec.name):
                        frames = next(job)
                except StopIteration as stop:
                    adopt(stop.value)
                    break
                yield spec.name, frames, f"{spec.name}: {frames} frames"
        return
    # spawn, not fork: this process may be running a hashing thread (and, in the
    # wizard, Qt threads); forking a threaded process can deadlock the child.
    context = multiprocessing.get_context("spawn")
    halt = context.Event()
    with ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=context,
        initializer=_start_worker,
        initargs=(os.getpid(), halt),
    ) as pool:
        futures: dict[Future[SessionOutcome], SessionSpec] = {}
        with _workers_ignore_interrupts():
            for spec in sessions:
                target = place(spec.name)
                job_args = (recipe, spec, target, movie_frames, slab_frames)
                try:
                    futures[pool.submit(_run_session, *job_args)] = spec
                except (BrokenProcessPool, OSError):  # a worker died: the pool's pipes closed
                    halt.set()
                    _stop_workers(pool)
                    given = [*futures.values(), spec]
                    raise _worker_died(given, handing_out=True) from None
        try:
            for future in _as_completed(futures, check):
                spec = futures[future]
                adopt(_result(future, spec))
                frames = sum(
                    movie_frames.get(e.stimulus, 0) * e.repeats
                    for r in spec.responses
                    for e in r.epochs
                )
                yield spec.name, frames, f"{spec.name}: written"
        except BaseException:
            halt.set()  # running sessions stop at their next slab
            for future in futures:
                future.cancel()
            _stop_workers(pool)
            raise


#: Seconds workers get to stop at their next slab before they are terminated.
WORKER_STOP_S = 10.0


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Shut the pool down; workers that do not exit in time are terminated.

    A pool broken by a killed worker may leave another worker blocked for good (still
    reading its start-up data from a pipe nobody writes to); joining it would hang the
    conversion, so every worker gets :data:`WORKER_STOP_S` and is then terminated.
    """
    processes = list(getattr(pool, "_processes", {}).values())  # the pool keeps no public list
    with contextlib.suppress(Exception):  # a broken pool's queues may already be closed
        pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + WORKER_STOP_S
    for process in processes:
        process.join(max(deadline - time.monotonic(), 0.0))
    for process in processes:
        if process.is_alive():
            process.terminate()
            process.join(5.0)
        if process.is_alive():
            process.kill()
            process.join(5.0)


@contextlib.contextmanager
def _workers_ignore_interrupts() -> Iterator[None]:
    """Start worker processes with Ctrl-C ignored (an ignored signal survives exec).

    Ctrl-C in a terminal reaches the whole process group; only the parent should act
    on it (it stops the workers through the shared event and cleans up), so workers
    print no tracebacks of their own, not even while they are still importing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # the wizard's worker thread: no terminal, no signal handling here
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _result(future: Future[SessionOutcome], spec: SessionSpec) -> SessionOutcome:
    """The worker's outcome; a dead worker as a WorkerError naming its session."""
    try:
        with working_on(session=spec.name):
            return future.result()
    except BrokenProcessPool:
        raise _worker_died([spec]) from None


def _worker_died(specs: list[SessionSpec], *, handing_out: bool = False) -> WorkerError:
    """A dead worker, naming the session it held (or those given out so far)."""
    names = [s.name for s in specs]
    what = (
        f"a worker process died while sessions were being handed out (given out: "
        f"{', '.join(names)})"
        if handing_out
        else "the worker process converting this session died"
    )
    return WorkerError(
        f"{what} (killed by the system, often for lack of memory)",
        session=None if handing_out else names[0],
        hint="Run again with fewer --jobs (each worker holds one session's slabs) "
        "or without --jobs; nothing half-written was left behind.",
    )


def _as_completed(
    futures: dict[Future[SessionOutcome], SessionSpec], check: Callable[[], None]
) -> Iterator[Future[SessionOutcome]]:
    pending = set(futures)
    while pending:
        check()
        finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
        yield from finished


def _run_session(
    recipe: Recipe, spec: SessionSpec, target: Path, movie_frames: dict[str, int], slab_frames: int
) -> SessionOutcome:
    """:func:`session_job` run to the end in a worker process (the parent cancels it)."""
    job = session_job(recipe, spec, target, movie_frames, _go_on, slab_frames)
    while True:
        try:
            next(job)
        except StopIteration as stop:
            outcome: SessionOutcome = stop.value
            return outcome


def place_in_writer(writer: DatasetWriter, name: str) -> Path:
    """Register session ``name`` with the writer; its (empty) file's path, to write into."""
    session = writer.create_session(name)
    session.close()
    return session.path


def adopt_into(writer: DatasetWriter, outcome: SessionOutcome) -> None:
    """Hand what a worker wrote to the dataset writer (it validates and fills the card)."""
    session = writer.sessions[outcome.name]
    session.responses = outcome.writer.responses
    session.stimuli = outcome.writer.stimuli
    session.test_by_trial = outcome.writer.test_by_trial
    session.session_info = outcome.writer.session_info
    session.source_files = outcome.source_files
    if outcome.reliability:
        writer.card.extra.setdefault("reliability", {})[outcome.name] = outcome.reliability
    if outcome.timing:
        writer.card.extra.setdefault("timing", {})[outcome.name] = outcome.timing


def session_job(
    recipe: Recipe,
    spec: SessionSpec,
    target: Path,
    movie_frames: dict[str, int],
    check: Callable[[], None],
    slab_frames: int,
) -> Generator[int, None, SessionOutcome]:
    """Write one session file at ``target``; yields frames done, returns the outcome."""
    files = _session_sources(recipe, spec)
    attrs = {
        "layout_version": LAYOUT_VERSION,
        "frame_rate_hz": float(recipe.frame_rate_hz),
        "response_unit": recipe.response_unit(),
        "created_by": CREATED_BY,
        "recipe_sha256": recipe_text_and_hash(recipe)[1],
        "package_version": __version__,
    }
    out = SessionWriter(spec.name, target, attrs=attrs, source_files=files, allow_nonfinite=False)
    timing: list[dict[str, Any]] = []
    try:
        unit_ids = rows = None
        for source in spec.responses:
            reader, frame_times = open_response_reader(
                source, recipe, movie_frames, session=spec.name
            )
            try:
                if reader.unit_ids is not None or reader.rows is not None:
                    unit_ids, rows = reader.unit_ids, reader.rows
                if frame_times is not None:
                    index = spec.responses.index(source)
                    out.file.attrs[f"timing_{index}"] = frame_times.summary()
                    out.file.attrs[f"timing_report_{index}"] = frame_times.report.to_json()
                    timing.append({"response": source.path, **frame_times.report.as_dict()})
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
                        check,
                        slab_frames,
                    )
                    offset += epoch.repeats * movie_frames[epoch.stimulus]
            finally:
                reader.close()
        for stimulus in recipe.stimuli:
            if not stimulus.shared and stimulus.name in out.responses:
                movie = fill_session(stimulus, spec.name)
                for _ in write_movie(recipe, movie, out.create_stimulus, check, session=spec.name):
                    yield 0  # progress counts response frames
        for info in spec.session_info:
            column = read_info_column(
                recipe.resolve(info.path),
                info.key,
                info.format,
                session=spec.name,
                unit_ids=unit_ids,
                rows=rows,
            )
            out.write_session_info(info.name, column)
    finally:
        out.close()
    for slabs in out.all_slabs():
        slabs.array = None  # the file is closed; keep shapes and statistics only
    return SessionOutcome(spec.name, out, files, _reliability(target), timing)


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
    check: Callable[[], None],
    slab_frames: int,
) -> Iterator[int]:
    """Responses to one epoch (mean over repeats, and each trial when kept); yields frames."""
    movie = movie_frames[stimulus]
    lag = recipe.lag_frames
    frames = movie - lag
    mean = out.create_responses(stimulus, reader.n_neurons, frames)
    trials = None
    if repeats > 1 and recipe.repeats.store_trials:
        trials = out.create_test_by_trial(stimulus, repeats, reader.n_neurons, frames)
    for start in range(0, frames, slab_frames):
        check()
        stop = min(start + slab_frames, frames)
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
