"""Run the bad-input corpus through every entry point and tabulate what happened.

For each case of :mod:`openretina_data.testing.corrupt` and each entry point that can
see it, :func:`run_one` builds the case in a fresh folder, calls the entry point and
records an :class:`Outcome`:

``refused``   one of our errors (or a failing plan / check report, or CLI exit 1/2
              without a traceback) whose text says where and what to do;
``unclear``   refused, but the message lacks the file/session/key or the hint;
``accepted``  the entry point finished normally (allowed only where the case says so);
``crash``     anything else: an exception that is not ours, a traceback from the CLI.

Whatever the result, it also records every source file whose SHA-256 or mtime
changed, anything left in the output folder or as a temporary/lock file, and whether
a hostile payload's marker file appeared. :func:`run_corpus` does all of it and
:func:`entry_table` (one row per entry point) and :func:`markdown_table` (one row per case)
print the README tables.

The wizard's add-file path lives in ``app`` (which the core never imports); callers
pass it in ``extra`` (see ``benchmarks/reliability.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import signal
import tempfile
import threading
import traceback
import tracemalloc
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from openretina_data.errors import OpenRetinaDataError
from openretina_data.testing.corrupt import (
    CHECK,
    CHECK_CLI,
    CONVERT,
    CONVERT_CLI,
    DATALOADERS,
    INSPECT_CLI,
    LOAD_RECIPE,
    LOAD_RESPONSES,
    LOAD_STIMULI,
    PLAN,
    PLAN_CLI,
    PROBE,
    Built,
    Case,
    all_cases,
)
from openretina_data.testing.corrupt_datasets import FRAME_SIZE

#: An entry point: given what a case built, return ``(result, text)`` or raise.
EntryPoint = Callable[[Built], tuple[str, str]]
LEFTOVER_TAGS = (".tmp-", ".old-")
#: Every corpus input is tiny; an entry point that allocates more believed a hostile header.
MEMORY_BOUND = 64 << 20


@dataclass
class Outcome:
    """What one entry point did with one case."""

    case: str
    entry: str
    result: str
    text: str
    allowed_to_accept: bool = False
    required_to_accept: bool = False
    sources_changed: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    payload_ran: bool = False
    peak_bytes: int = 0  # largest Python/numpy allocation while the entry point ran

    @property
    def within_memory(self) -> bool:
        return self.peak_bytes <= MEMORY_BOUND

    @property
    def clean(self) -> bool:
        """Refused clearly (or safely accepted where allowed), nothing changed or left behind."""
        result_ok = (self.result == "refused" and not self.required_to_accept) or (
            self.result == "accepted" and self.allowed_to_accept
        )
        return (
            result_ok and not self.sources_changed and not self.leftovers and not self.payload_ran
        )

    def __str__(self) -> str:
        parts = [f"{self.case} × {self.entry}: {self.result}"]
        if self.sources_changed:
            parts.append(f"sources changed {self.sources_changed}")
        if self.leftovers:
            parts.append(f"left behind {self.leftovers}")
        if self.payload_ran:
            parts.append("THE PAYLOAD RAN")
        if not self.within_memory:
            parts.append(f"allocated {self.peak_bytes / 2**20:.0f} MiB")
        return "; ".join(parts) + f"\n{self.text}"


# --- entry points --------------------------------------------------------------------


def _located(text: str, error: OpenRetinaDataError | None = None) -> bool:
    if error is not None and (error.path or error.session or error.key):
        return True
    return any(marker in text for marker in ("file '", "session '", "key '"))


def _ours(error: OpenRetinaDataError) -> tuple[str, str]:
    text = str(error)
    clear = bool(error.hint) and _located(text, error)
    return ("refused" if clear else "unclear"), text


def _probe(built: Built) -> tuple[str, str]:
    from openretina_data.sources import probe

    assert built.target is not None
    probe(built.target)
    return "accepted", ""


def _load_recipe(built: Built) -> tuple[str, str]:
    from openretina_data.recipe import load_recipe

    assert built.recipe is not None
    load_recipe(built.recipe)
    return "accepted", ""


def _plan(built: Built) -> tuple[str, str]:
    from openretina_data.plan import plan
    from openretina_data.recipe import load_recipe

    assert built.recipe is not None
    result = plan(load_recipe(built.recipe), overwrite="--overwrite" in built.flags)
    if result.ok:
        return "accepted", result.summary()
    errors = result.errors
    text = "\n".join(str(p) for p in errors)
    clear = all(p.hint for p in errors) and any(p.path or p.session or p.key for p in errors)
    return ("refused" if clear else "unclear"), text


def _convert(built: Built) -> tuple[str, str]:
    from openretina_data.convert import run
    from openretina_data.recipe import load_recipe

    assert built.recipe is not None
    run(load_recipe(built.recipe), overwrite="--overwrite" in built.flags)
    return "accepted", ""


def _check(built: Built) -> tuple[str, str]:
    from openretina_data.layout import check

    assert built.dataset is not None
    report = check(built.dataset)
    if report.ok:
        return "accepted", report.to_text()
    errors = [p for p in report.problems if p.severity == "error"]
    clear = all(p.fix and p.file for p in errors)
    return ("refused" if clear else "unclear"), "\n".join(p.to_text() for p in errors)


def _test_names() -> list[str]:
    return ["test"]


def _load_stimuli(built: Built) -> tuple[str, str]:
    from openretina_data.h5_dataset_reader import load_stimuli

    assert built.dataset is not None
    load_stimuli(built.dataset, _test_names(), [1, *FRAME_SIZE], None, None)
    return "accepted", ""


def _load_responses(built: Built) -> tuple[str, str]:
    from openretina_data.h5_dataset_reader import load_responses

    assert built.dataset is not None
    load_responses(built.dataset, _test_names())
    return "accepted", ""


def _dataloaders(built: Built) -> tuple[str, str]:
    from openretina_data.base_dataloader import multiple_movies_dataloaders
    from openretina_data.h5_dataset_reader import load_responses, load_stimuli

    assert built.dataset is not None
    movies = load_stimuli(built.dataset, _test_names(), [1, *FRAME_SIZE], None, None, mmap=True)
    responses = load_responses(built.dataset, _test_names())
    loaders = multiple_movies_dataloaders(
        responses, movies, train_chunk_size=20, batch_size=2, clip_length=20, num_val_clips=2
    )
    for split in loaders.values():
        for loader in split.values():
            for _batch in loader:  # a few batches: the corpus datasets are tiny
                pass
    return "accepted", ""


def _cli(command: str, target: Callable[[Built], Path | None]) -> EntryPoint:
    def entry(built: Built) -> tuple[str, str]:
        from openretina_data.cli import main

        path = target(built)
        assert path is not None
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([command, str(path), *_flags(command, built)])
            except SystemExit as exit_:  # argparse
                code = int(exit_.code or 0)
        text = err.getvalue() + out.getvalue()
        if "Traceback" in text:
            return "crash", text
        if code == 0:
            return "accepted", text
        if code in (1, 2):
            return ("refused" if ("hint" in text or "fix" in text) else "unclear"), text
        return "crash", f"exit code {code}\n{text}"

    return entry


def _flags(command: str, built: Built) -> list[str]:
    return list(built.flags) if command in ("plan", "convert") else []


ENTRY_POINTS: dict[str, EntryPoint] = {
    PROBE: _probe,
    INSPECT_CLI: _cli("inspect", lambda b: b.target),
    LOAD_RECIPE: _load_recipe,
    PLAN: _plan,
    PLAN_CLI: _cli("plan", lambda b: b.recipe),
    CONVERT: _convert,
    CONVERT_CLI: _cli("convert", lambda b: b.recipe),
    CHECK: _check,
    CHECK_CLI: _cli("check", lambda b: b.dataset),
    LOAD_STIMULI: _load_stimuli,
    LOAD_RESPONSES: _load_responses,
    DATALOADERS: _dataloaders,
}


# --- running -------------------------------------------------------------------------

#: An entry point still running after this many seconds hangs (a FIFO read, say).
HANG_S = 60


class Hung(BaseException):
    """An entry point ran past :data:`HANG_S` (raised by the alarm; counts as a crash).

    A BaseException, so that the CLI's last line of defence does not report it as a bug.
    """


@contextlib.contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    """Raise :class:`Hung` in the main thread after ``seconds`` (elsewhere: no limit)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        yield
        return

    def ring(signum: int, frame: object) -> None:
        raise Hung(f"still running after {seconds} s: it hangs")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _fingerprint(path: Path) -> tuple[str, int]:
    if not path.exists():  # a source (or a file outside the inputs) was deleted
        return "gone", 0
    stat = path.stat()
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest(), stat.st_mtime_ns


def snapshot(built: Built) -> dict[str, tuple[str, int]]:
    """SHA-256 and mtime of every source file (symlinks: of what they point at)."""
    files = [p for p in built.inputs.rglob("*") if p.is_file()] + list(built.outside)
    return {os.fspath(p.relative_to(built.root)): _fingerprint(p) for p in sorted(set(files))}


def leftovers(built: Built, outputs_before: set[str]) -> list[str]:
    """Temporary, lock and stale files anywhere in the case, and new entries in ``outputs``."""
    found = []
    for path in built.root.rglob("*"):
        name = path.name
        if any(tag in name for tag in LEFTOVER_TAGS) or name.endswith(".lock"):
            found.append(os.fspath(path.relative_to(built.root)))
    for path in built.outputs.iterdir():
        if path.name not in outputs_before:
            found.append(os.fspath(path.relative_to(built.root)))
    return sorted(set(found))


def _preload() -> None:
    """Import what the entry points use, so that imports do not count as their memory."""
    import openretina_data.base_dataloader
    import openretina_data.cli
    import openretina_data.convert
    import openretina_data.h5_dataset_reader
    import openretina_data.plan
    import openretina_data.sources  # noqa: F401

    openretina_data.cli.build_parser()


def run_one(
    case: Case, entry: str, folder: Path, entry_points: Mapping[str, EntryPoint] | None = None
) -> Outcome:
    """Build ``case`` in ``folder`` (which must not exist) and run ``entry`` on it."""
    points = entry_points or ENTRY_POINTS
    built = case.build(folder)
    before = snapshot(built)
    outputs_before = {p.name for p in built.outputs.iterdir()}
    _preload()
    tracing = tracemalloc.is_tracing()
    if tracing:
        tracemalloc.reset_peak()
    else:
        tracemalloc.start()
    try:
        with warnings.catch_warnings(record=True), _time_limit(HANG_S):  # warnings: messages
            warnings.simplefilter("always")
            result, text = points[entry](built)
    except OpenRetinaDataError as error:
        result, text = _ours(error)
    except (Exception, Hung):  # a crash is what this harness exists to find  # noqa: BLE001
        result, text = "crash", traceback.format_exc()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        if not tracing:
            tracemalloc.stop()
    if result in ("refused", "accepted") and any(words in text for words in case.never_say):
        said = [words for words in case.never_say if words in text]
        result, text = "unclear", f"the message says {said}, which misleads here\n{text}"
    after = snapshot(built)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    outcome = Outcome(
        case=case.name,
        entry=entry,
        result=result,
        text=text,
        allowed_to_accept=entry in case.may_accept,
        required_to_accept=case.must_accept and entry in case.may_accept,
        sources_changed=changed,
        payload_ran=built.marker.exists(),
        peak_bytes=peak,
    )
    left = leftovers(built, outputs_before)
    if result == "accepted" and entry in (CONVERT, CONVERT_CLI) and case.may_accept:
        left = [p for p in left if p != "outputs/dataset"]  # a complete dataset is fine
    outcome.leftovers = left
    return outcome


def run_corpus(
    cases: Iterable[Case] | None = None,
    *,
    extra: Mapping[str, EntryPoint] | None = None,
    only: Iterable[str] | None = None,
) -> list[Outcome]:
    """Run every case through every entry point that can see it (``extra``: more of them).

    ``only`` limits the run to those case names. Each run gets a fresh temporary folder,
    deleted afterwards.
    """
    points = {**ENTRY_POINTS, **(extra or {})}
    chosen = list(cases) if cases is not None else all_cases()
    if only is not None:
        wanted = set(only)
        chosen = [c for c in chosen if c.name in wanted]
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="openretina-corpus-") as scratch:
        for index, case in enumerate(chosen):
            for entry in case.entry_points:
                if entry not in points:
                    continue
                folder = Path(scratch) / f"{index:03d}-{case.name}-{len(outcomes)}"
                outcomes.append(run_one(case, entry, folder, points))
                shutil.rmtree(folder, ignore_errors=True)
    return outcomes


def markdown_table(outcomes: list[Outcome]) -> str:
    """The README table: one row per case, and a summary line."""
    entries = list(dict.fromkeys(o.entry for o in outcomes))
    cases = list(dict.fromkeys(o.case for o in outcomes))
    symbol = {"refused": "error", "accepted": "ok", "unclear": "UNCLEAR", "crash": "CRASH"}
    rows = ["| case | " + " | ".join(entries) + " |", "|---" * (len(entries) + 1) + "|"]
    by_key = {(o.case, o.entry): o for o in outcomes}
    for case in cases:
        cells = []
        for entry in entries:
            found = by_key.get((case, entry))
            if found is None:
                cells.append("")
                continue
            cell = symbol[found.result]
            if found.sources_changed or found.leftovers or found.payload_ran:
                cell += " (UNSAFE)"
            elif not found.within_memory:
                cell += " (MEMORY)"
            cells.append(cell)
        rows.append(f"| {case} | " + " | ".join(cells) + " |")
    return "\n".join([summary_line(outcomes), "", *rows])


def entry_table(outcomes: list[Outcome]) -> str:
    """The short README table: one row per entry point, and the summary line."""
    rows = [
        "| entry point | cases | clear error | safely accepted | not clean |",
        "|---|---:|---:|---:|---:|",
    ]
    for entry in dict.fromkeys(o.entry for o in outcomes):
        mine = [o for o in outcomes if o.entry == entry]
        refused = sum(o.result == "refused" for o in mine)
        accepted = sum(o.result == "accepted" and o.allowed_to_accept for o in mine)
        bad = sum(not o.clean for o in mine)
        rows.append(f"| {entry} | {len(mine)} | {refused} | {accepted} | {bad} |")
    return "\n".join([summary_line(outcomes), "", *rows])


def summary_line(outcomes: list[Outcome]) -> str:
    """``N cases × M entry points (K runs): ...`` — the headline numbers."""
    cases = {o.case for o in outcomes}
    entries = {o.entry for o in outcomes}
    refused = sum(o.result == "refused" for o in outcomes)
    accepted = sum(o.result == "accepted" and o.allowed_to_accept for o in outcomes)
    bad = [o for o in outcomes if not o.clean]
    changed = sum(bool(o.sources_changed) for o in outcomes)
    partial = sum(bool(o.leftovers) for o in outcomes)
    payload = sum(o.payload_ran for o in outcomes)
    peak = max((o.peak_bytes for o in outcomes), default=0)
    verdict = "all clean errors" if not bad else f"{len(bad)} NOT CLEAN"
    return (
        f"{len(cases)} cases × {len(entries)} entry points ({len(outcomes)} runs): {verdict} "
        f"({refused} clear errors, {accepted} safely accepted), {changed} sources changed, "
        f"{partial} partial outputs, {payload} payloads run, "
        f"largest allocation {peak / 2**20:.1f} MiB"
    )
