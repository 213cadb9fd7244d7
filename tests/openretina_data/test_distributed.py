"""Two real processes under torchrun (gloo, CPU) get disjoint, covering, equal shards."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from openretina_data.base_dataloader import multiple_movies_dataloaders
from openretina_data.testing.distributed_check import N_FRAMES, PARAMS
from openretina_data.testing.movie_sessions import frame_stamped_session


def test_two_ranks_shard_every_split(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        "-m",
        "openretina_data.testing.distributed_check",
        str(tmp_path),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert [r["world"] for r in ranks] == [2, 2]

    # every rank drew the same shuffled epoch and kept every second sample of it
    responses, movies = frame_stamped_session(N_FRAMES, n_neurons=2)
    single = multiple_movies_dataloaders({"s": responses}, {"s": movies}, **PARAMS)
    train = single["train"]["s"]
    n_samples = len(train.sampler)
    per_rank = -(-n_samples // 2)
    assert ranks[0]["n_train_samples"] == ranks[1]["n_train_samples"] == per_rank
    served_per_rank = per_rank // PARAMS["batch_size"] * PARAMS["batch_size"]
    for epoch in range(2):
        np.random.set_state(np.random.RandomState(PARAMS["seed"] + epoch).get_state())
        starts = np.asarray(list(train.sampler))
        first_frames = [int(train.dataset.movies.read(s, s + 1)[0, 0, 0, 0]) for s in starts]
        padded = first_frames + first_frames[: 2 * per_rank - n_samples]
        for rank in range(2):
            assert ranks[rank]["epochs"][epoch] == padded[rank::2][:served_per_rank]
    assert ranks[0]["epochs"][0] != ranks[0]["epochs"][1]  # set_epoch reshuffles

    # validation: one sample per clip, the clips split between the ranks
    clip, n_val = PARAMS["clip_length"], PARAMS["num_val_clips"]
    expected_val = [
        int(b.inputs[i, 0, 0, 0, 0])
        for b in single["validation"]["s"]
        for i in range(len(b.inputs))
    ]
    padded_val = expected_val + expected_val[: 2 * -(-n_val // 2) - n_val]
    assert [r["validation"] for r in ranks] == [padded_val[0::2], padded_val[1::2]]
    assert len(set(expected_val)) == n_val and all(f % clip == 0 for f in expected_val)

    # test: one sample (the whole movie), padded onto both ranks
    assert ranks[0]["test"] == ranks[1]["test"] and len(ranks[0]["test"]) == 1
