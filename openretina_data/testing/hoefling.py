"""A miniature of the Höfling et al. (2024) files, for tests.

The published data (https://gin.g-node.org/eulerlab/rgc-natstim, mirrored on
openretina's Hugging Face hub) are a stimulus pickle and a responses HDF5 file. This is
what openretina 1.1.1's ``hoefling_2024`` code reads from them::

    <movies>.pkl   dict of plain arrays
        train              (2, clips * clip_length, height, width)  UV and green, clips in index order
        test               (2, test_clips * clip_length, height, width)
        random_sequences   (clips, n_sequences) uint8   presentation order of the clips
        movie_stats        {"dichromatic": {"mean": ..., "sd": ...}}
    <responses>.h5  one group per recording field
        natural_inferred_spikes  (neurons, samples)   deconvolved calcium, per 2P frame
        natural_traces_times     (neurons, samples)   seconds
        natural_trigger_times    (1, triggers)        seconds, one trigger per clip shown
        eye                      "left" / "right"
        scan_sequence_idx        which random sequence this field saw
        group_assignment, roi_ids  (neurons,)
        roi_mask                 (64, 64)             -roi_id where a ROI lies, 0 elsewhere

A recording shows ``test, half the train clips, test, other half, test`` (123 clips of
150 frames at 30 Hz in the paper: 3 x 5 test clips and 108 train clips). The miniature
keeps that structure with fewer and shorter clips by default; ``paper_sizes=True``
writes the paper's clip counts and lengths (what openretina's code hard-codes) so the
two can be compared.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import h5py
import numpy as np

FRAME_RATE_HZ = 30.0


def write_hoefling_archive(
    root: str | os.PathLike[str],
    *,
    fields: tuple[str, ...] = ("20200226_1_1", "20200226_1_2", "20200301_2_1"),
    n_neurons: tuple[int, ...] = (6, 4, 5),
    eyes: tuple[str, ...] = ("right", "left", "right"),
    sequence_idx: tuple[int, ...] = (0, 1, 0),
    paper_sizes: bool = False,
    frame_size: tuple[int, int] = (18, 16),
    imaging_rate_hz: float = 7.8125,
    seed: int = 0,
) -> Path:
    """Write ``<root>/movies.pkl`` and ``<root>/responses.h5``; return ``root``."""
    clip_length, train_clips, test_clips, n_sequences = (
        (150, 108, 5, 20) if paper_sizes else (10, 12, 2, 3)
    )
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    sequences = np.stack([rng.permutation(train_clips) for _ in range(n_sequences)], axis=1).astype(
        np.uint8
    )
    movies = {
        "train": rng.standard_normal((2, train_clips * clip_length, *frame_size)).astype(
            np.float32
        ),
        "test": rng.standard_normal((2, test_clips * clip_length, *frame_size)).astype(np.float32),
        "random_sequences": sequences,
        "movie_stats": {"dichromatic": {"mean": np.array(37.0), "sd": np.array(36.9)}},
    }
    with open(root / "movies.pkl", "wb") as handle:
        pickle.dump(movies, handle)
    n_triggers = 3 * test_clips + train_clips
    clip_seconds = clip_length / FRAME_RATE_HZ
    with h5py.File(root / "responses.h5", "w-") as f:
        for field, neurons, eye, sequence in zip(
            fields, n_neurons, eyes, sequence_idx, strict=True
        ):
            group = f.create_group(field)
            start = rng.uniform(1.0, 2.0)
            triggers = start + np.arange(n_triggers) * clip_seconds
            n_samples = int((n_triggers * clip_seconds + 3.0) * imaging_rate_hz)
            offsets = rng.uniform(
                0, 1 / imaging_rate_hz, size=(neurons, 1)
            )  # each ROI sampled at its line time
            times = offsets + np.arange(n_samples)[None, :] / imaging_rate_hz
            group["natural_inferred_spikes"] = rng.gamma(0.5, 1.0, size=(neurons, n_samples))
            group["natural_traces_times"] = times
            group["natural_trigger_times"] = triggers[None, :]
            group["eye"] = eye
            group["scan_sequence_idx"] = sequence
            group["group_assignment"] = rng.integers(1, 47, size=neurons)
            group["roi_ids"] = np.arange(1, neurons + 1)
            group["roi_mask"] = -rng.integers(
                0, neurons + 1, size=(64, 64)
            )  # pixel of ROI k holds -k
    return root
