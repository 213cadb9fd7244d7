"""Deterministic synthetic datasets in layout v1, like ``openretina create-data`` but seeded.

Names and default sizes follow openretina 1.1.1's ``create-data``: stimuli
``stimuli/random_noise_<i>.npy`` of shape ``(num_colors, (70 + i) * clip_length, 16, 8)``
with Gaussian white noise, sessions ``session_<j>.hdf5`` with 10–29 neurons,
``responses_random_noise_<i>`` ``(neurons, time)`` and ``session_info/celltypes``
``(neurons,)`` integers in ``[0, 40)``. Differences: everything comes from ``seed``;
arrays are float32 (or the requested dtype) instead of float64; each neuron is a small
linear–nonlinear model (a square receptive field on one colour channel, a causal
exponential temporal filter, a softplus), so responses are positive and depend on the
stimulus; the dataset card marks the last stimulus as the test stimulus (when there
are at least two). Data are generated and written in time-slabs, so memory stays
bounded for any ``frames``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from openretina_data.errors import DataValidationError
from openretina_data.layout import DatasetWriter, SessionWriter, SlabWriter

FRAME_RATE_HZ = 30.0
DEFAULT_HEIGHT, DEFAULT_WIDTH = 16, 8
DEFAULT_CLIP_LENGTH = 75
SLAB_FRAMES = 1024
KERNEL_FRAMES = 6
_UINT8_CENTRE, _UINT8_SCALE = 127.5, 40.0


def stimulus_name(index: int) -> str:
    """Name of stimulus ``index`` (``random_noise_<index>``, as openretina names it)."""
    return f"random_noise_{index}"


def session_name(index: int) -> str:
    """Name of session ``index`` (``session_<index>``, as openretina names it)."""
    return f"session_{index}"


def stimulus_frames(num_stimuli: int, frames: int | None, clip_length: int) -> list[int]:
    """Frames per stimulus: ``frames`` for all, or openretina's ``(70 + i) * clip_length``."""
    if frames is not None:
        return [int(frames)] * num_stimuli
    return [(70 + i) * clip_length for i in range(num_stimuli)]


@dataclass
class _Neurons:
    """Parameters of one session's model neurons, each array ``(neurons,)``."""

    colour: np.ndarray
    top: np.ndarray
    left: np.ndarray
    size: np.ndarray
    kernels: np.ndarray  # (neurons, KERNEL_FRAMES), kernels[:, 0] weights the current frame
    gain: np.ndarray
    bias: np.ndarray

    @classmethod
    def draw(
        cls, rng: np.random.Generator, n: int, colours: int, height: int, width: int
    ) -> _Neurons:
        size = rng.integers(1, max(2, min(height, width) // 2) + 1, size=n)
        size = np.minimum(size, min(height, width))
        taus = rng.uniform(0.8, 3.0, size=n)
        lags = np.arange(KERNEL_FRAMES)
        kernels = np.exp(-lags[None, :] / taus[:, None])
        kernels /= kernels.sum(axis=1, keepdims=True)
        return cls(
            colour=rng.integers(0, colours, size=n),
            top=rng.integers(0, height - size + 1),
            left=rng.integers(0, width - size + 1),
            size=size,
            kernels=kernels,
            gain=rng.uniform(0.5, 2.0, size=n) * rng.choice([-1.0, 1.0], size=n),
            bias=rng.uniform(-0.5, 0.5, size=n),
        )

    def drive(self, movie: np.ndarray) -> np.ndarray:
        """Mean of each receptive field per frame: ``movie`` (c, t, h, w) → (neurons, t)."""
        out = np.empty((len(self.size), movie.shape[1]), dtype=np.float64)
        for i, (c, y, x, s) in enumerate(
            zip(self.colour, self.top, self.left, self.size, strict=True)
        ):
            out[i] = movie[c, :, y : y + s, x : x + s].mean(axis=(1, 2))
        return out


def _noise_slab(rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """White noise ``(channels, frames, h, w)``, drawn frame by frame so slab size does not matter."""
    channels, frames, height, width = shape
    values = rng.standard_normal((frames, channels, height, width), dtype=np.float32).transpose(
        1, 0, 2, 3
    )
    if dtype == np.uint8:
        return np.clip(np.rint(_UINT8_CENTRE + _UINT8_SCALE * values), 0, 255).astype(np.uint8)
    return values.astype(dtype, copy=False)


def _as_float(movie: np.ndarray) -> np.ndarray:
    if movie.dtype == np.uint8:
        return (movie.astype(np.float32) - _UINT8_CENTRE) / _UINT8_SCALE
    return movie.astype(np.float32, copy=False)


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


class _ResponseStream:
    """Responses of one session to one stimulus, computed slab by slab (causal filter)."""

    def __init__(self, neurons: _Neurons, slabs: SlabWriter) -> None:
        self.neurons = neurons
        self.slabs = slabs
        self.history = np.zeros((len(neurons.size), KERNEL_FRAMES - 1))

    def feed(self, movie: np.ndarray) -> None:
        drive = np.concatenate([self.history, self.neurons.drive(movie)], axis=1)
        n_frames = movie.shape[1]
        filtered = np.zeros((drive.shape[0], n_frames))
        for lag in range(KERNEL_FRAMES):
            start = KERNEL_FRAMES - 1 - lag
            filtered += self.neurons.kernels[:, lag : lag + 1] * drive[:, start : start + n_frames]
        self.history = drive[:, -(KERNEL_FRAMES - 1) :]
        rates = _softplus(self.neurons.gain[:, None] * filtered * 3.0 + self.neurons.bias[:, None])
        self.slabs.write(rates.astype(np.float32))


def create_data(
    out_dir: str | os.PathLike[str],
    num_colors: int = 3,
    num_stimuli: int = 4,
    num_sessions: int = 2,
    seed: int = 0,
    frames: int | None = None,
    height: int = DEFAULT_HEIGHT,
    width: int = DEFAULT_WIDTH,
    dtype: str = "float32",
    *,
    clip_length: int = DEFAULT_CLIP_LENGTH,
    test_stimuli: Sequence[str] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a synthetic layout-v1 dataset to ``out_dir`` and return its path.

    Parameters
    ----------
    out_dir
        Dataset folder to create (must not exist or be empty, unless ``overwrite``).
    num_colors, num_stimuli, num_sessions
        Colour channels per movie, number of stimuli, number of sessions (each >= 1).
    seed
        Same seed, same arguments → byte-identical arrays.
    frames
        Frames of every stimulus; ``None`` gives openretina's ``(70 + i) * clip_length``.
    height, width
        Frame size in pixels (openretina: 16 × 8).
    dtype
        Stimulus dtype: ``float32``, ``float64`` or ``uint8``. Responses are float32.
    clip_length
        Only used when ``frames`` is None (openretina's ``--clip-length``).
    test_stimuli
        Stimuli marked as test in the card; default: the last one if there are two or more.
    overwrite
        Replace an existing dataset in ``out_dir``.
    """
    for label, value in (
        ("num_colors", num_colors),
        ("num_stimuli", num_stimuli),
        ("num_sessions", num_sessions),
        ("height", height),
        ("width", width),
        ("clip_length", clip_length),
    ):
        if int(value) < 1:
            raise DataValidationError(
                f"{label} must be at least 1, got {value}",
                hint=f"Pass a positive --{label.replace('_', '-')}.",
            )
    if frames is not None and int(frames) < 1:
        raise DataValidationError(
            f"frames must be at least 1, got {frames}", hint="Pass a positive --frames."
        )
    stim_dtype = np.dtype(dtype)
    names = [stimulus_name(i) for i in range(num_stimuli)]
    lengths = stimulus_frames(num_stimuli, frames, clip_length)
    if test_stimuli is None:
        test_stimuli = names[-1:] if num_stimuli >= 2 else []
    root = np.random.SeedSequence(seed)
    stimulus_seeds = root.spawn(num_stimuli)
    session_seeds = root.spawn(num_sessions)

    with DatasetWriter(
        out_dir, frame_rate_hz=FRAME_RATE_HZ, response_unit="a.u.", overwrite=overwrite
    ) as writer:
        writer.card.test_stimuli = list(test_stimuli)
        writer.card.description = (
            f"synthetic data from openretina_data.testing.create_data(seed={seed})"
        )
        sessions: list[tuple[SessionWriter, _Neurons]] = []
        for index, session_seed in enumerate(session_seeds):
            rng = np.random.default_rng(session_seed)
            n_neurons = int(rng.integers(10, 30))
            session = writer.create_session(session_name(index))
            session.write_session_info("celltypes", rng.integers(0, 40, size=n_neurons))
            sessions.append((session, _Neurons.draw(rng, n_neurons, num_colors, height, width)))
        for name, n_frames, stimulus_seed in zip(names, lengths, stimulus_seeds, strict=True):
            rng = np.random.default_rng(stimulus_seed)
            movie_slabs = writer.create_stimulus(
                name, (num_colors, n_frames, height, width), stim_dtype
            )
            streams = [
                _ResponseStream(
                    neurons, session.create_responses(name, len(neurons.size), n_frames)
                )
                for session, neurons in sessions
            ]
            for start in range(0, n_frames, SLAB_FRAMES):
                length = min(SLAB_FRAMES, n_frames - start)
                movie = _noise_slab(rng, (num_colors, length, height, width), stim_dtype)
                movie_slabs.write(movie, start)
                as_float = _as_float(movie)
                for stream in streams:
                    stream.feed(as_float)
    return Path(out_dir)
