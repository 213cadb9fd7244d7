"""A two-epoch DDP run over sharded dataloaders, for the multi-process test.

Run under ``torchrun``; every rank writes what it served to ``OUTDIR/rank<r>.json``::

    python -m torch.distributed.run --standalone --nproc-per-node 2 \\
        -m openretina_data.testing.distributed_check OUTDIR

Each rank trains a one-layer model with ``DistributedDataParallel`` (gloo on CPU) on
frame-stamped sessions, so the parent can check from the frame numbers that the shards
are disjoint, cover every sample and change with ``set_epoch``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from openretina_data.base_dataloader import multiple_movies_dataloaders
from openretina_data.testing.movie_sessions import frame_stamped_session

PARAMS: dict[str, Any] = {
    "train_chunk_size": 20,
    "batch_size": 4,
    "clip_length": 30,
    "num_val_clips": 5,
    "seed": 3,
}
N_FRAMES = 1230


def first_frames(loader: torch.utils.data.DataLoader) -> list[int]:
    """Frame number of the first frame of every sample served, in order."""
    return [int(f) for batch in loader for f in batch.inputs[:, 0, 0, 0, 0]]


def main(out_dir: str) -> None:
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    responses, movies = frame_stamped_session(N_FRAMES, n_neurons=2)
    loaders = multiple_movies_dataloaders({"s": responses}, {"s": movies}, **PARAMS)
    train = loaders["train"]["s"]
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(16, 2))
    optimiser = torch.optim.SGD(model.parameters(), lr=1e-9)
    epochs: list[list[int]] = []
    for epoch in range(2):
        train.sampler.set_epoch(epoch)  # type: ignore[attr-defined]
        served: list[int] = []
        for batch in train:
            served.extend(int(f) for f in batch.inputs[:, 0, 0, 0, 0])
            inputs = batch.inputs[:, 0].flatten(2)  # (batch, chunk, height * width)
            loss = (model(inputs / N_FRAMES) - batch.targets / 1e7).pow(2).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        epochs.append(served)
    report = {
        "rank": rank,
        "world": world,
        "epochs": epochs,
        "validation": first_frames(loaders["validation"]["s"]),
        "test": first_frames(loaders["test"]["s"]),
        "n_train_samples": len(train.sampler),  # type: ignore[arg-type]
    }
    Path(out_dir, f"rank{rank}.json").write_text(json.dumps(report))
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
