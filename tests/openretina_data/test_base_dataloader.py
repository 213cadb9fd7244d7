"""openretina_data.base_dataloader: batches, alignment, lean reading and the §7 fixes."""

from __future__ import annotations

import gc
import pickle
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pytest
import torch

from openretina_data import base
from openretina_data._sampling import fit_into_runs, gen_shifts_with_boundaries, shard
from openretina_data.base_dataloader import (
    DataPoint,
    MovieSampler,
    generate_movie_splits,
    get_movie_dataloader,
    multiple_movies_dataloaders,
)
from openretina_data.errors import (
    DataValidationError,
    InvalidNameError,
    NonFiniteError,
    OpenRetinaDataError,
    ShapeError,
    UnreadableSourceError,
)
from openretina_data.frames import LazyMovie
from openretina_data.h5_dataset_reader import load_responses, load_stimuli
from openretina_data.memory_probe import PeakMemory, read_status_kib
from openretina_data.movie_view import NormalizedMovie
from openretina_data.testing.movie_sessions import (
    NEURON_STRIDE,
    frame_stamped_session,
    random_session,
    write_frame_stamped_dataset,
    write_native_dataset,
)

SMALL = {"train_chunk_size": 20, "batch_size": 4, "clip_length": 30, "num_val_clips": 5}


def stamped(n_frames: int = 900, **kwargs: object) -> tuple[dict, dict]:
    responses, movies = frame_stamped_session(n_frames, **kwargs)  # type: ignore[arg-type]
    return {"s": responses}, {"s": movies}


def served_frames(batch: DataPoint) -> np.ndarray:
    """(batch, chunk) frame numbers stamped into the inputs, checked against the targets."""
    frames = batch.inputs[:, 0, :, 0, 0].numpy()
    np.testing.assert_array_equal(frames, batch.targets[:, :, 0].numpy())
    np.testing.assert_array_equal(
        batch.targets[:, :, 1].numpy() - batch.targets[:, :, 0].numpy(), NEURON_STRIDE
    )
    return frames.astype(np.int64)


def test_batches_have_openretinas_types_and_shapes() -> None:
    loaders = multiple_movies_dataloaders(*stamped(n_neurons=3), **SMALL)
    assert set(loaders) == {"train", "validation", "test"}
    train = next(iter(loaders["train"]["s"]))
    assert isinstance(train, DataPoint)
    assert train.inputs.shape == (4, 1, 20, 4, 4) and train.targets.shape == (4, 20, 3)
    assert train.inputs.dtype == torch.float32 and train.targets.dtype == torch.float32
    validation = next(iter(loaders["validation"]["s"]))
    assert validation.inputs.shape == (4, 1, 30, 4, 4)
    test = next(iter(loaders["test"]["s"]))
    assert test.inputs.shape == (1, 1, 120, 4, 4) and test.targets.shape == (1, 120, 3)


def test_inputs_align_with_targets_frame_by_frame_and_chunks_are_contiguous() -> None:
    loaders = multiple_movies_dataloaders(*stamped(), **SMALL)
    for split in ("train", "validation", "test"):
        for batch in loaders[split]["s"]:
            frames = served_frames(batch)
            assert (np.diff(frames, axis=1) == (1 if split != "test" else -1)).all()


def test_training_chunks_never_straddle_removed_validation_clip() -> None:
    responses, movies = stamped(n_frames=1200)
    clip = SMALL["clip_length"]
    np.random.seed(3)
    loaders = multiple_movies_dataloaders(responses, movies, **SMALL)
    val_frames = {
        int(f) for batch in loaders["validation"]["s"] for f in served_frames(batch).ravel()
    }
    assert len(val_frames) == SMALL["num_val_clips"] * clip
    for _ in range(20):
        for batch in loaders["train"]["s"]:
            frames = served_frames(batch)
            assert not val_frames & set(frames.ravel().tolist())
            # contiguous frame numbers: the chunk never jumps over a removed clip
            assert (np.diff(frames, axis=1) == 1).all()


def test_training_draws_one_sample_per_chunk_from_the_training_clips() -> None:
    loaders = multiple_movies_dataloaders(*stamped(n_frames=1200), **SMALL)
    train = loaders["train"]["s"]
    kept_clips = 1200 // SMALL["clip_length"] - SMALL["num_val_clips"]
    n_samples = -(-kept_clips * SMALL["clip_length"] // SMALL["train_chunk_size"])
    assert len(train.sampler) == n_samples
    assert len(train) == n_samples // SMALL["batch_size"]
    assert sum(len(batch.inputs) for batch in train) == len(train) * SMALL["batch_size"]


def test_shifted_starts_come_from_the_global_numpy_state() -> None:
    train = multiple_movies_dataloaders(*stamped(), **SMALL)["train"]["s"]
    np.random.seed(11)
    first = list(train.sampler)
    np.random.seed(11)
    assert list(train.sampler) == first
    assert list(train.sampler) != first


def test_uint8_stimuli_normalised_like_floats() -> None:
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, size=(1, 900, 4, 4)).astype(np.uint8)
    mean, std = 120.0, 40.0
    responses = base.ResponsesTrainTestSplit(
        train=rng.random((3, 900)).astype(np.float32),
        test=rng.random((3, 60)).astype(np.float32),
    )
    uint8_split = base.MoviesTrainTestSplit(
        train=raw, test=raw[:, :60], norm_mean=mean, norm_std=std
    )
    normalised = (raw.astype(np.float32) - np.float32(mean)) / np.float32(std)
    float_split = base.MoviesTrainTestSplit(
        train=normalised, test=normalised[:, :60], norm_mean=mean, norm_std=std
    )
    ours = multiple_movies_dataloaders({"s": responses}, {"s": uint8_split}, **SMALL)
    floats = multiple_movies_dataloaders({"s": responses}, {"s": float_split}, **SMALL)
    for split in ("validation", "test"):
        for a, b in zip(ours[split]["s"], floats[split]["s"], strict=True):
            torch.testing.assert_close(a.inputs, b.inputs, rtol=0, atol=0)
            assert a.inputs.abs().max() < 4  # normalised, not raw 0..255


def test_memory_mapped_stimulus_is_read_in_place(tmp_path) -> None:
    responses, movies = random_session(1500)
    np.save(tmp_path / "train.npy", movies.train)
    mapped = np.load(tmp_path / "train.npy", mmap_mode="r")
    mapped_split = base.MoviesTrainTestSplit(train=mapped, test_dict=movies.test_dict)
    in_memory = multiple_movies_dataloaders({"s": responses}, {"s": movies}, **SMALL)
    lazy = multiple_movies_dataloaders({"s": responses}, {"s": mapped_split}, **SMALL)
    movie = lazy["train"]["s"].dataset.movies
    assert isinstance(movie, LazyMovie) and movie.parts[0].array is mapped
    for a, b in zip(in_memory["validation"]["s"], lazy["validation"]["s"], strict=True):
        assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
    # a worker process gets the file name, not the frames
    shipped = pickle.dumps(movie)
    assert len(shipped) < 2000 < mapped.nbytes
    np.testing.assert_array_equal(pickle.loads(shipped)[:, 100:160], movie[:, 100:160])


def test_normalized_movie_from_mmap_loader_is_normalised_per_batch(tmp_path) -> None:
    rng = np.random.default_rng(1)
    parts = [rng.integers(0, 256, (1, n, 4, 4)).astype(np.uint8) for n in (500, 400)]
    movie = NormalizedMovie(parts, norm_mean=100.0, norm_std=50.0)
    served = generate_movie_splits(movie, {}, [0, 3], num_clips=30, clip_length=30)[1]
    expected = (np.concatenate(parts, axis=1).astype(np.float32) - np.float32(100)) / np.float32(50)
    np.testing.assert_array_equal(served[:, 0:30], expected[:, 0:30])
    np.testing.assert_array_equal(served[:, 30:60], expected[:, 90:120])


def test_memory_mapped_stimulus_with_workers_matches_in_process_reading(tmp_path) -> None:
    responses, movies = random_session(1200)
    np.save(tmp_path / "train.npy", movies.train)
    mapped = np.load(tmp_path / "train.npy", mmap_mode="r")
    split = base.MoviesTrainTestSplit(train=mapped, test_dict=movies.test_dict)
    plain = multiple_movies_dataloaders({"s": responses}, {"s": movies}, **SMALL)
    workers = multiple_movies_dataloaders({"s": responses}, {"s": split}, **SMALL, num_workers=2)
    for split_name in ("validation", "test"):
        for a, b in zip(plain[split_name]["s"], workers[split_name]["s"], strict=True):
            assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
    np.random.seed(0)
    assert sum(len(batch.inputs) for batch in workers["train"]["s"]) == len(plain["train"]["s"]) * 4


def test_slice_of_a_memory_map_reads_its_own_frames(tmp_path) -> None:
    frames = np.arange(2 * 300 * 4, dtype=np.float32).reshape(1, 300, 2, 4)
    np.save(tmp_path / "movie.npy", frames)
    mapped = np.load(tmp_path / "movie.npy", mmap_mode="r")
    trimmed = mapped[:, 37:250]
    movie = LazyMovie([trimmed])
    np.testing.assert_array_equal(movie[:, 0:100], frames[:, 37:137])
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(movie))[:, 200:213], frames[:, 237:250])


def test_truncated_stimulus_file_is_reported(tmp_path) -> None:
    movie = np.zeros((1, 900, 4, 4), np.float32)
    np.save(tmp_path / "train.npy", movie)
    mapped = np.load(tmp_path / "train.npy", mmap_mode="r")
    with open(tmp_path / "train.npy", "r+b") as file:
        file.truncate(mapped.offset + 500 * 16 * 4)
    with pytest.raises(UnreadableSourceError, match="ended early"):
        LazyMovie([mapped]).read(480, 520)


def test_lazy_movie_indexes_like_an_array() -> None:
    frames = np.random.default_rng(2).normal(size=(2, 300, 3, 4)).astype(np.float32)
    movie = LazyMovie([frames[:, :120], frames[:, 120:]], norm_mean=0.5, norm_std=2.0)
    expected = (frames - np.float32(0.5)) / np.float32(2.0)
    assert movie.shape == frames.shape and movie.joins == [120]
    for key in [
        (slice(None), slice(100, 150)),
        (1, 7),
        (0, -1, 2),
        (slice(None), slice(10, 20), 1),
    ]:
        np.testing.assert_array_equal(movie[key], expected[key])
    view = movie.select([(0, 30), (90, 150)])
    assert view.breaks == [30] and view.joins == [60]
    np.testing.assert_array_equal(view[:, 25:35], expected[:, np.r_[25:30, 90:95]])


def test_hdf5_stimulus_with_workers_matches_in_process_reading(tmp_path) -> None:
    responses, movies = random_session(1200)
    with h5py.File(tmp_path / "movie.h5", "w") as file:
        file["train"] = movies.train
    with h5py.File(tmp_path / "movie.h5", "r") as file:
        split = base.MoviesTrainTestSplit(train=file["train"], test_dict=movies.test_dict)
        plain = multiple_movies_dataloaders({"s": responses}, {"s": split}, **SMALL)
        workers = multiple_movies_dataloaders(
            {"s": responses}, {"s": split}, **SMALL, num_workers=2
        )
        for a, b in zip(plain["validation"]["s"], workers["validation"]["s"], strict=True):
            assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)


def test_training_chunks_do_not_span_stimulus_join_unless_allowed() -> None:
    first, second = 455, 445  # the join at frame 455 lies inside clip 15 (450..480)
    movie = NormalizedMovie(
        [
            np.arange(n, dtype=np.float32)[None, :, None, None] + offset
            for n, offset in ((first, 0), (second, first))
        ]
    )
    movie_parts = movie  # frames stamped 0..899 across the two stimuli
    responses = base.ResponsesTrainTestSplit(
        train=np.stack([np.arange(900.0), np.arange(900.0) + NEURON_STRIDE]).astype(np.float32),
        test=np.zeros((2, 60), np.float32),
    )
    split = base.MoviesTrainTestSplit(train=movie_parts, test=np.zeros((1, 60, 1, 1), np.float32))
    strict = multiple_movies_dataloaders(
        {"s": responses}, {"s": split}, **SMALL, val_clip_indices=[0], allow_over_boundaries=False
    )
    for _ in range(10):
        for batch in strict["train"]["s"]:
            frames = batch.inputs[:, 0, :, 0, 0].numpy()
            assert not ((frames[:, 0] < first) & (frames[:, -1] >= first)).any()
    loose = multiple_movies_dataloaders(
        {"s": responses}, {"s": split}, **SMALL, val_clip_indices=[0], allow_over_boundaries=True
    )
    crossed = 0
    for _ in range(10):
        for batch in loose["train"]["s"]:
            frames = batch.inputs[:, 0, :, 0, 0].numpy()
            crossed += int(((frames[:, 0] < first) & (frames[:, -1] >= first)).sum())
    assert crossed > 0


@pytest.mark.parametrize("mmap", [False, True])
def test_training_chunks_do_not_span_the_stimulus_join_on_the_default_load_path(
    tmp_path, mmap: bool
) -> None:
    # load_stimuli(mmap=False), the default, joins the training stimuli into one array;
    # the join must still keep chunks apart (frames 0..454 come from movie_0, 455.. from movie_1).
    join = 455
    folder = write_frame_stamped_dataset(tmp_path, train_lengths=(join, 445))
    movies = load_stimuli(folder, ["test"], [1, 1, 1], 0.0, 1.0, mmap=mmap)
    assert isinstance(movies["s"].train, np.ndarray) != mmap
    assert movies["s"].train_joins == (join,)
    responses = load_responses(folder, ["test"])

    def crossing_samples(allow_over_boundaries: bool) -> tuple[int, int]:
        loaders = multiple_movies_dataloaders(
            responses,
            movies,
            **SMALL,
            val_clip_indices=[0],
            allow_over_boundaries=allow_over_boundaries,
        )
        crossed = samples = 0
        for _ in range(10):
            for batch in loaders["train"]["s"]:
                frames = served_frames(batch)
                crossed += int(((frames[:, 0] < join) & (frames[:, -1] >= join)).sum())
                samples += len(frames)
        return crossed, samples

    crossed, samples = crossing_samples(allow_over_boundaries=False)
    assert crossed == 0 and samples > 0
    assert crossing_samples(allow_over_boundaries=True)[0] > 0  # the join is reachable


def peak_growth(action: Callable[[], object]) -> tuple[int, int]:
    """Bytes ``action`` needs at its peak: (numpy/Python allocations traced by tracemalloc,
    growth of anonymous resident memory, ``RssAnon``, sampled every millisecond and once
    more while the action's result is alive). Pages of memory-mapped files are page cache
    the kernel can reclaim (``RssFile``) and are not counted, as in the issue's budget."""
    gc.collect()
    anon_before_kib = read_status_kib()["RssAnon"]
    tracemalloc.start()
    try:
        with PeakMemory(interval_s=0.001) as memory:
            result = action()
            memory.sample()
            del result
        traced_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert memory.peak_anon_mib is not None
    return traced_peak, int(memory.peak_anon_mib * 1024 - anon_before_kib) * 1024


def test_peak_memory_is_not_sessions_plus_three_movies(tmp_path: Path) -> None:
    # openretina 1.1.1 peaks at about (sessions + 3) x one session's movie (DESIGN.md §7).
    # Three sessions share one 61 MiB movie; loading them memory-mapped, building the
    # dataloaders and drawing batches must stay far below even one movie.
    frame_size = (50, 50)
    loaded: dict[str, dict] = {}

    def load_build_and_draw(n_frames: int) -> None:
        folder = tmp_path / str(n_frames)
        if not folder.exists():
            write_native_dataset(
                folder, n_sessions=3, n_frames=n_frames, frame_size=frame_size, slab_frames=256
            )
        movies = load_stimuli(folder, ["test"], [1, *frame_size], 127.5, 73.9, mmap=True)
        responses = load_responses(folder, ["test"])
        loaders = multiple_movies_dataloaders(
            responses, movies, train_chunk_size=20, batch_size=8, clip_length=100, num_val_clips=5
        )
        for session in ("s0", "s1", "s2"):
            batches = iter(loaders["train"][session])
            for _ in range(3):
                assert next(batches).inputs.shape == (8, 1, 20, *frame_size)
            next(iter(loaders["validation"][session]))
        loaded["movies"] = movies

    load_build_and_draw(1000)  # first-use costs (imports, thread pools) are not per movie
    n_frames = 6400
    write_native_dataset(
        tmp_path / str(n_frames), n_sessions=3, n_frames=n_frames, frame_size=frame_size,
        slab_frames=256,
    )  # fmt: skip
    movie_bytes = n_frames * frame_size[0] * frame_size[1] * 4
    traced, resident = peak_growth(lambda: load_build_and_draw(n_frames))
    assert traced < movie_bytes / 8, f"{traced / 2**20:.1f} MiB traced"
    assert resident < movie_bytes / 4, f"{resident / 2**20:.1f} MiB anonymous resident"
    # The control: one whole-movie copy shows up in both measures.
    traced, resident = peak_growth(lambda: np.asarray(loaded["movies"]["s0"].train))
    assert traced >= movie_bytes and resident >= 0.9 * movie_bytes


def test_nan_responses_raise_instead_of_silent_none() -> None:
    responses, movies = stamped()
    responses["s"].train[1, 500] = np.nan
    with pytest.raises(NonFiniteError, match="frame 500") as caught:
        multiple_movies_dataloaders(responses, movies, **SMALL)
    assert caught.value.session == "s"
    with pytest.raises(NonFiniteError):
        get_movie_dataloader(
            movies["s"].train,
            responses["s"].train.T,
            split="train",
            scene_length=30,
            chunk_size=20,
            batch_size=2,
        )


def test_nan_responses_excluded_by_option() -> None:
    responses, movies = stamped()
    responses["s"].train[0, 400:403] = np.nan
    loaders = multiple_movies_dataloaders(responses, movies, **SMALL, nan_policy="exclude")
    for _ in range(5):
        for split in ("train", "validation"):
            for batch in loaders[split]["s"]:
                assert torch.isfinite(batch.targets).all()


def test_data_shorter_than_one_chunk_raises_with_needed_length() -> None:
    movie = np.zeros((1, 30, 4, 4), np.float32)
    with pytest.raises(ShapeError, match="at least 50 frames"):
        get_movie_dataloader(
            movie,
            np.zeros((30, 2), np.float32),
            split="train",
            scene_length=30,
            chunk_size=50,
            batch_size=1,
        )


def test_training_split_smaller_than_one_batch_raises() -> None:
    responses, movies = random_session(5400)
    with pytest.raises(ShapeError, match="0 batches") as caught:
        multiple_movies_dataloaders(
            {"s": responses},
            {"s": movies},
            train_chunk_size=50,
            batch_size=64,
            clip_length=90,
            num_val_clips=50,
        )
    assert "900 frames" in str(caught.value) and caught.value.session == "s"


def test_too_few_frames_for_the_validation_clips_says_the_minimum_length() -> None:
    with pytest.raises(ShapeError, match="at least 540 frames long") as caught:
        multiple_movies_dataloaders(
            *stamped(500), train_chunk_size=50, batch_size=1, clip_length=90, num_val_clips=5
        )
    assert caught.value.session == "s" and "no training clip" in str(caught.value)


@pytest.fixture
def no_dataloader_may_be_built(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a DataLoader was built before the arguments were checked")

    monkeypatch.setattr("openretina_data.base_dataloader.DataLoader", refuse)


@pytest.mark.usefixtures("no_dataloader_may_be_built")
@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("clip_length", 0),
        ("batch_size", 0),
        ("train_chunk_size", 0),
        ("num_val_clips", -1),
        ("num_val_clips", 0),
        ("clip_length", 2.5),
        ("num_workers", -1),
    ],
)
def test_bad_loader_numbers_are_named_before_any_dataloader_is_built(
    argument: str, value: object
) -> None:
    with pytest.raises(DataValidationError, match=f"{argument}={value!r}") as caught:
        multiple_movies_dataloaders(*stamped(), **{**SMALL, argument: value})
    assert caught.value.hint


@pytest.mark.usefixtures("no_dataloader_may_be_built")
@pytest.mark.parametrize("indices", [[999], [-1], [0, 30]])
def test_validation_clips_outside_the_movie_name_the_session_and_the_valid_numbers(
    indices: list[int],
) -> None:
    # 900 frames = 30 clips of 30: numbers 0 to 29
    with pytest.raises(ShapeError, match="numbers 0 to 29") as caught:
        multiple_movies_dataloaders(*stamped(900), **SMALL, val_clip_indices=indices)
    assert caught.value.session == "s" and "val_clip_indices" in str(caught.value)


@pytest.mark.usefixtures("no_dataloader_may_be_built")
def test_empty_validation_clip_list_is_refused() -> None:
    with pytest.raises(DataValidationError, match="val_clip_indices is empty"):
        multiple_movies_dataloaders(*stamped(), **SMALL, val_clip_indices=[])


@pytest.mark.usefixtures("no_dataloader_may_be_built")
@pytest.mark.parametrize(("argument", "value"), [("batch_size", 0), ("scene_length", -5)])
def test_get_movie_dataloader_names_a_bad_number_and_the_session(argument: str, value: int) -> None:
    arguments = {"split": "train", "scene_length": 30, "chunk_size": 10, "batch_size": 2}
    with pytest.raises(DataValidationError, match=f"{argument}={value}") as caught:
        get_movie_dataloader(
            np.zeros((1, 300, 2, 2), np.float32),
            np.zeros((300, 3), np.float32),
            **{**arguments, argument: value},
            session="s1",
        )
    assert caught.value.session == "s1"


def test_mismatched_session_keys_name_the_sessions() -> None:
    responses, movies = stamped()
    with pytest.raises(InvalidNameError, match="only in movies \\['other'\\]"):
        multiple_movies_dataloaders(responses, {**movies, "other": movies["s"]}, **SMALL)
    with pytest.raises(DataValidationError, match="no sessions"):
        multiple_movies_dataloaders({}, {}, **SMALL)


def fake_split(train: object, test: object) -> SimpleNamespace:
    """A stand-in split that skips our containers' own checks, as a user's class might."""
    return SimpleNamespace(
        train=train, test_dict={"test": test}, n_neurons=3, norm_mean=None, norm_std=None
    )


@pytest.mark.parametrize(
    ("movie", "responses", "message"),
    [
        (np.zeros((1, 900, 2, 2), np.float32), np.zeros((3, 899), np.float32), "900 frames"),
        (np.zeros((1, 900, 2, 2), np.float32), np.zeros((3, 900), np.complex64), "dtype complex64"),
        (np.zeros((1, 900, 2, 2), bool), np.zeros((3, 900), np.float32), "dtype bool"),
        (np.zeros((1, 900, 2, 2), np.float32), np.zeros((0, 900), np.float32), "non-empty"),
        (np.zeros((900, 2, 2), np.float32), np.zeros((3, 900), np.float32), "channels, time"),
    ],
)
def test_bad_sessions_give_one_clear_error_before_any_loader(movie, responses, message) -> None:
    movies = {
        "good": frame_stamped_session(900)[1],
        "bad": fake_split(movie, np.zeros((1, 60, 2, 2), np.float32)),
    }
    neurons = {
        "good": frame_stamped_session(900)[0],
        "bad": fake_split(responses, np.zeros((3, 60), np.float32)),
    }
    with pytest.raises(OpenRetinaDataError, match=message) as caught:
        multiple_movies_dataloaders(neurons, movies, **SMALL)
    assert caught.value.session == "bad" and caught.value.hint


def test_gen_shifts_with_boundaries_keeps_chunks_before_the_next_bound() -> None:
    bounds = np.arange(0, 901, 90)
    starts = np.arange(0, 900, 50)
    np.random.seed(0)
    shifted = np.asarray(gen_shifts_with_boundaries(bounds, starts, 50))
    assert len(shifted) == len(starts)
    next_bound = bounds[np.searchsorted(bounds, starts, side="right").clip(max=len(bounds) - 1)]
    assert (shifted + 50 <= next_bound).all() and (shifted >= 0).all()
    assert (shifted - starts < 25).all()


def test_fit_into_runs_moves_chunks_off_holes() -> None:
    fitted = fit_into_runs(np.array([0, 80, 95, 150]), 20, [(0, 90), (120, 200)])
    np.testing.assert_array_equal(fitted, [0, 70, 120, 150])


def test_shards_are_disjoint_covering_and_equal() -> None:
    indices = np.arange(10) * 7
    shards = [shard(indices, rank, 3) for rank in range(3)]
    assert {len(s) for s in shards} == {4}
    assert set(np.concatenate(shards).tolist()) == set(indices.tolist())
    assert sum(len(s) for s in shards) - len(indices) == 2  # two padded repeats only
    exact = [shard(indices[:9], rank, 3) for rank in range(3)]
    assert sorted(np.concatenate(exact).tolist()) == sorted(indices[:9].tolist())


def test_sharded_sampler_reshuffles_with_set_epoch() -> None:
    samplers = [
        MovieSampler(
            list(range(0, 900, 20)), "train", 20, 900, 30, True, num_replicas=2, rank=r, seed=5
        )
        for r in range(2)
    ]
    epoch0 = [list(s) for s in samplers]
    whole = MovieSampler(list(range(0, 900, 20)), "train", 20, 900, 30, True)
    np.random.set_state(np.random.RandomState(5).get_state())
    drawn = list(whole)
    assert set(epoch0[0] + epoch0[1]) == set(drawn)
    assert len(epoch0[0] + epoch0[1]) == len(drawn) + 1  # 45 samples padded to 2 x 23
    assert len(epoch0[0]) == len(epoch0[1]) == len(samplers[0]) == 23
    for sampler in samplers:
        sampler.set_epoch(0)
    assert [list(s) for s in samplers] == epoch0
    for sampler in samplers:
        sampler.set_epoch(1)
    assert [list(s) for s in samplers] != epoch0


def test_distributed_without_a_process_group_says_how_to_start_one() -> None:
    with pytest.raises(DataValidationError, match="init_process_group"):
        multiple_movies_dataloaders(*stamped(), **SMALL, distributed=True)


def test_unknown_nan_policy_is_rejected() -> None:
    with pytest.raises(DataValidationError, match="nan_policy"):
        multiple_movies_dataloaders(*stamped(), **SMALL, nan_policy="ignore")


def test_test_stimulus_named_like_a_split_is_rejected() -> None:
    responses, movies = stamped()
    fake_movies = fake_split(movies["s"].train, movies["s"].test_dict["test"])
    fake_movies.test_dict = {"validation": movies["s"].test_dict["test"]}
    fake_responses = fake_split(responses["s"].train, responses["s"].test_dict["test"])
    fake_responses.test_dict = {"validation": responses["s"].test_dict["test"]}
    with pytest.raises(InvalidNameError, match="replace the validation dataloaders"):
        multiple_movies_dataloaders({"s": fake_responses}, {"s": fake_movies}, **SMALL)


def test_a_mapped_stimulus_removed_while_in_use_still_reads(tmp_path) -> None:
    movie = np.arange(900 * 16, dtype=np.float32).reshape(1, 900, 4, 4)
    np.save(tmp_path / "train.npy", movie)
    lazy = LazyMovie([np.load(tmp_path / "train.npy", mmap_mode="r")])
    (tmp_path / "train.npy").unlink()  # the mapping keeps the (now nameless) file alive
    np.testing.assert_array_equal(lazy.read(480, 520), movie[:, 480:520])
