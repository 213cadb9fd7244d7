"""Appending sessions from several jobs at once (one SLURM array job per session).

A job converts its sessions into a staging folder of its own beside the dataset,
``.<dataset>.stage-<host>-<pid>``, without holding the dataset's writer lock: the
long part runs in parallel. It takes the lock only to adopt the finished files and
update the card (:func:`writer_when_free`), waiting while another job holds it. When
the dataset does not exist yet, the first job to get the lock creates it (see
:func:`openretina_data.convert.convert`) and the others append to it. The
staging folder goes away when the job ends; the folders of killed jobs on this host
are removed by the next job (:func:`remove_dead_staging`). The writer's own clean-up
never touches them (it removes ``.<dataset>.tmp-*`` names only). An append must not
change what the dataset already holds (:func:`check_append`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from openretina_data.errors import LayoutError
from openretina_data.layout._fs import pid_alive, remove_tree, this_host
from openretina_data.layout.card import DatasetCard
from openretina_data.layout.writer import DatasetWriter
from openretina_data.plan import ConversionPlan
from openretina_data.recipe import Recipe

#: Longest wait (seconds) for another job to finish adopting its sessions.
LOCK_WAIT_S = 600.0


def _host() -> str:
    return this_host()


def staging_folder(target: Path) -> Path:
    """Create and return this process's empty staging folder beside ``target``."""
    folder = target.with_name(f".{target.name}.stage-{_host()}-{os.getpid()}")
    remove_tree(folder)
    folder.mkdir(parents=True)
    return folder


def remove_dead_staging(target: Path) -> None:
    """Remove staging folders whose job (on this host) is gone; other hosts' are kept."""
    prefix = f".{target.name}.stage-{_host()}-"
    if not target.parent.is_dir():
        return
    for entry in target.parent.iterdir():
        pid = entry.name[len(prefix) :] if entry.name.startswith(prefix) else ""
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            remove_tree(entry)


@contextmanager
def writer_when_free(
    make_writer: Callable[..., DatasetWriter], *, wait_s: float | None = None
) -> Iterator[DatasetWriter]:
    """``with make_writer() as writer``, but waiting while another writer holds the lock.

    Commits when the block ends, aborts on an error, as the writer's own ``with`` does.
    """
    writer = make_writer(lock_wait_s=LOCK_WAIT_S if wait_s is None else wait_s)
    writer.open()
    try:
        yield writer
    except BaseException as error:
        writer.__exit__(type(error), error, error.__traceback__)
        raise
    writer.__exit__(None, None, None)


def dataset_exists(target: Path) -> bool:
    """Whether ``target`` holds anything (an append adds to it; else the first job creates it)."""
    return target.is_dir() and any(target.iterdir())


def check_append(recipe: Recipe, checked: ConversionPlan, existing: DatasetCard | None) -> None:
    """Refuse an append that would change the stimuli, the test split or the normalisation."""
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
