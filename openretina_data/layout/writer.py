"""The atomic, streaming writer of layout-v1 datasets.

``DatasetWriter`` writes a whole new dataset into ``.<name>.tmp-<pid>`` beside the
target and renames it into place on commit; with ``append=True`` it adds sessions (and
new shared stimuli) to an existing dataset, each file written under a temporary name
and renamed. Either way a reader never sees half a dataset, and an exception,
Ctrl-C or a cancelled conversion leaves the target as it was.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import math
import os
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from openretina_data import __version__
from openretina_data.errors import (
    DataValidationError,
    OpenRetinaDataError,
    OutputError,
    ShapeError,
)
from openretina_data.layout import _fs
from openretina_data.layout.card import (
    DatasetCard,
    SourceFile,
    fingerprint_files,
    merge_for_append,
    read_card,
)
from openretina_data.layout.names import (
    CARD_NAME,
    LAYOUT_VERSION,
    SESSION_SUFFIXES,
    STIMULI_DIR,
    STIMULUS_SUFFIX,
    inside,
    session_file_name,
    stimulus_file_name,
    validate_name,
    validate_response_unit,
    validate_test_stimuli,
    validate_unique,
)
from openretina_data.layout.ownership import occupant
from openretina_data.layout.reading import NpyTimeFile
from openretina_data.layout.session import STIMULUS_DTYPES, SessionWriter, check_dtype
from openretina_data.layout.slabs import RunningStats, SlabWriter
from openretina_data.layout.validate import validate_written

CREATED_BY = f"openretina-data {__version__}"


class DatasetWriter:
    """Write a layout-v1 dataset atomically; use as a context manager.

    Parameters
    ----------
    target
        The dataset folder to create (or replace with ``overwrite``, or extend with ``append``).
    frame_rate_hz
        Stimulus frame rate, stored in every session's attrs and the card (``None``: unknown).
    response_unit
        ``spikes/bin``, ``Hz``, ``dF/F`` or ``a.u.`` (default ``a.u.``; when appending,
        the dataset's unit, and a different one is refused).
    recipe_text, recipe_sha256
        The recipe that made the dataset; its SHA-256 goes into every session's attrs.
    overwrite
        Replace an existing dataset, but only after the new one is complete, and only
        one this tool wrote (its card lists every file there; see
        :mod:`~openretina_data.layout.ownership`).
    append
        Add sessions / new stimuli to an existing dataset without rewriting its files.
    allow_nonfinite
        Accept NaN/Inf values (recorded in the card) instead of raising.
    lock_wait_s
        Seconds ``open()`` waits while another writer holds the dataset's lock (default: none).
    keep
        Files and folders the conversion reads: a target holding (or inside) one of them
        is never written into or replaced.

    Examples
    --------
    >>> with DatasetWriter("out", frame_rate_hz=30.0) as writer:  # doctest: +SKIP
    ...     writer.write_stimulus("natural", movie)                # (c, t, h, w)
    ...     session = writer.create_session("s0")
    ...     slabs = session.create_responses("natural", n_neurons=60, n_frames=movie.shape[1])
    ...     for start in range(0, movie.shape[1], 1000):
    ...         slabs.write(responses[:, start : start + 1000], start)
    ...     writer.card.test_stimuli = []
    """

    def __init__(
        self,
        target: str | os.PathLike[str],
        *,
        frame_rate_hz: float | None = None,
        response_unit: str | None = None,
        recipe_text: str | None = None,
        recipe_sha256: str | None = None,
        overwrite: bool = False,
        append: bool = False,
        allow_nonfinite: bool = False,
        lock_wait_s: float = 0.0,
        keep: Sequence[str | os.PathLike[str]] = (),
    ) -> None:
        if overwrite and append:
            raise OutputError(
                "overwrite and append cannot both be set",
                path=os.fspath(target),
                hint="Choose one: replace the dataset, or add sessions to it.",
            )
        if frame_rate_hz is not None and not (math.isfinite(frame_rate_hz) and frame_rate_hz > 0):
            raise DataValidationError(
                f"frame rate {frame_rate_hz!r} Hz is not a positive number",
                hint="Pass the stimulus frame rate in Hz, e.g. 30.0, or leave it unset if unknown.",
            )
        self.target = Path(os.path.abspath(target))
        self.overwrite = overwrite
        self.append = append
        self.allow_nonfinite = allow_nonfinite
        self.lock_wait_s = lock_wait_s  # how long open() waits while another writer holds the lock
        self.keep = [Path(p) for p in keep]  # sources: never inside a folder this writer replaces
        if recipe_text is not None and recipe_sha256 is None:
            recipe_sha256 = hashlib.sha256(recipe_text.encode("utf-8")).hexdigest()
        self.card = DatasetCard(
            frame_rate_hz=frame_rate_hz,
            response_unit=validate_response_unit(response_unit or "a.u."),
            recipe_text=recipe_text,
            recipe_sha256=recipe_sha256,
            created_by=CREATED_BY,
        )
        self._unit_given = response_unit is not None
        self.sessions: dict[str, SessionWriter] = {}
        self.stimuli: dict[str, SlabWriter] = {}
        self._stimulus_paths: dict[str, Path] = {}
        self._lock = _fs.TargetLock(self.target)
        self._made_parents: list[Path] = []
        self._root: Path | None = None
        self._existing_card: DatasetCard | None = None
        self._state = "new"

    # --- life cycle ---------------------------------------------------------------

    def __enter__(self) -> DatasetWriter:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            try:
                self.commit()
            except OSError as error:  # disk full, read-only, quota: say so, not a traceback
                if isinstance(error, OpenRetinaDataError):
                    raise
                raise _output_error(error, self.target) from error
        else:
            self.abort()
            if isinstance(exc, OSError) and not isinstance(exc, OpenRetinaDataError):
                raise _output_error(exc, self.target) from exc

    def open(self) -> None:
        """Take the lock, clean leftovers of killed writers and create the temporary folder."""
        if self._state != "new":
            raise OutputError("the writer was already opened", path=os.fspath(self.target))
        self._made_parents = _fs.make_parents(self.target.parent)
        self._lock.acquire(self.lock_wait_s)
        try:
            _fs.clean_stale(self.target)
            self._check_target()
            if self.append:
                self._root = self.target
                self._existing_card = read_card(self.target)
                if self._existing_card is not None:
                    self.card = merge_for_append(
                        self._existing_card,
                        self.card,
                        unit_given=self._unit_given,
                        card_path=self.target / CARD_NAME,
                    )
            else:
                self._root = _fs.temp_sibling(self.target)
                (self._root / STIMULI_DIR).mkdir(parents=True)
        except BaseException:
            self._lock.release()
            raise
        self._state = "open"

    def _check_target(self) -> None:
        target = self.target
        if self.append:
            if not target.is_dir():
                raise OutputError(
                    "there is no dataset to append to",
                    path=os.fspath(target),
                    hint="Create the dataset first (without --append).",
                )
            found = occupant(target, self.keep)
            if found.kind == "sources":
                raise OutputError(
                    found.message(replacing=False), path=os.fspath(target), hint=found.hint()
                )
            return
        found = occupant(target, self.keep)
        if found.free or (found.replaceable and self.overwrite):
            return
        raise OutputError(
            found.message(replacing=self.overwrite), path=os.fspath(target), hint=found.hint()
        )

    @property
    def root(self) -> Path:
        if self._state != "open" or self._root is None:
            raise OutputError(
                "the writer is not open",
                path=os.fspath(self.target),
                hint="Use the writer as `with DatasetWriter(...) as writer:`.",
            )
        return self._root

    def abort(self) -> None:
        """Drop everything written so far; the target stays as it was."""
        if self._state != "open":
            self._lock.release()
            return
        self._close_all(discarding=True)
        if self.append:
            for path in self._pending_paths():
                _fs.remove_tree(path)
        elif self._root is not None:
            _fs.remove_tree(self._root)
        self._state = "aborted"
        self._lock.release()
        for folder in self._made_parents:  # deepest first; only if still empty
            with contextlib.suppress(OSError):
                folder.rmdir()

    # --- content ------------------------------------------------------------------

    def _temp_in_target(self, relative: str) -> Path:
        final = inside(self.root, relative)
        return final.with_name(f".{final.name}.tmp-{os.getpid()}")

    def create_stimulus(
        self, name: str, shape: Sequence[int], dtype: Any = "float32"
    ) -> SlabWriter:
        """Create ``stimuli/<name>.npy`` of ``shape`` ``(channels, time, height, width)``.

        Returns a :class:`SlabWriter`; fill it along time (axis 1).
        """
        validate_name(name, kind="stimulus")
        resolved = check_dtype(dtype, STIMULUS_DTYPES, what="stimulus", label=name)
        if len(shape) != 4:
            raise ShapeError(
                f"stimulus {name!r} needs 4 axes (channels, time, height, width), got {tuple(shape)}",
                key=name,
                hint="Add a channel axis of length 1 for greyscale movies.",
            )
        validate_unique([*self.stimuli, *self._existing_stimuli(), name], kind="stimulus")
        relative = f"{STIMULI_DIR}/{stimulus_file_name(name)}"
        path = self._temp_in_target(relative) if self.append else inside(self.root, relative)
        if self.append:
            path.parent.mkdir(exist_ok=True)
        target = NpyTimeFile.create(path, tuple(int(s) for s in shape), resolved)
        slabs = SlabWriter(
            target, time_axis=1, label=relative, allow_nonfinite=self.allow_nonfinite
        )
        self.stimuli[name] = slabs
        self._stimulus_paths[name] = path
        return slabs

    def write_stimulus(self, name: str, movie: Any) -> None:
        """Write a whole movie ``(channels, time, height, width)`` to ``stimuli/<name>.npy``."""
        array = np.asarray(movie)
        self.create_stimulus(name, array.shape, array.dtype).write(array, 0)

    def create_session(
        self, name: str, *, source_files: Sequence[SourceFile] = ()
    ) -> SessionWriter:
        """Start ``<name>.hdf5``; ``source_files`` are the inputs it was converted from."""
        validate_name(name, kind="session")
        validate_unique([*self.sessions, *self._existing_sessions(), name], kind="session")
        relative = session_file_name(name)
        path = self._temp_in_target(relative) if self.append else inside(self.root, relative)
        attrs = self.session_attrs()
        session = SessionWriter(
            name, path, attrs=attrs, source_files=source_files, allow_nonfinite=self.allow_nonfinite
        )
        self.sessions[name] = session
        return session

    def session_attrs(self) -> dict[str, Any]:
        """Provenance attrs every session file carries (except ``source_files``, per session).

        For callers that write a session file themselves (e.g. in a worker process) with
        ``SessionWriter(name, path, attrs=writer.session_attrs(), ...)``.
        """
        return {
            "layout_version": LAYOUT_VERSION,
            "frame_rate_hz": math.nan
            if self.card.frame_rate_hz is None
            else float(self.card.frame_rate_hz),
            "response_unit": self.card.response_unit,
            "created_by": CREATED_BY,
            "recipe_sha256": self.card.recipe_sha256 or "",
        }

    def _existing_sessions(self) -> list[str]:
        if not self.append:
            return []
        return [p.stem for p in self.root.iterdir() if p.suffix in SESSION_SUFFIXES and p.is_file()]

    def _existing_stimuli(self) -> list[str]:
        folder = self.root / STIMULI_DIR
        if not self.append or not folder.is_dir():
            return []
        return [p.stem for p in folder.iterdir() if p.suffix == STIMULUS_SUFFIX]

    # --- commit -------------------------------------------------------------------

    def commit(self) -> None:
        """Validate, write the card, fsync and rename into place; aborts on any error."""
        root = self.root
        try:
            self._close_all()
            validate_test_stimuli(self.card.test_stimuli)
            validate_written(self, root)
            self._fill_card()
            if self.append:
                self._commit_append(root)
            else:
                self._commit_new(root)
        except BaseException:
            self.abort()
            raise
        self._state = "committed"
        self._lock.release()

    def _commit_new(self, root: Path) -> None:
        self.card.files = fingerprint_files(root)
        (root / CARD_NAME).write_text(self.card.to_json(), encoding="utf-8")
        _fs.fsync_tree(root)
        old: Path | None = None
        if self.target.exists():
            if _fs.exchange(root, self.target):  # atomic: the target is never absent
                _fs.fsync_dir(self.target.parent)
                _fs.remove_tree(root)  # now the previous dataset
                return
            old = _fs.temp_sibling(self.target, "old")  # fallback: two renames
            self.target.rename(old)
        root.rename(self.target)
        _fs.fsync_dir(self.target.parent)
        if old is not None:
            _fs.remove_tree(old)

    def _commit_append(self, root: Path) -> None:
        pending = self._pending_paths()
        for path in pending:
            _fs.fsync_file(path)
        for path in pending:
            final = path.with_name(path.name[1:].rsplit(".tmp-", 1)[0])
            path.rename(final)
            _fs.fsync_dir(final.parent)
        self.card.files = fingerprint_files(root)
        card_temp = self._temp_in_target(CARD_NAME)
        card_temp.write_text(self.card.to_json(), encoding="utf-8")
        _fs.fsync_file(card_temp)
        card_temp.rename(root / CARD_NAME)
        _fs.fsync_dir(root)

    def _pending_paths(self) -> list[Path]:
        paths = [s.path for s in self.sessions.values()] + list(self._stimulus_paths.values())
        return [p for p in paths if p.exists()]

    def _close_all(self, *, discarding: bool = False) -> None:
        """Close every file; ``discarding``: they are about to be deleted, close errors too.

        Closing flushes: on a full disk (or past a size limit) h5py raises a RuntimeError
        ("Can't decrement id ref count") from ``close``. While committing that is an
        OutputError saying the dataset could not be written; while aborting it would
        only hide the error that caused the abort, so it is dropped.
        """
        for closing in [s.close for s in self.sessions.values()] + [
            slabs.array.close
            for slabs in self.stimuli.values()
            if isinstance(slabs.array, NpyTimeFile)
        ]:
            try:
                closing()
            except (OSError, RuntimeError) as error:
                if discarding:
                    continue
                if isinstance(error, OpenRetinaDataError):
                    raise
                raise OutputError(
                    f"the dataset could not be written: {error}",
                    path=os.fspath(self.target),
                    hint="Free disk space (or choose another output folder) and run again; "
                    "nothing was left behind.",
                ) from error

    def _fill_card(self) -> None:
        card = self.card
        card.layout_version = LAYOUT_VERSION
        card.created_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        for name, slabs in self.stimuli.items():
            card.stimuli[name] = {"shape": list(slabs.shape), "dtype": str(slabs.dtype)}
            card.checks[slabs.label] = slabs.stats.to_check()
        for name, session in self.sessions.items():
            neurons = {s.shape[0] for s in session.responses.values()}
            card.sessions[name] = {
                "neurons": neurons.pop() if len(neurons) == 1 else None,
                "stimuli": sorted(session.responses),
                "source_files": [vars(s) for s in session.source_files],
            }
            for slabs in session.all_slabs():
                card.checks[slabs.label] = slabs.stats.to_check()
        train = [s for n, s in self.stimuli.items() if n not in card.test_stimuli]
        if card.norm_mean is None and train and not self.append:
            total = RunningStats()
            for slabs in train:
                total.merge(slabs.stats)
            card.norm_mean, card.norm_std = total.mean, total.std


def _output_error(error: OSError, target: Path) -> OutputError:
    """A plain OSError met while writing, as an OutputError naming the target."""
    return OutputError(
        f"the dataset could not be written: {error.strerror or error}",
        path=os.fspath(target),
        hint="Free disk space or choose a writable output folder; nothing was left behind.",
    )
