"""Qt-free checks the Use page and the viewer run on a written dataset (through the core only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from openretina_data.layout import DatasetCard, read_card


@dataclass
class LoaderSettings:
    """What the snippet and the dataloader check load with."""

    test_names: list[str]
    stimulus_size: list[int]  # [channels, height, width]
    norm_mean: float | None
    norm_std: float | None
    train_chunk_size: int = 50
    batch_size: int = 32
    clip_length: int = 90
    num_val_clips: int = 10


def loader_settings(
    dataset: str | Path,
    clip_length: int = 90,
    num_val_clips: int = 10,
    train_chunk_size: int = 50,
    batch_size: int = 32,
) -> LoaderSettings:
    """Loader arguments read from the dataset card (test names, stimulus size, statistics)."""
    card = read_card(dataset) or DatasetCard()
    shapes = [info.get("shape", []) for info in card.stimuli.values()]
    shape = next((s for s in shapes if len(s) == 4), [1, 0, 1, 1])
    return LoaderSettings(
        test_names=sorted(card.test_stimuli),
        stimulus_size=[int(shape[0]), int(shape[2]), int(shape[3])],
        norm_mean=card.norm_mean,
        norm_std=card.norm_std,
        clip_length=clip_length,
        num_val_clips=num_val_clips,
        train_chunk_size=train_chunk_size,
        batch_size=batch_size,
    )


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
    """What loading the dataset gave: batches per split and session, and one sample batch."""

    batches: dict[str, dict[str, int]] = field(default_factory=dict)
    session: str = ""
    input_shape: tuple[int, ...] = ()
    target_shape: tuple[int, ...] = ()
    sample_frame: np.ndarray | None = None  # (h, w): first frame of the first clip
    sample_targets: np.ndarray | None = None  # (chunk, neurons) of the first clip

    def to_text(self) -> str:
        lines = [
            f"sample batch from session {self.session}: inputs {self.input_shape}, targets {self.target_shape}"
        ]
        for split, sessions in self.batches.items():
            counts = ", ".join(f"{s}: {n}" for s, n in sessions.items())
            lines.append(f"{split}: {counts} batches")
        return "\n".join(lines)


def check_loaders(dataset: str | Path, settings: LoaderSettings) -> LoaderCheck:
    """Load the dataset with our openretina-compatible loaders and draw one batch.

    Runs in a worker thread (importing torch takes seconds).
    """
    from openretina_data.base_dataloader import multiple_movies_dataloaders
    from openretina_data.h5_dataset_reader import load_responses, load_stimuli

    movies = load_stimuli(
        str(dataset),
        settings.test_names,
        settings.stimulus_size,
        settings.norm_mean,
        settings.norm_std,
    )
    responses = load_responses(str(dataset), settings.test_names)
    loaders: dict[str, dict[str, Any]] = multiple_movies_dataloaders(
        responses,
        movies,
        train_chunk_size=settings.train_chunk_size,
        batch_size=settings.batch_size,
        clip_length=settings.clip_length,
        num_val_clips=settings.num_val_clips,
    )
    result = LoaderCheck(
        batches={
            split: {s: len(dl) for s, dl in by_session.items()}
            for split, by_session in loaders.items()
        }
    )
    session = next(iter(loaders["train"]))
    inputs, targets = next(iter(loaders["train"][session]))[:2]
    result.session = session
    result.input_shape = tuple(inputs.shape)
    result.target_shape = tuple(targets.shape)
    result.sample_frame = inputs[0, 0, 0].numpy().astype(np.float32)
    result.sample_targets = targets[0].numpy().astype(np.float32)
    return result
