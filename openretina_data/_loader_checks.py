"""Checks that run before any DataLoader is built: one clear error per problem.

Each check names the session and says what to do. They look at shapes, dtypes and
the responses (small); they never read a whole stimulus movie.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from openretina_data.base import RESERVED_SPLIT_NAMES
from openretina_data.errors import (
    DataValidationError,
    InvalidNameError,
    NonFiniteError,
    SessionMismatchError,
    ShapeError,
)

NAN_POLICIES = ("raise", "exclude")


def check_nan_policy(nan_policy: str) -> None:
    """``nan_policy`` must be one of :data:`NAN_POLICIES`."""
    if nan_policy not in NAN_POLICIES:
        raise DataValidationError(
            f"nan_policy={nan_policy!r} is not one of {NAN_POLICIES}",
            hint="Use 'raise' (default) or 'exclude' to leave chunks with NaN responses out.",
        )


def check_positive_int(
    value: Any, name: str, hint: str, session: str | None = None, *, minimum: int = 1
) -> None:
    """``value`` (the argument called ``name``) must be an integer of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise DataValidationError(
            f"{name}={value!r}; it must be a whole number of at least {minimum}",
            session=session,
            hint=hint,
        )


def check_loader_arguments(
    train_chunk_size: Any,
    batch_size: Any,
    clip_length: Any,
    num_val_clips: Any,
    val_clip_indices: Any,
    num_workers: Any = 0,
) -> None:
    """The numbers given to ``multiple_movies_dataloaders``, before any session is looked at."""
    check_positive_int(
        num_workers,
        "num_workers",
        "Pass 0 to read in the main process, or the number of worker processes.",
        minimum=0,
    )
    check_positive_int(
        train_chunk_size, "train_chunk_size", "Pass the frames per training sample, e.g. 50."
    )
    check_positive_int(batch_size, "batch_size", "Pass the samples per batch, e.g. 32.")
    check_positive_int(clip_length, "clip_length", "Pass the frames per validation clip, e.g. 100.")
    if val_clip_indices is None:
        check_positive_int(
            num_val_clips,
            "num_val_clips",
            "Hold out at least one clip for validation, e.g. num_val_clips=10.",
        )
        return
    indices = list(val_clip_indices)
    if not indices:
        raise DataValidationError(
            "val_clip_indices is empty, so the validation split would have no clip",
            hint="List at least one clip number, or pass val_clip_indices=None to draw "
            "num_val_clips clips at random.",
        )
    for index in indices:
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise DataValidationError(
                f"val_clip_indices holds {index!r}; clip numbers must be whole numbers",
                hint="List clip numbers 0, 1, 2, ... (clip i is frames i * clip_length "
                "to (i + 1) * clip_length).",
            )


def check_val_clips_exist(
    val_clip_indices: list[int], n_clips: int, clip_length: int, session: str
) -> None:
    """Each validation clip number must name one of the ``n_clips`` clips of the session."""
    outside = [int(i) for i in val_clip_indices if not 0 <= int(i) < n_clips]
    if outside:
        raise ShapeError(
            f"val_clip_indices {outside} are not clips of the training movie, which has "
            f"{n_clips} clips of {clip_length} frames (numbers 0 to {n_clips - 1})",
            session=session,
            hint=f"Pick clip numbers between 0 and {n_clips - 1}, or pass "
            "val_clip_indices=None to draw num_val_clips clips at random.",
        )


def dtype_of(array: Any) -> np.dtype:
    """The numpy dtype of an array, memmap, h5py dataset or torch tensor."""
    dtype = getattr(array, "dtype", None)
    if dtype is not None and type(array).__module__.startswith("torch"):
        return np.dtype(str(dtype).removeprefix("torch."))
    return np.dtype(dtype) if dtype is not None else np.asarray(array).dtype


def check_real_dtype(array: Any, what: str, session: str | None) -> None:
    """Float or integer values only (no bool, complex, strings or objects)."""
    dtype = dtype_of(array)
    if dtype == np.bool_ or not (
        np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.integer)
    ):
        raise DataValidationError(
            f"{what} has dtype {dtype}; expected float or integer numbers",
            session=session,
            hint=f"Convert {what} to float32 (stimuli may also be uint8).",
        )


def check_responses_finite(
    responses: np.ndarray, what: str, session: str | None, nan_policy: str
) -> np.ndarray | None:
    """Frames (rows of ``responses`` (time, neurons)) with a NaN/Inf, or raise.

    Returns None when every value is finite, else the ``(time,)`` bool mask of bad
    frames when ``nan_policy == "exclude"``.
    """
    bad = ~np.isfinite(responses)
    if not bad.any():
        return None
    frames = bad.reshape(bad.shape[0], -1).any(axis=1)
    if nan_policy == "exclude":
        return frames
    first = int(np.flatnonzero(frames)[0])
    raise NonFiniteError(
        f"{what} contain NaN/Inf in {int(frames.sum())} frames (first at frame {first}); "
        "openretina 1.1.1 would silently return None for this dataloader",
        session=session,
        hint="Interpolate or remove the bad values, or pass nan_policy='exclude' to skip "
        "every chunk that contains one.",
    )


def check_chunk_fits(n_frames: int, chunk_size: int, what: str, session: str | None) -> None:
    """``chunk_size`` must be positive and no longer than the ``n_frames`` of ``what``."""
    if chunk_size < 1:
        raise DataValidationError(
            f"chunk_size is {chunk_size}; it must be at least 1 frame",
            session=session,
            hint="Pass a positive chunk_size.",
        )
    if n_frames < chunk_size:
        raise ShapeError(
            f"{what} has {n_frames} frames, fewer than one chunk of {chunk_size}; "
            f"it must be at least {chunk_size} frames long",
            session=session,
            hint=f"Use a chunk size of at most {n_frames} frames, or longer recordings.",
        )


def check_enough_training_samples(
    n_samples: int,
    n_frames: int,
    chunk_size: int,
    batch_size: int,
    session: str | None,
    detail: str = "",
) -> None:
    """A training split must give at least one full batch (batches drop the last partial one)."""
    if n_samples < batch_size:
        raise ShapeError(
            f"the training split has {n_frames} frames{detail}: {n_samples} chunks of "
            f"{chunk_size}, fewer than one batch of {batch_size}, so an epoch would have 0 batches; "
            f"it needs at least {(batch_size - 1) * chunk_size + 1} training frames",
            session=session,
            hint="Lower batch_size or num_val_clips, or use more training data.",
        )


def check_sessions_match(responses: Mapping[str, Any], movies: Mapping[str, Any]) -> None:
    """The two dictionaries must have the same sessions, and at least one."""
    only_responses = sorted(set(responses) - set(movies))
    only_movies = sorted(set(movies) - set(responses))
    if only_responses or only_movies:
        raise SessionMismatchError(  # an AssertionError in openretina, with this sentence
            "The keys of neuron_data_dictionary and movies_dictionary should match exactly. "
            "They have different sessions: "
            f"only in responses {only_responses}, only in movies {only_movies}",
            session=(only_responses + only_movies)[0],
            hint="Load stimuli and responses from the same folder, or drop the unmatched sessions.",
        )
    if not responses:
        raise DataValidationError(
            "no sessions were given", hint="Pass at least one session in each dictionary."
        )


def check_session(
    session: str,
    responses: Any,
    movies: Any,
    clip_length: int,
    n_val_clips: int,
    val_clip_indices: list[int] | None = None,
) -> None:
    """Shapes, dtypes and lengths of one session's ``ResponsesTrainTestSplit``/``MoviesTrainTestSplit``,
    and that its training movie holds the validation clips (``val_clip_indices`` when given)
    and one training clip."""
    train_movie, train_responses = movies.train, responses.train
    check_real_dtype(train_movie, "the training movie", session)
    check_real_dtype(train_responses, "the training responses", session)
    if len(train_movie.shape) != 4:
        raise ShapeError(
            f"the training movie has shape {tuple(train_movie.shape)}; expected "
            "(channels, time, height, width)",
            session=session,
            hint="Add a channel axis, e.g. movie[None].",
        )
    if len(train_responses.shape) != 2 or 0 in train_responses.shape:
        raise ShapeError(
            f"the training responses have shape {tuple(train_responses.shape)}; expected a "
            "non-empty (neurons, time) array",
            session=session,
            hint="Give one row per neuron and one column per frame.",
        )
    movie_frames, response_frames = int(train_movie.shape[1]), int(train_responses.shape[1])
    if movie_frames != response_frames:
        flipped = int(train_responses.shape[0]) == movie_frames
        raise ShapeError(
            f"the training movie has {movie_frames} frames but the training responses "
            f"have {response_frames}",
            session=session,
            hint="Transpose the responses to (neurons, time)."
            if flipped
            else "Trim or re-bin so stimulus and responses have one value per frame.",
        )
    if set(movies.test_dict) != set(responses.test_dict):
        raise InvalidNameError(
            f"test stimuli differ: movies have {sorted(movies.test_dict)}, responses have "
            f"{sorted(responses.test_dict)}",
            session=session,
            hint="Give every test stimulus both a movie and responses.",
        )
    for name, test_movie in movies.test_dict.items():
        check_real_dtype(test_movie, f"test movie {name!r}", session)
        test_responses = responses.test_dict[name]
        check_real_dtype(test_responses, f"test responses {name!r}", session)
        if int(test_movie.shape[1]) != int(test_responses.shape[-1]):
            raise ShapeError(
                f"test movie {name!r} has {test_movie.shape[1]} frames but its responses "
                f"have {test_responses.shape[-1]}",
                session=session,
                hint="Trim or re-bin so stimulus and responses have one value per frame.",
            )
    for name in movies.test_dict:
        if name in RESERVED_SPLIT_NAMES:
            raise InvalidNameError(
                f"a test stimulus is called {name!r}, which would replace the {name} dataloaders",
                session=session,
                hint="Rename the test stimulus (e.g. 'test').",
            )
    n_clips = movie_frames // clip_length
    if n_clips < n_val_clips + 1:
        needed = (n_val_clips + 1) * clip_length
        raise ShapeError(
            f"the training movie has {movie_frames} frames = {n_clips} clips of {clip_length}; "
            f"{n_val_clips} validation clips leave no training clip: it must be at least "
            f"{needed} frames long ({n_val_clips + 1} clips of {clip_length})",
            session=session,
            hint="Lower num_val_clips or clip_length, or use a longer training movie.",
        )
    if val_clip_indices is not None:
        check_val_clips_exist(val_clip_indices, n_clips, clip_length, session)


def check_response_rows(shape: tuple[int, ...], n_frames: int, session: str | None) -> None:
    """Responses handed to ``get_movie_dataloader`` are (time, neurons), one row per frame."""
    if len(shape) == 2 and shape[0] >= n_frames and shape[1] > 0:
        return
    flipped = len(shape) == 2 and shape[1] == n_frames
    raise ShapeError(
        f"responses have shape {shape}; expected (time, neurons) with at least the movie's "
        f"{n_frames} frames",
        session=session,
        hint="Transpose the responses: get_movie_dataloader takes (time, neurons)."
        if flipped
        else "Give one row of responses per movie frame.",
    )


def check_chunk_in_scene(chunk_size: int, scene_length: int, session: str | None) -> None:
    """Chunks kept inside scenes must fit in one (``chunk_size <= scene_length``)."""
    if chunk_size > scene_length:
        raise ShapeError(  # openretina's sentence first
            "Clip chunk size must be smaller than scene length to not exceed clip bounds during "
            f"training. chunk_size {chunk_size} is longer than scene_length {scene_length}, so "
            "training chunks cannot stay inside a scene",
            session=session,
            hint="Use a chunk_size of at most scene_length, or allow_over_boundaries=True.",
        )


def check_any_left(start_indices: list[int], split: str, session: str | None) -> None:
    """After leaving out chunks with NaN responses, ``split`` must still serve one."""
    if not start_indices:
        raise NonFiniteError(
            f"every {split} chunk contains NaN responses",
            session=session,
            hint="Fix the responses; nan_policy='exclude' left nothing to serve.",
        )
