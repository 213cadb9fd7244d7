"""Our cyclers against openretina 1.1.1's on the same loaders: the same sessions and
batches in the same order, the same lengths, the same split of sessions over workers.

openretina is imported at module level: without it these tests fail; never skipped.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import pytest
import torch
from openretina.data_io import base as reference_base
from openretina.data_io import base_dataloader as reference_loaders
from openretina.data_io import cyclers as reference
from torch.utils.data import DataLoader

from openretina_data import base_dataloader as our_loaders
from openretina_data import cyclers as ours
from openretina_data.testing.movie_sessions import frame_stamped_session

pytestmark = pytest.mark.interop

#: Sessions of different lengths, so that LongCycler cycles the short ones.
FRAMES = {"s2": 200, "s0": 120, "s1": 80}


def dataloaders(library: str) -> dict[str, dict[str, DataLoader]]:
    """Train/validation/test loaders of three frame-stamped sessions, built by openretina's
    ``multiple_movies_dataloaders`` or ours."""
    module, base = (
        (reference_loaders, reference_base) if library == "openretina" else (our_loaders, None)
    )
    sessions = {
        name: frame_stamped_session(frames, test_frames=40, base=base)
        for name, frames in FRAMES.items()
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return module.multiple_movies_dataloaders(
            {name: pair[0] for name, pair in sessions.items()},
            {name: pair[1] for name, pair in sessions.items()},
            train_chunk_size=10,
            batch_size=2,
            clip_length=20,
            num_val_clips=1,
        )


def served(cycler: Iterable[tuple[str, Any]], seed: int = 3) -> list[tuple[str, torch.Tensor]]:
    """What a cycler yields, with every generator seeded the same first; a batch is
    told apart by its inputs (frame-stamped: every pixel is its frame's number)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return [(session, batch.inputs.clone()) for session, batch in cycler]


def assert_same(a: list[tuple[str, torch.Tensor]], b: list[tuple[str, torch.Tensor]]) -> None:
    assert [s for s, _ in a] == [s for s, _ in b]
    for (_, x), (_, y) in zip(a, b, strict=True):
        assert torch.equal(x, y)


@pytest.mark.parametrize("library", ["openretina", "ours"])
@pytest.mark.parametrize("shuffle", [False, True])
def test_long_cycler_serves_what_openretinas_serves(library: str, shuffle: bool) -> None:
    train = dataloaders(library)["train"]
    theirs = reference.LongCycler(train, shuffle=shuffle)
    mine = ours.LongCycler(train, shuffle=shuffle)
    assert len(mine) == len(theirs) == 3 * max(len(loader) for loader in train.values())
    expected = served(theirs)
    assert_same(served(mine), expected)
    assert len(expected) == len(theirs)
    # and again, over an outer DataLoader as openretina's training loop uses it
    assert_same(served(DataLoader(mine, batch_size=None)), served(theirs))


@pytest.mark.parametrize("library", ["openretina", "ours"])
def test_short_cycler_serves_what_openretinas_serves(library: str) -> None:
    validation = dataloaders(library)["validation"]
    expected = served(reference.ShortCycler(validation))
    mine = ours.ShortCycler(validation)
    assert_same(served(mine), expected)
    assert len(mine) == len(expected) == sum(len(x) for x in validation.values())


@pytest.mark.filterwarnings("ignore:This DataLoader will create")  # 3 workers on 2 CPUs
def test_short_cycler_splits_sessions_over_workers_as_openretina() -> None:
    loaders = dataloaders("ours")["validation"]
    for workers in (2, 3):
        expected = served(
            DataLoader(reference.ShortCycler(loaders), batch_size=None, num_workers=workers)
        )
        assert_same(
            served(DataLoader(ours.ShortCycler(loaders), batch_size=None, num_workers=workers)),
            expected,
        )


def test_openretina_refuses_workers_in_long_cycler_and_ours_serves_each_step_once() -> None:
    validation = dataloaders("ours")["validation"]  # unshuffled: the order is known
    with pytest.raises(Exception, match="does not support multiple workers"):
        served(
            DataLoader(
                reference.LongCycler(validation, shuffle=False), batch_size=None, num_workers=2
            )
        )
    expected = served(reference.LongCycler(validation, shuffle=False))
    cycler = ours.LongCycler(validation, shuffle=False)
    assert_same(served(DataLoader(cycler, batch_size=None, num_workers=2)), expected)
