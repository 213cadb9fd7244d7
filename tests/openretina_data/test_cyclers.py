"""What our cyclers do beyond openretina's: workers, ranks, proportional sampling.

(What they share with openretina's is compared in tests/interop/test_cyclers.py.)
"""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader, TensorDataset

from openretina_data.cyclers import LongCycler, ShortCycler, split_steps
from openretina_data.errors import DataValidationError


def id_loaders(sizes: dict[str, int], batch_size: int = 1, shuffle: bool = False) -> dict:
    """``{session: DataLoader}`` whose samples are their own numbers (0, 1, ...)."""
    return {
        name: DataLoader(TensorDataset(torch.arange(n)), batch_size=batch_size, shuffle=shuffle)
        for name, n in sizes.items()
    }


def ids(batch: list[torch.Tensor]) -> list[int]:
    return [int(x) for x in batch[0]]


@settings(max_examples=200, deadline=None)
@given(n_steps=st.integers(0, 120), ranks=st.integers(1, 4), workers=st.integers(1, 4))
def test_split_steps_serves_every_step_and_each_rank_the_same_number(
    n_steps: int, ranks: int, workers: int
) -> None:
    per_rank = math.ceil(n_steps / ranks)
    everything = []
    for rank in range(ranks):
        lanes = [split_steps(n_steps, rank, ranks, w, workers) for w in range(workers)]
        # a DataLoader reads its workers in turn: that must give the rank's steps in order
        in_turn = [lane[i] for i in range(per_rank) for lane in lanes if i < len(lane)]
        assert sorted(in_turn) == sorted(x for lane in lanes for x in lane)
        merged = [lanes[i % workers][i // workers] for i in range(per_rank)]  # round robin
        assert merged == [(rank + ranks * i) % n_steps for i in range(per_rank)]
        assert sum(len(lane) for lane in lanes) == per_rank
        everything += merged
    assert set(everything) == set(range(n_steps))
    assert len(everything) - n_steps == (-n_steps) % ranks  # only the wrap-around repeats


@settings(max_examples=100, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 12), min_size=1, max_size=5),
    shuffle=st.booleans(),
)
def test_proportional_serves_every_batch_once_interleaved_by_size(
    sizes: list[int], shuffle: bool
) -> None:
    loaders = id_loaders({f"s{i}": n for i, n in enumerate(sizes)})
    cycler = LongCycler(loaders, shuffle=shuffle, proportional=True)
    out = [(session, ids(batch)[0]) for session, batch in cycler]
    assert len(cycler) == len(out) == sum(sizes)
    assert sorted(out) == sorted((f"s{i}", j) for i, n in enumerate(sizes) for j in range(n))
    for session in loaders:  # each session's batches in its own order
        assert [j for s, j in out if s == session] == list(range(len(loaders[session])))
    if not shuffle:
        # evenly: a prefix of t steps holds each session's share n * t / total, give or
        # take one batch and the ties between sessions (at most one batch per session at
        # the same point of the epoch: n * sessions / total)
        total = sum(sizes)
        for t in range(total + 1):
            counts = Counter(s for s, _ in out[:t])
            for i, n in enumerate(sizes):
                assert abs(counts[f"s{i}"] - n * t / total) <= 1 + n * len(sizes) / total


def test_long_cycler_length_and_cycling_of_short_sessions() -> None:
    cycler = LongCycler(id_loaders({"b": 3, "a": 1, "c": 2}), shuffle=False)
    out = [(s, ids(b)[0]) for s, b in cycler]
    assert len(cycler) == 9  # sessions x longest
    assert out == [("a", 0), ("b", 0), ("c", 0)] + [("a", 0), ("b", 1), ("c", 1)] + [
        ("a", 0),
        ("b", 2),
        ("c", 0),
    ]


def test_long_cycler_with_workers_serves_each_step_once_with_shuffled_loaders() -> None:
    sizes = {"a": 7, "b": 3, "c": 5}
    loaders = id_loaders(sizes, batch_size=2, shuffle=True)
    cycler = LongCycler(loaders)
    torch.manual_seed(0)
    out = [(s, ids(b)) for s, b in DataLoader(cycler, batch_size=None, num_workers=2)]
    assert len(out) == len(cycler) == 3 * 4
    for session, n in sizes.items():
        batches = [b for s, b in out if s == session]
        per_pass = len(loaders[session])
        assert len(batches) == 4
        for start in range(0, len(batches) - per_pass + 1, per_pass):  # a whole pass
            served = sorted(x for b in batches[start : start + per_pass] for x in b)
            assert served == list(range(n))  # each sample once: no batch duplicated
    torch.manual_seed(0)
    again = [(s, ids(b)) for s, b in DataLoader(cycler, batch_size=None, num_workers=2)]
    assert again == out  # the plan follows torch's seed


def test_long_cycler_rejects_nothing_to_cycle_and_a_missing_process_group() -> None:
    with pytest.raises(DataValidationError, match="non-empty dict"):
        LongCycler({})
    with pytest.raises(DataValidationError, match="non-empty dict"):
        ShortCycler([])  # type: ignore[arg-type]
    with pytest.raises(DataValidationError, match="no initialised process group"):
        len(LongCycler(id_loaders({"a": 2}), distributed=True))


def test_short_cycler_leaves_surplus_workers_idle() -> None:
    # openretina 1.1.1 raises "Too many workers for 1 sessions" here
    loaders = id_loaders({"only": 4})
    out = [
        (s, ids(b)[0]) for s, b in DataLoader(ShortCycler(loaders), batch_size=None, num_workers=2)
    ]
    assert out == [("only", i) for i in range(4)]


RANK_SCRIPT = """
import json, sys
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, TensorDataset
from openretina_data.cyclers import LongCycler

dist.init_process_group("gloo")
rank = dist.get_rank()
loaders = {
    name: DataLoader(TensorDataset(torch.arange(n)), batch_size=1)
    for name, n in {"a": 5, "b": 2, "c": 3}.items()
}
result = {"world": dist.get_world_size()}
for workers in (0, 2):
    cycler = LongCycler(loaders, shuffle=True, seed=7)
    epochs = []
    for epoch in range(2):
        cycler.set_epoch(epoch)
        outer = DataLoader(cycler, batch_size=None, num_workers=workers)
        epochs.append([[s, int(b[0][0])] for s, b in outer])
    result[f"workers{workers}"] = {"len": len(cycler), "epochs": epochs}
with open(f"{sys.argv[1]}/rank{rank}.json", "w") as f:
    json.dump(result, f)
dist.destroy_process_group()
"""


@pytest.mark.slow
def test_long_cycler_splits_steps_across_two_ranks_without_duplicates(tmp_path: Path) -> None:
    script = tmp_path / "rank.py"
    script.write_text(textwrap.dedent(RANK_SCRIPT))
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        str(script),
        str(tmp_path),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    sizes = {"a": 5, "b": 2, "c": 3}
    n_steps = 3 * 5  # sessions x longest
    for epoch in range(2):
        # the epoch's plan: the session order shuffled once from seed + epoch (Python's
        # random, as openretina shuffles), the short sessions cycled
        order = sorted(sizes)
        random.Random(7 + epoch).shuffle(order)
        seen: Counter[str] = Counter()
        plan = []
        for session in order * 5:
            plan.append([session, seen[session] % sizes[session]])
            seen[session] += 1
        padded = plan + plan[: 2 * 8 - n_steps]  # wrapped so both ranks take 8 steps
        for workers in ("workers0", "workers2"):
            for rank in range(2):
                assert ranks[rank][workers]["len"] == 8
                assert ranks[rank][workers]["epochs"][epoch] == padded[rank::2]
