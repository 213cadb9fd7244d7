"""Our dataloaders against openretina 1.1.1's on the same data (fails without openretina)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from openretina.data_io import base as reference_base
from openretina.data_io import base_dataloader as reference

from openretina_data import base_dataloader as ours
from openretina_data.testing.movie_sessions import frame_stamped_session, random_session

pytestmark = pytest.mark.interop

PARAMS = {"train_chunk_size": 20, "batch_size": 8, "clip_length": 30, "num_val_clips": 6, "seed": 7}


def both(
    make, lengths: dict[str, int], **kwargs: object
) -> tuple[tuple[dict, dict], tuple[dict, dict]]:
    """The same sessions built with openretina's containers and with ours."""
    theirs: tuple[dict, dict] = ({}, {})
    mine: tuple[dict, dict] = ({}, {})
    for session, n_frames in lengths.items():
        for target, module in ((theirs, reference_base), (mine, None)):
            responses, movies = make(n_frames, base=module, **kwargs)
            target[0][session], target[1][session] = responses, movies
    return theirs, mine


def assert_same_batches(a: torch.utils.data.DataLoader, b: torch.utils.data.DataLoader) -> None:
    batches_a, batches_b = list(a), list(b)
    assert len(batches_a) == len(batches_b) > 0
    for x, y in zip(batches_a, batches_b, strict=True):
        torch.testing.assert_close(x.inputs.float(), y.inputs, rtol=0, atol=0)
        torch.testing.assert_close(x.targets.float(), y.targets, rtol=0, atol=0)


def test_same_validation_clips_and_equal_validation_and_test_batches() -> None:
    theirs, mine = both(frame_stamped_session, {"a": 1500, "b": 1210}, test_names=("test", "flash"))
    expected = reference.multiple_movies_dataloaders(*theirs, **PARAMS)
    actual = ours.multiple_movies_dataloaders(*mine, **PARAMS)
    assert set(actual) == set(expected) == {"train", "validation", "test", "flash"}
    for split in ("validation", "test", "flash"):
        assert set(actual[split]) == set(expected[split]) == {"a", "b"}
        for session in ("a", "b"):
            assert_same_batches(expected[split][session], actual[split][session])


def test_same_training_samples_per_epoch_from_the_same_clips() -> None:
    theirs, mine = both(frame_stamped_session, {"a": 1500})
    expected = reference.multiple_movies_dataloaders(*theirs, **PARAMS)["train"]["a"]
    actual = ours.multiple_movies_dataloaders(*mine, **PARAMS)["train"]["a"]
    assert len(actual.sampler) == len(expected.sampler)
    assert len(actual) == len(expected)
    torch.testing.assert_close(actual.dataset.mean_response, expected.dataset.mean_response)
    # openretina's training movie: the frame numbers of every clip it trains on
    their_frames = set(expected.dataset.movies[0, :, 0, 0].long().tolist())
    served: set[int] = set()
    for _ in range(5):
        for batch in actual:
            frames = batch.inputs[:, 0, :, 0, 0]
            torch.testing.assert_close(frames, batch.targets[:, :, 0], rtol=0, atol=0)
            served |= set(frames.ravel().long().tolist())
    assert served <= their_frames
    assert len(served) > 0.9 * len(their_frames)


def test_training_starts_equal_openretinas_where_no_removed_clip_is_crossed() -> None:
    theirs, mine = both(frame_stamped_session, {"a": 1500})
    expected = reference.multiple_movies_dataloaders(*theirs, **PARAMS)["train"]["a"]
    actual = ours.multiple_movies_dataloaders(*mine, **PARAMS)["train"]["a"]
    gaps = np.asarray(actual.dataset.movies.breaks)
    chunk = PARAMS["train_chunk_size"]
    for seed in range(5):
        np.random.seed(seed)
        their_starts = np.asarray(list(expected.sampler))
        np.random.seed(seed)
        our_starts = np.asarray(list(actual.sampler))
        straddles = ((their_starts[:, None] < gaps) & (their_starts[:, None] + chunk > gaps)).any(1)
        np.testing.assert_array_equal(our_starts[~straddles], their_starts[~straddles])
        assert not ((our_starts[:, None] < gaps) & (our_starts[:, None] + chunk > gaps)).any()


@pytest.mark.parametrize("allow_over_boundaries", [True, False])
def test_equal_training_batches_when_validation_clips_leave_no_gap(
    allow_over_boundaries: bool,
) -> None:
    theirs, mine = both(random_session, {"a": 1500})
    params = {
        **PARAMS,
        "val_clip_indices": [48, 49],
        "allow_over_boundaries": allow_over_boundaries,
    }
    expected = reference.multiple_movies_dataloaders(*theirs, **params)["train"]["a"]
    actual = ours.multiple_movies_dataloaders(*mine, **params)["train"]["a"]
    np.random.seed(3)
    their_batches = list(expected)
    np.random.seed(3)
    our_batches = list(actual)
    for x, y in zip(their_batches, our_batches, strict=True):
        torch.testing.assert_close(x.inputs, y.inputs, rtol=0, atol=0)
        torch.testing.assert_close(x.targets, y.targets, rtol=0, atol=0)


def test_gen_shifts_with_boundaries_draws_like_openretina() -> None:
    bounds = np.arange(0, 1801, 90)
    starts = np.arange(0, 1800, 50)
    np.random.seed(9)
    expected = reference.gen_shifts_with_boundaries(bounds, starts, 50)
    np.random.seed(9)
    assert ours.gen_shifts_with_boundaries(bounds, starts, 50) == [int(s) for s in expected]


def test_composing_complete_dataloaders_snippet_runs_unchanged() -> None:
    responses_dictionary, movies_dictionary = {}, {}
    for index, session in enumerate(("15-10-07", "15-11-21a")):
        responses, movies = random_session(8000, n_neurons=9, frame_size=(8, 8), seed=index)
        responses_dictionary[session], movies_dictionary[session] = responses, movies

    # --- the page's snippet, import prefix swapped ---
    from openretina_data.base_dataloader import multiple_movies_dataloaders

    dataloaders = multiple_movies_dataloaders(
        neuron_data_dictionary=responses_dictionary,
        movies_dictionary=movies_dictionary,
        train_chunk_size=50,
        batch_size=64,
        seed=42,
        clip_length=90,
        num_val_clips=50,
        allow_over_boundaries=True,
    )
    # --- end of snippet ---
    assert set(dataloaders) == {"train", "validation", "test"}
    batch = next(iter(dataloaders["train"]["15-10-07"]))
    assert batch.inputs.shape == (64, 1, 50, 8, 8) and batch.targets.shape == (64, 50, 9)


def test_single_session_helper_snippet_runs_unchanged() -> None:
    # --- the page's snippet, import prefix swapped ---
    import numpy as np

    from openretina_data.base_dataloader import get_movie_dataloader

    random_stimulus = np.random.rand(1, 300, 50, 50)  # channels, time, height, width
    random_responses = np.random.rand(300, 42)  # time, neurons

    single_dataloader = get_movie_dataloader(
        movie=random_stimulus,
        responses=random_responses,
        split="train",
        scene_length=300,
        chunk_size=50,
        batch_size=1,
    )
    # --- end of snippet ---
    theirs = reference.get_movie_dataloader(
        movie=random_stimulus,
        responses=random_responses,
        split="train",
        scene_length=300,
        chunk_size=50,
        batch_size=1,
    )
    np.random.seed(1)
    expected = list(theirs)
    np.random.seed(1)
    actual = list(single_dataloader)
    assert len(actual) == len(expected) == 6
    for x, y in zip(expected, actual, strict=True):
        # openretina keeps float64 here; ours serves float32 (what models take)
        assert y.inputs.dtype == torch.float32 and y.inputs.shape == x.inputs.shape == (
            1,
            1,
            50,
            50,
            50,
        )
        assert y.targets.shape == x.targets.shape == (1, 50, 42)
        torch.testing.assert_close(x.inputs.float(), y.inputs)
        torch.testing.assert_close(x.targets.float(), y.targets)


@pytest.mark.parametrize("normalize_on", ["cpu", "device"])
@pytest.mark.parametrize("kernel", [True, False], ids=["kernel", "numpy"])
def test_a_uint8_movie_on_disk_gives_openretinas_float32_batches_bit_for_bit(
    tmp_path, normalize_on: str, kernel: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """openretina reads the float32 movie into RAM; ours maps the same movie stored as
    uint8 and normalises it in the batch (compiled kernel or numpy) or on the device."""
    from openretina.data_io import h5_dataset_reader as their_reader

    from openretina_data import _kernels, h5_dataset_reader
    from openretina_data.device_batches import to_device
    from openretina_data.testing.movie_sessions import write_native_dataset

    if kernel:
        _kernels.prepare_kernel(np.uint8)
    else:
        monkeypatch.setattr(_kernels._LOADER, "enabled", False)
    kwargs = {"n_sessions": 1, "n_frames": 1800, "test_frames": 120, "frame_size": (6, 5)}
    float_dir = write_native_dataset(tmp_path / "f32", dtype="float32", **kwargs)
    byte_dir = write_native_dataset(tmp_path / "u8", dtype="uint8", **kwargs)
    assert np.load(byte_dir / "stimuli" / "train.npy", mmap_mode="r").dtype == np.uint8
    mean, std = 127.3, 71.9
    params = {**PARAMS, "val_clip_indices": [58, 59]}  # no gap in training: same chunks
    expected = reference.multiple_movies_dataloaders(
        their_reader.load_responses(float_dir, ["test"]),
        their_reader.load_stimuli(float_dir, ["test"], [1, 6, 5], mean, std),
        **params,
    )
    actual = ours.multiple_movies_dataloaders(
        h5_dataset_reader.load_responses(byte_dir, ["test"]),
        h5_dataset_reader.load_stimuli(byte_dir, ["test"], [1, 6, 5], mean, std, mmap=True),
        normalize_on=normalize_on,
        **params,
    )
    pairs = [
        (expected[split]["s0"], actual[split]["s0"]) for split in ("train", "validation", "test")
    ]
    for theirs, mine in pairs:
        np.random.seed(4)
        their_batches = list(theirs)
        np.random.seed(4)
        our_batches = list(mine)
        assert len(our_batches) == len(their_batches) > 0
        for x, y in zip(their_batches, our_batches, strict=True):
            if normalize_on == "device":
                assert y.inputs.dtype == torch.uint8
                y = to_device(y, "cpu")
            torch.testing.assert_close(x.inputs, y.inputs, rtol=0, atol=0)
            torch.testing.assert_close(x.targets, y.targets, rtol=0, atol=0)
