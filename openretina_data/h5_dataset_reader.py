"""Read a native dataset folder into train/test splits — openretina 1.1.1's reader, fixed.

Drop-in for ``openretina.data_io.h5_dataset_reader``: :func:`load_stimuli`,
:func:`load_responses` and :class:`TrainTestStimuliProcessor` take the same
arguments and, on valid data, return equal arrays (stimuli z-scored to float32
with the given ``norm_mean``/``norm_std``; training stimuli joined on time in
sorted name order; sessions keyed by file stem).

Fixed (DESIGN.md §7), each with a regression test:

* a stimulus that exists only inside a session file (``stimulus_<stim>``) works
  (openretina: ``KeyError``), and is read in one go instead of element by element;
* a session file without responses is skipped with a warning by both loaders
  (openretina: ``load_responses`` crashes);
* a session with no training stimulus, no test stimulus, or an empty
  ``test_names`` is a clear error naming the session;
* a stimulus and its responses of different lengths, and responses stored
  (time, neurons), are errors naming session, stimulus and both lengths;
* an unreadable or wrongly shaped ``.npy`` that no session needs only warns;
  stimuli are loaded only when a session needs them;
* NaN/Inf in responses (and in-memory stimuli) is an error naming session and key;
* ``s0.h5`` next to ``s0.hdf5`` is an error, not one overwriting the other;
* a test stimulus named ``train``/``validation`` is an error;
* nested, attribute and string ``session_info`` are read (see
  :func:`openretina_data._h5_session.read_session_info`);
* ``test_by_trial_<stim>`` of a test stimulus is loaded into ``test_by_trial_dict``
  (openretina ignores it).

Memory: shared stimuli are always opened as read-only memory maps, so raw frames sit
in the (reclaimable) page cache and each session holds only its normalised float32
movies — no raw copy, no float64 or torch temporaries (openretina: about
sessions + 3 copies at peak).

``load_stimuli(..., mmap=True)`` goes further and returns :class:`~openretina_data.movie_view.NormalizedMovie` views in place of
float32 copies: nothing is read until a dataloader slices the movie, and
normalisation happens on those slices. Session-specific stimuli live inside HDF5
files and are read into RAM (that is the one read ``mmap`` forces). Movies are
never resized: ``stimulus_size`` is checked against each shape, as in openretina.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import h5py
import numpy as np

from openretina_data._h5_checks import (
    check_arguments,
    check_lengths,
    check_stimulus_size,
    frames_by_stimulus,
    open_shared_stimuli,
    require_train_and_test,
    sessions_with_responses,
    stimuli_the_card_vouches_for,
)
from openretina_data._h5_session import (
    RESPONSES_PREFIX,
    STIMULUS_PREFIX,
    TEST_BY_TRIAL_PREFIX,
    SessionContents,
    npy_shape,
    read_session_info,
    stimulus_files,
)
from openretina_data.array_checks import holds_values_in_memory, require_finite
from openretina_data.base import (
    MoviesTrainTestSplit,
    ResponsesTrainTestSplit,
)
from openretina_data.errors import (
    DataValidationError,
    MissingKeyError,
    NonFiniteError,
    OpenRetinaDataError,
    ShapeError,
)
from openretina_data.frames import FramePart
from openretina_data.movie_view import NormalizedMovie


@contextmanager
def _located(session: str | None, path: str) -> Iterator[None]:
    """Fill in session and file on our errors raised inside the block."""
    try:
        yield
    except OpenRetinaDataError as error:
        error.session = error.session or session
        error.path = error.path or path
        raise


class TrainTestStimuliProcessor:
    """Turns a session's stimulus names into a normalised :class:`MoviesTrainTestSplit`.

    Parameters
    ----------
    test_stimuli
        Names of the test stimuli; every other stimulus is training.
    name_to_stimulus
        Shared stimuli by name, each (channels, time, height, width), any numeric dtype.
    norm_mean, norm_std
        Normalisation statistics in stimulus units; None means 0 and 1.
    train_stimuli
        Accepted for compatibility; unused, as in openretina 1.1.1.
    lazy
        Return :class:`NormalizedMovie` views (normalised on read) instead of float32 arrays.
        Their frames on disk are checked for NaN/Inf batch by batch as they are read,
        except the stimuli named in ``finite_stimuli``; session-specific stimuli (in RAM)
        are checked here.
    finite_stimuli
        Shared stimuli known to hold no NaN/Inf (a dataset card that matches their files
        says so), so lazy reads of them skip the per-batch check.
    """

    def __init__(
        self,
        test_stimuli: Iterable[str],
        name_to_stimulus: Mapping[str, Any],
        norm_mean: float | None,
        norm_std: float | None,
        train_stimuli: Iterable[str] | None = None,
        *,
        lazy: bool = False,
        finite_stimuli: Iterable[str] = (),
    ) -> None:
        self._test_stimuli = set(test_stimuli)
        self._name_to_stimulus = name_to_stimulus
        self._norm_mean = 0.0 if norm_mean is None else norm_mean
        self._norm_std = 1.0 if norm_std is None else norm_std
        self._train_stimuli = set(train_stimuli) if train_stimuli is not None else None
        self._lazy = lazy
        self._finite_stimuli = frozenset(finite_stimuli)

    def _stimulus(self, name: str, session_specific: Mapping[str, Any], session: str | None) -> Any:
        if name in session_specific:
            stimulus = session_specific[name]
            return stimulus[()] if isinstance(stimulus, h5py.Dataset) else stimulus
        if name in self._name_to_stimulus:
            return self._name_to_stimulus[name]
        raise MissingKeyError(
            f"no stimulus {name!r}: neither stimuli/{name}.npy nor a session-specific "
            f"{STIMULUS_PREFIX}{name} exists",
            key=name,
            session=session,
            hint=f"Add stimuli/{name}.npy, or store the movie as {STIMULUS_PREFIX}{name} in the session file.",
        )

    def _normalise_into(self, stimulus: Any, out: np.ndarray) -> None:
        np.subtract(stimulus, np.float32(self._norm_mean), out=out, dtype=np.float32)
        out /= np.float32(self._norm_std)

    def _normalised(self, stimulus: Any) -> np.ndarray:
        out = np.empty(stimulus.shape, dtype=np.float32)
        self._normalise_into(stimulus, out)
        return out

    def process(
        self,
        stimulus_names: Iterable[str],
        session_specific_stimuli: Mapping[str, Any],
        *,
        session: str | None = None,
    ) -> MoviesTrainTestSplit:
        """Normalise and split one session's stimuli; training ones are joined on time in order.

        Parameters
        ----------
        stimulus_names
            The stimuli the session has responses to, in the order to join them.
        session_specific_stimuli
            Movies stored in the session file (arrays or ``h5py.Dataset``); they win over
            the shared stimuli of the same name.
        session
            Session name, for messages.

        Returns
        -------
        MoviesTrainTestSplit
            ``train_joins`` records where one training stimulus ends and the next begins,
            so the dataloaders can keep chunks inside one stimulus.

        Raises
        ------
        MissingKeyError
            A stimulus is neither shared nor session-specific.
        DataValidationError
            The session has no training or no test stimulus.
        """
        names = list(stimulus_names)
        stimuli = {name: self._stimulus(name, session_specific_stimuli, session) for name in names}
        train_names = [n for n in names if n not in self._test_stimuli]
        test_names = [n for n in names if n in self._test_stimuli]
        require_train_and_test(train_names, test_names, sorted(self._test_stimuli), session)
        if self._lazy:
            parts = {n: self._lazy_part(n, stimuli[n], session) for n in names}
            train: Any = NormalizedMovie(
                [parts[n] for n in train_names], self._norm_mean, self._norm_std, train_names
            )
            tests: dict[str, Any] = {
                n: NormalizedMovie([parts[n]], self._norm_mean, self._norm_std, [n])
                for n in test_names
            }
        else:
            train = self._joined_train(stimuli, train_names, session)
            tests = {n: self._normalised(stimuli[n]) for n in test_names}
        try:
            split = MoviesTrainTestSplit(
                train, tests, norm_mean=self._norm_mean, norm_std=self._norm_std
            )
        except NonFiniteError as error:
            _raise_for_first_non_finite(stimuli, train_names + test_names, session)
            raise error
        starts = np.cumsum([int(stimuli[n].shape[1]) for n in train_names])[:-1]
        return split.mark_train_joins(starts.tolist())

    def _lazy_part(self, name: str, stimulus: Any, session: str | None) -> FramePart:
        """``stimulus`` as a part of a lazy movie: checked now if in RAM, per batch if on disk
        and not vouched for by the card."""
        if holds_values_in_memory(stimulus):
            require_finite(
                stimulus, what=f"stimulus {name!r}", time_axis=1, key=name, session=session
            )
            return FramePart(stimulus, verify_finite=False, name=name)
        return FramePart(stimulus, verify_finite=name not in self._finite_stimuli, name=name)

    def _joined_train(
        self, stimuli: Mapping[str, Any], train_names: list[str], session: str | None
    ) -> np.ndarray:
        shapes = {n: tuple(stimuli[n].shape) for n in train_names}
        frame_shapes = {(s[0], *s[2:]) for s in shapes.values() if len(s) == 4}
        if len(frame_shapes) != 1 or any(len(s) != 4 for s in shapes.values()):
            raise ShapeError(
                f"training stimuli cannot be joined on time: shapes {shapes}",
                session=session,
                hint="Every stimulus must be (channels, time, height, width) with the same channels and frame size.",
            )
        channels, height, width = frame_shapes.pop()
        total = sum(s[1] for s in shapes.values())
        train = np.empty((channels, total, height, width), dtype=np.float32)
        start = 0
        for name in train_names:
            stop = start + shapes[name][1]
            self._normalise_into(stimuli[name], train[:, start:stop])
            start = stop
        return train


def _raise_for_first_non_finite(
    stimuli: Mapping[str, Any], names: list[str], session: str | None
) -> None:
    """On the error path only: find which stimulus holds the NaN/Inf and name it."""
    for name in names:
        require_finite(
            np.asarray(stimuli[name]),
            what=f"stimulus {name!r}",
            time_axis=1,
            key=name,
            session=session,
        )


def load_stimuli(
    base_data_path: str | os.PathLike[str],
    test_names: Iterable[str],
    stimulus_size: list[int],
    norm_mean: float | None,
    norm_std: float | None,
    *,
    mmap: bool = False,
) -> dict[str, MoviesTrainTestSplit]:
    """Stimulus movies of every session, normalised, split into train and test.

    Parameters
    ----------
    base_data_path
        The dataset folder (``stimuli/*.npy`` and one ``<session>.hdf5`` per session).
    test_names
        Names of the test stimuli; every other stimulus a session has responses to is training.
    stimulus_size
        ``[channels, height, width]`` every movie must have (checked, never resized).
    norm_mean, norm_std
        Statistics in stimulus units; movies become ``(movie - norm_mean) / norm_std`` float32.
        None means 0 and 1.
    mmap
        Return lazily normalised :class:`~openretina_data.movie_view.NormalizedMovie`
        views over memory maps (no copy in RAM). Their values are not scanned for NaN/Inf
        here: a dataset card (``openretina_data.json``) that matches a stimulus file vouches
        for it (and one that recorded NaN/Inf in a needed stimulus raises
        :class:`~openretina_data.errors.NonFiniteError` now); every other stimulus is checked
        batch by batch as the dataloaders read it, raising ``NonFiniteError`` naming its
        file and frames.

    Returns
    -------
    dict[str, MoviesTrainTestSplit]
        By session name (file stem): ``train`` (channels, train_time, height, width) with the
        training stimuli joined in sorted name order; ``test_dict`` by test stimulus name;
        ``train_joins`` the frames of ``train`` where one training stimulus ends and the next
        begins (``multiple_movies_dataloaders(..., allow_over_boundaries=False)`` keeps
        training chunks from crossing them).
    """
    names = check_arguments(base_data_path, test_names)
    if len(stimulus_size) != 3:
        raise DataValidationError(
            "Stimulus size should contain the channels, height and width, but was "
            f"stimulus_size={list(stimulus_size)}",
            hint="Pass three numbers, e.g. stimulus_size=[2, 18, 16].",
        )
    size = (int(stimulus_size[0]), int(stimulus_size[1]), int(stimulus_size[2]))
    sessions = sessions_with_responses(base_data_path)
    shared = open_shared_stimuli(base_data_path, sessions, size)
    trusted = stimuli_the_card_vouches_for(base_data_path, shared) if mmap else set()
    processor = TrainTestStimuliProcessor(
        names, shared, norm_mean, norm_std, lazy=mmap, finite_stimuli=trusted
    )
    shared_frames = {name: int(array.shape[1]) for name, array in shared.items()}
    result = {}
    for contents in sessions:
        with _located(contents.name, contents.path), h5py.File(contents.path, "r") as file:
            own_names = [n for n in contents.stimuli if n in contents.responses]
            for name in own_names:
                check_stimulus_size(
                    contents.stimuli[name], size, f"{contents.path}/{STIMULUS_PREFIX}{name}"
                )
            check_lengths(contents, frames_by_stimulus(contents, shared_frames))
            own = {n: file[STIMULUS_PREFIX + n][()] for n in own_names}
            result[contents.name] = processor.process(
                contents.responses, own, session=contents.name
            )
    return result


def _read_responses(file: h5py.File, contents: SessionContents, stimulus: str) -> np.ndarray:
    key = RESPONSES_PREFIX + stimulus
    dataset = file[key]
    if dataset.dtype.kind not in "biuf":
        raise DataValidationError(
            f"responses to {stimulus!r} hold {dataset.dtype} values, not real numbers",
            path=contents.path,
            key=key,
            session=contents.name,
            hint="Store responses as float32 (neurons, time).",
        )
    values = np.asarray(dataset[()])
    require_finite(
        values, what=f"responses to {stimulus!r}", time_axis=1, path=contents.path, key=key
    )
    return values


def load_responses(
    base_data_path: str | os.PathLike[str], test_names: Iterable[str]
) -> dict[str, ResponsesTrainTestSplit]:
    """Responses of every session, split into train and test like :func:`load_stimuli`.

    Parameters
    ----------
    base_data_path
        The dataset folder.
    test_names
        Names of the test stimuli.

    Returns
    -------
    dict[str, ResponsesTrainTestSplit]
        By session name: ``train`` (neurons, train_time) joined in sorted stimulus order,
        ``test_dict`` (neurons, test_time) by name, ``test_by_trial_dict`` (trials, neurons,
        test_time) where the file has ``test_by_trial_<stim>``, and ``session_kwargs`` from
        ``session_info``.
    """
    test_set = set(check_arguments(base_data_path, test_names))
    sessions = sessions_with_responses(base_data_path)
    stimulus_lengths = {
        name: shape[1]
        for name, path in stimulus_files(base_data_path).items()
        if (shape := npy_shape(path)) is not None and len(shape) == 4
    }
    result = {}
    for contents in sessions:
        with _located(contents.name, contents.path), h5py.File(contents.path, "r") as file:
            check_lengths(contents, frames_by_stimulus(contents, stimulus_lengths))
            train_names = [s for s in contents.responses if s not in test_set]
            test_stimuli = [s for s in contents.responses if s in test_set]
            require_train_and_test(train_names, test_stimuli, sorted(test_set), contents.name)
            counts = {s: contents.responses[s][0] for s in contents.responses}
            if len(set(counts.values())) > 1:
                train_counts = {counts[s] for s in train_names}
                lead = (  # openretina's sentence where it would detect the mistake
                    "Train responses and test responses have a different number of neurons: "
                    if len(train_counts) == 1
                    else ""
                )
                raise ShapeError(
                    f"{lead}responses have different neuron counts per stimulus: {counts}",
                    hint="Every responses_<stim> of a session must hold the same neurons, in the same order.",
                )
            train = np.concatenate(
                [_read_responses(file, contents, s) for s in train_names], axis=-1
            )
            tests = {s: _read_responses(file, contents, s) for s in test_stimuli}
            trials = {
                s: np.asarray(file[TEST_BY_TRIAL_PREFIX + s][()])
                for s in test_stimuli
                if s in contents.trials
            }
            session_kwargs = read_session_info(file, contents.name, contents.path)
            result[contents.name] = ResponsesTrainTestSplit(
                train, tests, test_by_trial_dict=trials, session_kwargs=session_kwargs
            )
    return result
