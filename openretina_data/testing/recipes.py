"""Small raw recordings with binned responses, plus the recipe that converts them.

Used by the plan/convert tests and ``benchmarks/convert.py``. Everything is seeded;
the big variant writes its movie chunk by chunk so memory stays small.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from openretina_data.recipe import (
    Epoch,
    Loader,
    Recipe,
    ResponseSource,
    SessionSpec,
    StimulusSpec,
    save_recipe,
)


def binned_recording(
    folder: str | os.PathLike[str],
    *,
    n_sessions: int = 2,
    train_frames: int = 120,
    test_frames: int = 30,
    repeats: int = 2,
    n_neurons: int = 5,
    height: int = 8,
    width: int = 6,
    seed: int = 0,
    chunk_frames: int = 4096,
) -> Recipe:
    """Write ``stimuli/train.npy`` (t, h, w), ``stimuli/test.npy`` and binned responses.

    Each session ``s<i>`` has ``raw/s<i>.npy``: ``(neurons, train + repeats * test)``
    float32 holding the training epoch, then the test repeats. The returned recipe
    is saved as ``recipe.yaml`` in ``folder`` and writes to ``folder/dataset``.
    """
    root = Path(folder)
    (root / "stimuli").mkdir(parents=True, exist_ok=True)
    (root / "raw").mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    for name, frames in (("train", train_frames), ("test", test_frames)):
        movie = np.lib.format.open_memmap(
            root / "stimuli" / f"{name}.npy",
            mode="w+",
            dtype=np.float32,
            shape=(frames, height, width),
        )
        for start in range(0, frames, chunk_frames):
            stop = min(start + chunk_frames, frames)
            movie[start:stop] = rng.random((stop - start, height, width), dtype=np.float32)
        movie.flush()
        del movie
    total = train_frames + repeats * test_frames
    sessions = []
    for index in range(n_sessions):
        name = f"s{index}"
        responses = rng.poisson(2.0, size=(n_neurons, total)).astype(np.float32)
        np.save(root / "raw" / f"{name}.npy", responses)
        sessions.append(
            SessionSpec(
                name=name,
                responses=[
                    ResponseSource(
                        path=f"raw/{name}.npy",
                        kind="binned",
                        unit="spikes/bin",
                        axes="nt",
                        epochs=[Epoch(stimulus="train"), Epoch(stimulus="test", repeats=repeats)],
                    )
                ],
            )
        )
    recipe = Recipe(
        output="dataset",
        frame_rate_hz=30.0,
        stimuli=[
            StimulusSpec(name="train", path="stimuli/train.npy", axes="thw", split="train"),
            StimulusSpec(name="test", path="stimuli/test.npy", axes="thw", split="test"),
        ],
        sessions=sessions,
        loader=Loader().fitted(train_frames),  # as the wizard fits it to the training frames
        base_dir=root.resolve(),
    )
    save_recipe(recipe, root / "recipe.yaml")
    return recipe
