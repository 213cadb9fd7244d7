"""Build the dataloaders of a native dataset, run one epoch, and report what it took.

:func:`loader_summary` is what ``openretina-data loader-check DIR``, the headless demo
and the wizard's "Use" page show: batches per split and session, batch shapes, time
to the first training batch, training samples per second and peak memory. Stimuli
are opened as memory maps (``load_stimuli(..., mmap=True)``), so opening is instant
and memory stays small however long the recordings are.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any

from openretina_data._h5_session import npy_shape, stimulus_files
from openretina_data.errors import LayoutError
from openretina_data.layout.reading import require_dataset_folder
from openretina_data.memory_probe import PeakMemory
from openretina_data.recipe_model import Loader

#: The recipe's default loader settings: those of openretina's Data I/O page
#: ("Composing Complete Dataloaders").
DEFAULTS: dict[str, int] = dataclasses.asdict(Loader())


def loader_settings(path: Path, **given: int | None) -> tuple[dict[str, int], str]:
    """Settings for ``multiple_movies_dataloaders`` and, in words, where they came from.

    Each setting is the one given (not None), else the dataset card's (written from the
    recipe's ``loader`` section), else :data:`DEFAULTS` (openretina's Data I/O example).
    """
    from openretina_data.layout import read_card

    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"unknown loader settings: {', '.join(unknown)}")
    card = read_card(path)
    stored = {k: v for k, v in (card.loader if card else {}).items() if k in DEFAULTS}
    chosen = {k: v for k, v in given.items() if v is not None}
    base = {**DEFAULTS, **stored}
    changed = {k for k, v in chosen.items() if base[k] != v}  # options that change something
    sources = [
        "the dataset card" if stored else "the defaults",
        *(["the options given"] if changed else []),
    ]
    if set(chosen) == set(DEFAULTS) and changed:
        sources = ["the options given"]
    return {**base, **chosen}, " and ".join(sources)


def dataset_settings(
    path: Path,
    test_names: Sequence[str] | None,
    norm_mean: float | None,
    norm_std: float | None,
) -> tuple[list[str], list[int], float | None, float | None]:
    """Test stimuli, ``[channels, height, width]`` and normalisation for ``path``.

    Explicit arguments win; otherwise they come from the dataset card.
    """
    from openretina_data.layout import read_card

    card = read_card(path)
    if test_names is None:
        if card is None or not card.test_stimuli:
            raise LayoutError(
                "the dataset has no card saying which stimuli are test stimuli",
                path=path,
                hint="Name them with --test NAME (repeat for several).",
            )
        test_names = list(card.test_stimuli)
    if card is not None:
        norm_mean = card.norm_mean if norm_mean is None else norm_mean
        norm_std = card.norm_std if norm_std is None else norm_std
    stimuli = stimulus_files(path)
    if not stimuli:
        raise LayoutError(
            "the dataset has no stimuli/*.npy files",
            path=path,
            hint="Pass the folder that holds stimuli/ and the session .hdf5 files.",
        )
    first = next(iter(stimuli.values()))
    shape = npy_shape(first)
    if shape is None or len(shape) != 4:
        raise LayoutError(
            f"cannot take the frame size from this stimulus: it is not a readable "
            f"(channels, time, height, width) array (shape {shape})",
            path=first,
            hint="Run `openretina-data check` on the dataset folder to see what is wrong.",
        )
    return list(test_names), [shape[0], shape[2], shape[3]], norm_mean, norm_std


def loader_summary(
    path: str | Path,
    *,
    test_names: Sequence[str] | None = None,
    norm_mean: float | None = None,
    norm_std: float | None = None,
    num_workers: int = 0,
    **params: int,
) -> dict[str, Any]:
    """Open a native dataset memory-mapped, build its dataloaders and run one epoch.

    Parameters
    ----------
    path
        The dataset folder (``stimuli/*.npy``, ``<session>.hdf5``, optional card).
    test_names, norm_mean, norm_std
        Override what the dataset card says.
    num_workers
        DataLoader worker processes.
    **params
        ``train_chunk_size``, ``batch_size``, ``clip_length``, ``num_val_clips``,
        ``seed`` for ``multiple_movies_dataloaders`` (default: the dataset card's
        loader settings, else :data:`DEFAULTS`; see :func:`loader_settings`).

    Returns
    -------
    dict
        ``path``, ``sessions``, ``test_names``, ``params``, ``open_s`` (load stimuli and
        responses), ``build_s``, ``first_batch_s`` (from the start to the first training
        batch), ``epoch_s`` and ``train_samples_per_s`` (all training batches of all
        sessions), ``peak_anon_mib``/``peak_rss_mib``, and ``splits``:
        ``{split: {session: {"batches", "samples", "inputs", "targets"}}}`` with the
        shapes of the first batch.
    """
    steps = iter_loader_summary(
        path, test_names=test_names, norm_mean=norm_mean, norm_std=norm_std,
        num_workers=num_workers, **params,
    )  # fmt: skip
    while True:
        try:
            next(steps)
        except StopIteration as done:
            summary: dict[str, Any] = done.value
            return summary


def iter_loader_summary(
    path: str | Path,
    *,
    test_names: Sequence[str] | None = None,
    norm_mean: float | None = None,
    norm_std: float | None = None,
    num_workers: int = 0,
    **params: int,
) -> Generator[str, None, dict[str, Any]]:
    """:func:`loader_summary` as a generator: yields a line of progress after every batch
    (a place to stop: close the generator) and returns the summary.
    """
    from openretina_data.base_dataloader import multiple_movies_dataloaders
    from openretina_data.h5_dataset_reader import load_responses, load_stimuli

    folder = Path(path)
    require_dataset_folder(folder)
    settings, source = loader_settings(folder, **params)
    with PeakMemory() as memory:
        start = time.perf_counter()
        names, size, mean, std = dataset_settings(folder, test_names, norm_mean, norm_std)
        movies = load_stimuli(str(folder), names, size, mean, std, mmap=True)
        responses = load_responses(str(folder), names)
        opened = time.perf_counter()
        loaders = multiple_movies_dataloaders(
            responses,
            movies,
            train_chunk_size=settings["train_chunk_size"],
            batch_size=settings["batch_size"],
            seed=settings["seed"],
            clip_length=settings["clip_length"],
            num_val_clips=settings["num_val_clips"],
            num_workers=num_workers,
        )
        built = time.perf_counter()
        splits: dict[str, dict[str, dict[str, Any]]] = {}
        first_batch_s = None
        train_samples, train_time = 0, 0.0
        for split, by_session in loaders.items():
            splits[split] = {}
            for session, loader in by_session.items():
                began = time.perf_counter()
                entry: dict[str, Any] = {"batches": 0, "samples": 0}
                for batch in loader:
                    if first_batch_s is None and split == "train":
                        first_batch_s = time.perf_counter() - start
                    if entry["batches"] == 0:
                        entry["inputs"] = list(batch.inputs.shape)
                        entry["targets"] = list(batch.targets.shape)
                    entry["batches"] += 1
                    entry["samples"] += int(batch.inputs.shape[0])
                    yield f"{split} {session}: {entry['batches']} batches"
                splits[split][session] = entry
                if split == "train":
                    train_samples += entry["samples"]
                    train_time += time.perf_counter() - began
    return {
        "path": str(folder),
        "sessions": sorted(movies),
        "test_names": names,
        "params": settings,
        "params_from": source,
        "open_s": opened - start,
        "build_s": built - opened,
        "first_batch_s": first_batch_s,
        "epoch_s": train_time,
        "train_samples_per_s": train_samples / train_time if train_time > 0 else None,
        "peak_anon_mib": memory.peak_anon_mib,
        "peak_rss_mib": memory.peak_rss_mib,
        "splits": splits,
    }


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as the few lines ``loader-check`` prints."""
    params = summary["params"]
    lines = [
        f"dataset {summary['path']}: {len(summary['sessions'])} sessions, "
        f"test stimuli {', '.join(summary['test_names'])}",
        "  batch {batch_size}, chunk {train_chunk_size}, clip {clip_length}, "
        "{num_val_clips} validation clips, seed {seed}".format(**params)
        + f" (from {summary.get('params_from', 'the defaults')})",
    ]
    split_width = max(12, *(len(split) for split in summary["splits"]))
    session_width = max(12, *(len(s) for s in summary["sessions"]))
    lines.append(
        f"  {'split':<{split_width}} {'session':<{session_width}} {'batches':>8} {'samples':>8}"
        "  inputs / targets"
    )
    for split, by_session in summary["splits"].items():
        for session, entry in by_session.items():
            shapes = f"{tuple(entry.get('inputs', ()))} / {tuple(entry.get('targets', ()))}"
            lines.append(
                f"  {split:<{split_width}} {session:<{session_width}} {entry['batches']:>8} "
                f"{entry['samples']:>8}  {shapes}"
            )
    rate = summary["train_samples_per_s"]
    first = summary["first_batch_s"]
    lines += [
        f"  open {summary['open_s'] * 1e3:.0f} ms, build {summary['build_s'] * 1e3:.0f} ms, "
        f"first training batch after {first * 1e3:.0f} ms"
        if first is not None
        else "",
        f"  one training epoch: {summary['epoch_s']:.2f} s"
        + (f", {rate:.0f} samples/s" if rate else ""),
    ]
    if summary["peak_anon_mib"] is not None:
        lines.append(
            f"  peak memory: {summary['peak_anon_mib']:.0f} MiB anonymous "
            f"({summary['peak_rss_mib']:.0f} MiB resident incl. memory-mapped pages)"
        )
    return "\n".join(line for line in lines if line)
