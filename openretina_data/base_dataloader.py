"""Dataloaders for movie/response pairs: a drop-in for ``openretina.data_io.base_dataloader``.

Same names, arguments, defaults, batch types and shapes as openretina 1.1.1
(batches are ``DataPoint(inputs=(batch, channels, chunk, h, w), targets=(batch, chunk,
neurons))``), with these differences:

* Stimuli are never copied whole. Movies are served through
  :class:`~openretina_data.frames.LazyMovie`: memory maps and HDF5 datasets stay on
  disk, the training and validation splits are views of clip ranges, and
  normalisation is applied to each batch as it is read. Batches are float32 (openretina
  returns float64 for float64 input).
* Integer (e.g. uint8) stimuli are normalised with the split's ``norm_mean``/``norm_std``
  like float ones.
* Training chunks never straddle the gap left by a removed validation clip, and cross
  the join between two training stimuli only when ``allow_over_boundaries`` is True.
  Start shifts are drawn as openretina draws them (from ``np.random``), so where no
  boundary is involved the chunks are the same for the same global seed.
* Stimuli on disk that no matching dataset card vouches for are checked for NaN/Inf
  batch by batch as they are read (a cheap pass over the normalised batch); one raises
  :class:`~openretina_data.errors.NonFiniteError` naming the file, session and frames.
* NaN responses raise :class:`~openretina_data.errors.NonFiniteError` (or, with
  ``nan_policy="exclude"``, chunks containing them are skipped) instead of returning
  ``None``; data shorter than one chunk and training splits with fewer samples than one
  batch raise :class:`~openretina_data.errors.ShapeError` instead of giving 0 batches.
* ``normalize_on="device"`` yields raw batches (uint8 stays uint8 through collate, pinned
  memory and the bus) that :func:`openretina_data.device_batches.to_device` normalises
  on the GPU, bit for bit as on the CPU.
* ``distributed=None`` (auto) shards every split across ``torch.distributed`` ranks when
  a process group is initialised; call ``loader.sampler.set_epoch(epoch)`` each epoch.
"""

from __future__ import annotations

import collections
from typing import Any, Literal

import numpy as np
import torch
from torch.utils.data import DataLoader

from openretina_data._loader_checks import (
    check_any_left,
    check_chunk_fits,
    check_chunk_in_scene,
    check_enough_training_samples,
    check_loader_arguments,
    check_nan_policy,
    check_positive_int,
    check_response_rows,
    check_responses_finite,
    check_session,
    check_sessions_match,
    dtype_of,
)
from openretina_data._movie_dataset import (
    DataPoint,
    MovieDataSet,
    MovieSampler,
    as_float32_tensor,
    collate_movie_batch,
    resolve_distributed,
)
from openretina_data._sampling import allowed_runs, gen_shifts_with_boundaries
from openretina_data.errors import UnknownSplitError
from openretina_data.frames import LazyMovie, as_lazy_movie

__all__ = [
    "DataPoint",
    "MovieDataSet",
    "MovieSampler",
    "NeuronDataSplit",
    "gen_shifts_with_boundaries",
    "generate_movie_splits",
    "get_movie_dataloader",
    "multiple_movies_dataloaders",
]

Split = Literal["train", "validation", "val", "test"]
SPLITS = ("train", "validation", "val", "test")


def generate_movie_splits(
    movie_train: Any,
    movie_test: dict[str, Any],
    val_clip_idc: list[int],
    num_clips: int,
    clip_length: int,
) -> tuple[LazyMovie, LazyMovie, dict[str, LazyMovie]]:
    """Training, validation and test movies as views (no frame is copied).

    Parameters
    ----------
    movie_train : (channels, time, height, width)
        The session's training movie (array, memmap, HDF5 dataset or LazyMovie).
    movie_test
        Test movies by stimulus name, same axes.
    val_clip_idc
        Clip numbers held out for validation, in the order they are served.
    num_clips
        Clips of ``clip_length`` frames in the training movie; frames after the last
        whole clip are used by neither split (as in openretina).

    Returns
    -------
    train, validation, test
        ``train`` shows the remaining clips in ascending order, ``validation`` the
        held-out clips in ``val_clip_idc`` order. openretina returns float tensors;
        these are :class:`LazyMovie` views with the same shapes.
    """
    movie = as_lazy_movie(movie_train)
    held_out = {int(i) for i in val_clip_idc}
    train_ranges = [
        (i * clip_length, (i + 1) * clip_length) for i in range(num_clips) if i not in held_out
    ]
    val_ranges = [(int(i) * clip_length, (int(i) + 1) * clip_length) for i in val_clip_idc]
    tests = {name: as_lazy_movie(test) for name, test in movie_test.items()}
    return movie.select(train_ranges), movie.select(val_ranges), tests


def get_movie_dataloader(
    movie: Any,
    responses: Any,
    *,
    split: str | Split,
    scene_length: int,
    chunk_size: int,
    batch_size: int,
    start_indices: list[int] | None = None,
    roi_ids: np.ndarray | None = None,
    roi_coords: np.ndarray | None = None,
    group_assignment: np.ndarray | None = None,
    drop_last: bool = True,
    allow_over_boundaries: bool = True,
    nan_policy: str = "raise",
    distributed: bool | None = None,
    seed: int = 0,
    session: str | None = None,
    normalize_on: str = "cpu",
    **kwargs: Any,
) -> DataLoader:
    """A DataLoader of chunks of ``movie`` and the matching ``responses``.

    Parameters
    ----------
    movie : (channels, time, height, width)
        Stimulus frames: numpy array or memmap, h5py dataset, torch tensor or LazyMovie.
    responses : (time, neurons) float, or for ``split="test"`` a dict with "avg" and
        optional "by_trial" (trials, time, neurons)
        Responses, one row per frame of ``movie``.
    split
        "train" (shifted, shuffled chunks of ``chunk_size``), "validation"/"val" (one
        chunk per scene) or "test" (the whole movie, or one chunk per scene when
        ``allow_over_boundaries`` is False).
    scene_length, chunk_size, batch_size, start_indices, roi_ids, roi_coords,
    group_assignment, drop_last, allow_over_boundaries
        As in openretina 1.1.1. ``drop_last`` applies to training only.
    nan_policy
        "raise" (default): NaN/Inf responses are an error. "exclude": chunks that
        contain one are never served.
    distributed
        Shard the samples across ``torch.distributed`` ranks; None (default) does so
        when a process group is initialised.
    seed
        Base seed of the shared shuffle when sharding (every rank must agree).
    session
        Name used in error messages.
    normalize_on
        "cpu" (default): batches are normalised float32 ``DataPoint``. "device": batches
        are :class:`~openretina_data.device_batches.RawDataPoint` (the stored values,
        uint8 for an 8-bit movie, with ``norm_mean``/``norm_std``), normalised on the
        GPU by :func:`~openretina_data.device_batches.to_device`, bit for bit as on the CPU.
    **kwargs
        Passed to ``torch.utils.data.DataLoader`` (``num_workers``, ``pin_memory`` ...).
    """
    check_nan_policy(nan_policy)
    check_positive_int(batch_size, "batch_size", "Pass the samples per batch, e.g. 32.", session)
    check_positive_int(
        scene_length, "scene_length", "Pass the frames per scene (clip), e.g. 100.", session
    )
    frames = as_lazy_movie(movie)
    avg = responses["avg"] if split == "test" and isinstance(responses, dict) else responses
    avg_tensor = as_float32_tensor(avg)
    check_response_rows(tuple(avg_tensor.shape), frames.n_frames, session)
    bad_frames = check_responses_finite(avg_tensor.numpy(), "responses", session, nan_policy)
    check_chunk_fits(frames.n_frames, chunk_size, f"the {split} movie", session)
    if not allow_over_boundaries and split == "train":
        check_chunk_in_scene(chunk_size, scene_length, session)

    if start_indices is None:
        if split not in SPLITS:
            raise UnknownSplitError(  # openretina's NotImplementedError, with its sentence
                f"Start indices could not be recovered. split={split!r} is not one of {SPLITS}",
                session=session,
                hint="Pass split='train', 'validation' or 'test', or give start_indices.",
            )
        interval = {"train": chunk_size, "validation": scene_length, "val": scene_length}.get(
            split, frames.n_frames if allow_over_boundaries else scene_length
        )
        start_indices = list(range(0, frames.n_frames, interval))

    hard_bounds = list(frames.breaks) + ([] if allow_over_boundaries else list(frames.joins))
    excluded = bad_frames[: frames.n_frames] if bad_frames is not None else None
    runs = allowed_runs(frames.n_frames, hard_bounds, excluded)
    if split != "train" and excluded is not None:
        start_indices = [s for s in start_indices if not excluded[s : s + chunk_size].any()]
        check_any_left(start_indices, split, session)
    num_replicas, rank = resolve_distributed(distributed)
    if split == "train" and drop_last:
        per_rank = -(-len(start_indices) // (num_replicas or 1))
        detail = f" (1/{num_replicas} of them on each rank)" if num_replicas else ""
        check_enough_training_samples(
            per_rank, frames.n_frames, chunk_size, batch_size, session, detail
        )

    served = {**responses, "avg": avg_tensor} if avg is not responses else avg_tensor
    dataset = MovieDataSet(
        frames,
        served,
        roi_ids,
        roi_coords,
        group_assignment,
        split,
        chunk_size,
        session=session,
        normalize_on=normalize_on,
    )
    sampler = MovieSampler(
        start_indices,
        split,
        chunk_size,
        movie_length=frames.n_frames,
        scene_length=scene_length,
        allow_over_boundaries=allow_over_boundaries,
        runs=runs,
        num_replicas=num_replicas,
        rank=rank,
        seed=seed,
    )
    kwargs.setdefault("collate_fn", collate_movie_batch)
    return DataLoader(
        dataset,
        sampler=sampler,
        batch_size=batch_size,
        drop_last=split == "train" and drop_last,
        **kwargs,
    )


class NeuronDataSplit:
    """Training, validation and test responses of one session, ready for dataloaders.

    Same attributes as openretina 1.1.1's: ``responses_train`` (time, neurons) without
    the validation clips, ``responses_val`` (n_val_clips * clip_length, neurons),
    ``test_responses_by_trial``, and ``response_dict`` / ``response_dict_test`` with
    float32 tensors. Responses are small; they are copied, movies are not.

    Parameters
    ----------
    responses
        A ``ResponsesTrainTestSplit`` (``train`` is (neurons, time)).
    val_clip_idx, num_clips, clip_length
        The validation clips, as for :func:`generate_movie_splits`.
    key
        Free-form description of the session, kept as ``self.key``.
    """

    def __init__(
        self,
        responses: Any,
        val_clip_idx: list[int],
        num_clips: int,
        clip_length: int,
        key: dict | None = None,
        **kwargs: Any,
    ) -> None:
        self.neural_responses = responses
        self.num_neurons = int(responses.n_neurons)
        self.key = key
        self.roi_coords: tuple = ()
        self.clip_length = clip_length
        self.num_clips = num_clips
        self.val_clip_idx = val_clip_idx
        self.responses_train_and_val = np.asarray(responses.train).T
        self.responses_train, self.responses_val = self.split_data_train_val()
        by_trial = getattr(responses, "test_by_trial_dict", None) or {}
        self.test_responses_by_trial: dict[str, np.ndarray] = {
            name: np.asarray(trials) for name, trials in by_trial.items()
        }
        self._response_dict: dict | None = None

    def split_data_train_val(self) -> tuple[np.ndarray, np.ndarray]:
        """(time - held-out frames, neurons) training and (val frames, neurons) validation responses.

        Training keeps every frame outside the validation clips, including the frames
        after the last whole clip (so ``mean_response`` matches openretina's).
        """
        length = self.clip_length
        held_out = np.zeros(self.responses_train_and_val.shape[0], dtype=bool)
        for clip in self.val_clip_idx:
            held_out[int(clip) * length : (int(clip) + 1) * length] = True
        source = self.responses_train_and_val
        validation = np.concatenate(
            [source[int(c) * length : (int(c) + 1) * length] for c in self.val_clip_idx]
            or [source[:0]]
        )
        return source[~held_out], validation

    @property
    def response_dict(self) -> dict:
        """``{"train": (time, neurons), "validation": ..., "test": {name: {"avg", "by_trial"}}}``."""
        if self._response_dict is None:
            self._response_dict = {
                "train": as_float32_tensor(self.responses_train),
                "validation": as_float32_tensor(self.responses_val),
                "test": self.response_dict_test,
            }
        return self._response_dict

    @property
    def response_dict_test(self) -> dict[str, dict[str, torch.Tensor | None]]:
        """``{name: {"avg": (time, neurons), "by_trial": (trials, time, neurons) or None}}``."""
        entries: dict[str, dict[str, torch.Tensor | None]] = {}
        for name, responses in self.neural_responses.test_dict.items():
            trials = self.test_responses_by_trial.get(name)
            entries[name] = {
                "avg": as_float32_tensor(np.asarray(responses).T),
                "by_trial": None if trials is None else as_float32_tensor(trials),
            }
        return entries


def _session_movies(movies: Any) -> tuple[LazyMovie, dict[str, LazyMovie]]:
    """Training and test movies as LazyMovies; integer frames get the split's normalisation.

    The training movie keeps the split's ``train_joins`` (where ``load_stimuli`` joined
    two training stimuli into one array); openretina's splits have none.
    """

    def lazy(array: Any, joins: tuple[int, ...] = ()) -> LazyMovie:
        if isinstance(array, LazyMovie):
            return array
        if np.issubdtype(dtype_of(array), np.integer):
            return as_lazy_movie(array, movies.norm_mean, movies.norm_std, joins=joins)
        return as_lazy_movie(array, joins=joins)

    train = lazy(movies.train, tuple(getattr(movies, "train_joins", ())))
    return train, {name: lazy(test) for name, test in movies.test_dict.items()}


def _test_batch_size(batch_size: int, train_chunk_size: int, test_chunk_size: int) -> int:
    """Test batches that hold about as many frames as a training batch."""
    if test_chunk_size <= train_chunk_size:
        return batch_size
    return max(1, batch_size * train_chunk_size // test_chunk_size)


def multiple_movies_dataloaders(
    neuron_data_dictionary: dict[str, Any],
    movies_dictionary: dict[str, Any],
    train_chunk_size: int = 50,
    batch_size: int = 32,
    seed: int = 42,
    clip_length: int = 100,
    num_val_clips: int = 10,
    val_clip_indices: list[int] | None = None,
    allow_over_boundaries: bool = True,
    *,
    nan_policy: str = "raise",
    distributed: bool | None = None,
    **dataloader_kwargs: Any,
) -> dict[str, dict[str, DataLoader]]:
    """Train, validation and test dataloaders for every session.

    Parameters are openretina 1.1.1's. Validation clips are drawn per session with
    ``np.random.RandomState(seed).choice(num_clips, num_val_clips, replace=False)``
    (the same clips as openretina) unless ``val_clip_indices`` is given. Every session
    is checked before any DataLoader is built, and so are the numbers given: sizes,
    lengths and ``num_val_clips`` of at least 1, ``val_clip_indices`` naming clips of every
    session's training movie (:class:`~openretina_data.errors.DataValidationError` or
    :class:`~openretina_data.errors.ShapeError` naming the argument and the session).
    Extra keyword-only arguments:
    ``nan_policy``, ``distributed``, ``normalize_on`` (see :func:`get_movie_dataloader`) and keyword
    arguments for ``torch.utils.data.DataLoader`` (``num_workers=4``, say).

    Returns
    -------
    dict
        ``{"train": {session: DataLoader}, "validation": {...}, <test name>: {...}}``
        (one key per test stimulus; openretina's single one is called "test").
    """
    check_nan_policy(nan_policy)
    check_loader_arguments(
        train_chunk_size,
        batch_size,
        clip_length,
        num_val_clips,
        val_clip_indices,
        dataloader_kwargs.get("num_workers", 0),
    )
    check_sessions_match(neuron_data_dictionary, movies_dictionary)
    val_counts = len(val_clip_indices) if val_clip_indices is not None else num_val_clips
    for session, responses in neuron_data_dictionary.items():
        check_session(
            session,
            responses,
            movies_dictionary[session],
            clip_length,
            val_counts,
            None if val_clip_indices is None else list(val_clip_indices),
        )

    plans = []
    for session, responses in neuron_data_dictionary.items():
        train_movie, test_movies = _session_movies(movies_dictionary[session])
        num_clips = train_movie.n_frames // clip_length
        if val_clip_indices is not None:
            val_clips = list(val_clip_indices)
        else:
            val_clips = list(
                np.random.RandomState(seed).choice(num_clips, num_val_clips, replace=False)
            )
        train, validation, tests = generate_movie_splits(
            train_movie, test_movies, val_clips, num_clips, clip_length
        )
        neurons = NeuronDataSplit(responses, val_clips, num_clips, clip_length)
        if nan_policy == "raise":
            check_responses_finite(
                neurons.responses_train_and_val, "training responses", session, "raise"
            )
        check_chunk_fits(train.n_frames, train_chunk_size, "the training split", session)
        check_enough_training_samples(
            -(-train.n_frames // train_chunk_size),
            train.n_frames,
            train_chunk_size,
            batch_size,
            session,
            detail=f" ({num_clips} clips of {clip_length} minus {len(val_clips)} for validation)",
        )
        plans.append((session, train, validation, tests, neurons))

    common = {
        "nan_policy": nan_policy,
        "distributed": distributed,
        "seed": seed,
        "allow_over_boundaries": allow_over_boundaries,
        "scene_length": clip_length,
        **dataloader_kwargs,
    }
    dataloaders: dict[str, dict[str, DataLoader]] = collections.defaultdict(dict)
    for session, train, validation, tests, neurons in plans:
        for fold, movie, chunk in (
            ("train", train, train_chunk_size),
            ("validation", validation, clip_length),
        ):
            dataloaders[fold][session] = get_movie_dataloader(
                movie,
                neurons.response_dict[fold],
                split=fold,
                chunk_size=chunk,
                batch_size=batch_size,
                session=session,
                **common,
            )
        test_responses = neurons.response_dict["test"]
        for name, test_movie in tests.items():
            test_chunk = test_movie.n_frames if allow_over_boundaries else clip_length
            dataloaders[name][session] = get_movie_dataloader(
                test_movie,
                test_responses[name],
                split="test",
                chunk_size=test_chunk,
                batch_size=_test_batch_size(batch_size, train_chunk_size, test_chunk),
                session=session,
                **common,
            )
    return dataloaders
