"""Qt-free checks the Use page and the viewer run on a written dataset (through the core only)."""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from openretina_data.layout import DatasetCard, read_card
from openretina_data.recipe import Loader


@dataclass
class LoaderSettings:
    """What the snippet and the dataloader check load with."""

    test_names: list[str]
    stimulus_size: list[int]  # [channels, height, width]
    norm_mean: float | None
    norm_std: float | None
    train_chunk_size: int = Loader.train_chunk_size
    batch_size: int = Loader.batch_size
    clip_length: int = Loader.clip_length
    num_val_clips: int = Loader.num_val_clips


def loader_settings(
    dataset: str | Path,
    clip_length: int | None = None,
    num_val_clips: int | None = None,
    train_chunk_size: int | None = None,
    batch_size: int | None = None,
) -> LoaderSettings:
    """Loader arguments read from the dataset card (test names, stimulus size, statistics,
    and the loader settings the recipe stored, each unless given here). A card without
    loader settings (a published or openretina-made dataset) gets the defaults shrunk
    to fit its training frames, so the check works out of the box."""
    card = read_card(dataset) or DatasetCard()
    shapes = [info.get("shape", []) for info in card.stimuli.values()]
    shape = next((s for s in shapes if len(s) == 4), [1, 0, 1, 1])
    stored = {**dataclasses.asdict(_fitted_to(card)), **card.loader}
    return LoaderSettings(
        test_names=sorted(card.test_stimuli),
        stimulus_size=[int(shape[0]), int(shape[2]), int(shape[3])],
        norm_mean=card.norm_mean,
        norm_std=card.norm_std,
        clip_length=stored["clip_length"] if clip_length is None else clip_length,
        num_val_clips=stored["num_val_clips"] if num_val_clips is None else num_val_clips,
        train_chunk_size=stored["train_chunk_size"]
        if train_chunk_size is None
        else train_chunk_size,
        batch_size=stored["batch_size"] if batch_size is None else batch_size,
    )


def _fitted_to(card: DatasetCard) -> Loader:
    """Default loader settings, shrunk to the shortest session's training frames."""
    frames = {
        name: int(info["shape"][1])
        for name, info in card.stimuli.items()
        if name not in card.test_stimuli and len(info.get("shape", [])) == 4
    }
    per_session = [
        sum(frames.get(name, 0) for name in entry.get("stimuli", []))
        for entry in card.sessions.values()
        if isinstance(entry, dict)
    ]
    shortest = min((n for n in per_session if n > 0), default=sum(frames.values()))
    return Loader().fitted(shortest) if shortest > 0 else Loader()


def snippet(dataset: str | Path, settings: LoaderSettings) -> str:
    """Python that loads the dataset with openretina's API (swap the prefix for openretina's own)."""
    return f"""from openretina_data.h5_dataset_reader import load_responses, load_stimuli
from openretina_data.base_dataloader import multiple_movies_dataloaders

DATASET = {str(dataset)!r}
movies = load_stimuli(
    DATASET,
    test_names={settings.test_names!r},
    stimulus_size={settings.stimulus_size!r},  # channels, height, width
    norm_mean={settings.norm_mean!r},
    norm_std={settings.norm_std!r},
)
responses = load_responses(DATASET, test_names={settings.test_names!r})
loaders = multiple_movies_dataloaders(
    responses,
    movies,
    train_chunk_size={settings.train_chunk_size},
    batch_size={settings.batch_size},
    clip_length={settings.clip_length},
    num_val_clips={settings.num_val_clips},
)
session = next(iter(loaders["train"]))
inputs, targets = next(iter(loaders["train"][session]))
print(session, inputs.shape, targets.shape)  # (batch, channels, chunk, h, w), (batch, chunk, neurons)
"""


@dataclass
class LoaderCheck:
    """What loading the dataset gave: the core's loader summary and one sample batch.

    ``summary`` is :func:`openretina_data.loader_summary.loader_summary`'s dict, the
    same numbers ``openretina-data loader-check`` prints.
    """

    summary: dict[str, Any] = field(default_factory=dict)
    session: str = ""
    sample_frame: np.ndarray | None = None  # (h, w): first frame of the first clip
    sample_targets: np.ndarray | None = None  # (chunk, neurons) of the first clip

    @property
    def batches(self) -> dict[str, dict[str, int]]:
        """Batches per split and session."""
        return {
            split: {session: int(entry["batches"]) for session, entry in by_session.items()}
            for split, by_session in self.summary.get("splits", {}).items()
        }

    def to_text(self) -> str:
        from openretina_data.loader_summary import format_summary

        return format_summary(self.summary)


def check_loaders(
    dataset: str | Path, settings: LoaderSettings
) -> Generator[str, None, LoaderCheck]:
    """Run the core's loader check on ``dataset`` and draw one training batch to plot.

    The numbers come from :func:`~openretina_data.loader_summary.loader_summary` (one
    epoch over every split, as ``openretina-data loader-check`` runs it); the sample is
    the first batch of the first training session of loaders built the same way.
    A generator (for :class:`~app.workers.BackgroundTask`): yields a line of progress
    after every batch, where the check can be cancelled, and returns the result. Runs in
    a worker thread (importing torch takes seconds).
    """
    from openretina_data.base_dataloader import multiple_movies_dataloaders
    from openretina_data.h5_dataset_reader import load_responses, load_stimuli
    from openretina_data.loader_summary import dataset_settings, iter_loader_summary

    params = {
        "train_chunk_size": settings.train_chunk_size,
        "batch_size": settings.batch_size,
        "clip_length": settings.clip_length,
        "num_val_clips": settings.num_val_clips,
    }
    summary = yield from iter_loader_summary(
        dataset,
        test_names=settings.test_names,
        norm_mean=settings.norm_mean,
        norm_std=settings.norm_std,
        **params,
    )
    names, size, mean, std = dataset_settings(
        Path(dataset), summary["test_names"], settings.norm_mean, settings.norm_std
    )
    movies = load_stimuli(str(dataset), names, size, mean, std, mmap=True)
    responses = load_responses(str(dataset), names)
    loaders: dict[str, dict[str, Any]] = multiple_movies_dataloaders(
        responses,
        movies,
        train_chunk_size=settings.train_chunk_size,
        batch_size=settings.batch_size,
        seed=summary["params"]["seed"],
        clip_length=settings.clip_length,
        num_val_clips=settings.num_val_clips,
    )
    session = next(iter(loaders["train"]))
    inputs, targets = next(iter(loaders["train"][session]))[:2]
    return LoaderCheck(
        summary=summary,
        session=session,
        sample_frame=inputs[0, 0, 0].numpy().astype(np.float32),
        sample_targets=targets[0].numpy().astype(np.float32),
    )
