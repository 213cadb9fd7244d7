"""Lazy views of a recipe's stimuli and responses: the API for viewers and notebooks.

A viewer (the wizard's preview, a notebook) looks at a recording before it is
converted. Everything here reads lazily — one frame, one window of frames — so a
long recording is never loaded whole.

>>> from openretina_data.preview import open_stimulus, open_responses
>>> movie = open_stimulus(recipe, "natural", session="session_01")  # doctest: +SKIP
>>> movie[0, 100].shape  # channel 0, frame 100: (height, width)  # doctest: +SKIP
>>> movie.close()  # doctest: +SKIP
>>> reader = open_responses(recipe, session, source_index=0)  # doctest: +SKIP
>>> reader.read(0, 300).shape  # (neurons, 300 frames)  # doctest: +SKIP
>>> reader.close()  # doctest: +SKIP

Only this module's names are the public surface; it is implemented on the
converter's readers (``convert_io``, ``responses_io``), which may change.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from openretina_data.convert_io import MovieAxes, open_array
from openretina_data.recipe import Recipe, SessionSpec
from openretina_data.responses_io import (
    ResponseReader,
    SourceTiming,
    frame_times_for,
    open_response_reader,
)

__all__ = ["ResponseReader", "StimulusView", "open_responses", "open_stimulus", "stimulus_frames"]


class StimulusView:
    """A stored movie (any axis order) seen as ``(channels, time, height, width)``, read lazily.

    Parameters
    ----------
    array
        A lazy array (``.shape``, ``.dtype``, numpy-style slicing): an ``h5py`` dataset,
        a memory map, a source reader's array.
    axes
        One letter per stored axis from ``c t h w`` (``c`` optional), e.g. ``"thw"``.
    stop
        See at most this many frames (e.g. the frames left after a lag).

    Notes
    -----
    Supports ``view[c, t]`` (one frame, ``(h, w)`` float32), ``view[c, t0:t1]``
    (``(n, h, w)``) and ``view[:, t0:t1]`` (``(c, n, h, w)``); only those frames are read.
    """

    def __init__(self, array: Any, axes: str, stop: int | None = None) -> None:
        self.array = array
        self._axes = MovieAxes.check(axes, tuple(array.shape), where="axes")
        c, t, h, w = self._axes.out_shape
        self.shape = (c, t if stop is None else min(t, stop), h, w)
        self.dtype = np.dtype(getattr(array, "dtype", np.float32))
        self.reader: Any = None  # the file reader, when open_stimulus opened the file

    def close(self) -> None:
        """Close the file :func:`open_stimulus` opened (nothing otherwise)."""
        if self.reader is not None:
            self.reader.close()
            self.reader = None

    @property
    def axes(self) -> str:
        """The stored axis order, e.g. ``"thw"``."""
        return self._axes.axes

    def __getitem__(self, index: tuple[Any, Any]) -> np.ndarray:
        channel, t = index
        if isinstance(t, slice):
            start, stop, _ = t.indices(self.shape[1])
            block = self._axes.read(self.array, start, max(start, stop)).astype(np.float32)
            return block[channel]
        return self.frame(int(t), int(channel))

    def frame(self, t: int, channel: int = 0) -> np.ndarray:
        """Frame ``t`` of ``channel`` as ``(height, width)`` float32; only it is read."""
        index: list[Any] = []
        kept: list[str] = []
        for letter in self.axes:
            if letter == "t":
                index.append(int(t))
            elif letter == "c":
                index.append(int(channel))
            else:
                index.append(slice(None))
                kept.append(letter)
        frame = np.asarray(self.array[tuple(index)], dtype=np.float32)
        return frame if kept == ["h", "w"] else frame.T


def open_stimulus(recipe: Recipe, name: str, *, session: str | None = None) -> StimulusView:
    """The stimulus ``name`` of ``recipe`` as a lazy ``(c, t, h, w)`` view.

    Parameters
    ----------
    session
        Fills ``{session}`` in a per-session stimulus path; required for those.

    Returns
    -------
    StimulusView
        ``close()`` it when done (it holds the file open).

    Raises
    ------
    RecipeError, SourceNotFoundError, UnreadableSourceError, ShapeError
        Unknown stimulus, missing or unreadable file, axes that do not fit the array.
    """
    spec = recipe.stimulus(name)
    path = spec.path if session is None else spec.path.replace("{session}", session)
    reader, array = open_array(recipe.resolve(path), spec.key, spec.format, session=session)
    try:
        view = StimulusView(array, spec.axes)
    except Exception:
        reader.close()
        raise
    view.reader = reader
    return view


def stimulus_frames(recipe: Recipe) -> dict[str, int]:
    """Frames of every stored stimulus (headers only), plus the recipe's ``lag_frames``.

    This is what a response source's epochs are counted in.
    """
    from openretina_data.plan import plan

    checked = plan(recipe, overwrite=True)
    return {s.name: s.shape[1] + recipe.lag_frames for s in checked.stimuli if s.shape is not None}


def open_responses(
    recipe: Recipe,
    session: SessionSpec,
    source_index: int = 0,
    *,
    frames: dict[str, int] | None = None,
) -> ResponseReader:
    """A lazy reader of one response source of ``session``, per stimulus frame.

    Spikes are binned and traces resampled on the source's frame times (found in its
    trigger channel or file: a scan of that channel, so call this off a UI thread).

    Parameters
    ----------
    session
        One of ``expand_sessions(recipe)``.
    source_index
        Which of ``session.responses``.
    frames
        :func:`stimulus_frames` of the recipe, if already known (it reads file headers).

    Returns
    -------
    ResponseReader
        ``n_neurons`` and ``read(f0, f1) -> (neurons, f1 - f0)`` float32 on the recording's
        frame clock (epoch after epoch, as ``session.responses[source_index].epochs``
        list them); ``close()`` it when done.
    """
    sources = session.responses
    if not 0 <= source_index < len(sources):
        from openretina_data.errors import RecipeError

        raise RecipeError(
            f"session has {len(sources)} response source(s); there is no source {source_index}",
            session=session.name,
            hint=f"Pass a source_index from 0 to {len(sources) - 1}.",
        )
    needed = stimulus_frames(recipe) if frames is None else frames
    reader, _times = open_response_reader(
        sources[source_index], recipe, needed, session=session.name
    )
    return reader


def source_timing(
    recipe: Recipe,
    session: SessionSpec,
    source_index: int = 0,
    *,
    frames: dict[str, int] | None = None,
) -> SourceTiming | None:
    """The frame times of one response source matched to its epochs, with their report.

    ``None`` for binned responses (they have no frame times). Raises the same
    :class:`~openretina_data.errors.TimingError` as plan and convert (pauses inside an
    epoch, counts that do not match, a rate that is off), so the wizard shows what the
    conversion would say.
    """
    source = session.responses[source_index]
    if source.kind == "binned":
        return None
    needed = stimulus_frames(recipe) if frames is None else frames
    return frame_times_for(source, recipe, needed, session=session.name)
