"""A small, realistic raw recording and the recipe that converts it.

:func:`create_example` writes what a lab has after an experiment, for two sessions::

    DIR/
      stimuli/natural.tif          training movie, 600 frames of 18 x 16 px (t, h, w), uint8
      stimuli/test_clip.npy        test movie, 150 frames stored as (t, w, h), float32
      raw/session_01/phy/          Kilosort/Phy output: spike_times.npy (samples at 20 kHz),
                                   spike_clusters.npy, cluster_group.tsv, cluster_info.tsv
      raw/session_01/ttl.npy       frame trigger channel at 2 kHz (one pulse per frame)
      raw/session_02/...           the same; its trigger channel misses one pulse
      recipe.yaml                  converts all of it (sessions found by raw/{session})

Each session shows the training movie once and the test clip three times in a row.
Spikes come from a linear-nonlinear model with a Gaussian receptive field per cell,
so the alignment check finds receptive fields. Everything is seeded.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from openretina_data.errors import OutputError
from openretina_data.recipe import (
    Epoch,
    FrameTimes,
    InfoSource,
    Loader,
    Recipe,
    ResponseSource,
    SessionSpec,
    StimulusSpec,
    save_recipe,
)

FRAME_RATE_HZ = 30.0
SPIKE_RATE_HZ = 20_000.0
TTL_RATE_HZ = 2_000.0
HEIGHT, WIDTH = 18, 16
TRAIN_FRAMES, TEST_FRAMES, TEST_REPEATS = 600, 150, 3
SESSIONS = ("session_01", "session_02")
DROPPED_FRAME = 317  # session_02's trigger channel has no pulse for this frame
FIRST_FRAME_S = 1.0


def create_example(folder: str | os.PathLike[str], *, seed: int = 0) -> Path:
    """Write the example recording into ``folder`` and return the recipe's path."""
    root = Path(folder)
    if root.exists() and not root.is_dir():
        raise OutputError(
            "the example's folder is a file",
            path=os.fspath(root),
            hint="Name a new folder for the example, e.g. `create-example demo`.",
        )
    try:
        (root / "stimuli").mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(
            f"cannot create the example's folder ({error.strerror})",
            path=os.fspath(root),
            hint="Name a folder you may write to, e.g. `create-example demo`.",
        ) from None
    rng = np.random.default_rng(seed)
    natural = _smooth_movie(rng, TRAIN_FRAMES)
    test_clip = _smooth_movie(rng, TEST_FRAMES).astype(np.float32)

    import tifffile

    tifffile.imwrite(root / "stimuli" / "natural.tif", natural)
    np.save(root / "stimuli" / "test_clip.npy", np.ascontiguousarray(test_clip.transpose(0, 2, 1)))
    shown = np.concatenate([natural.astype(np.float32)] + [test_clip] * TEST_REPEATS)
    for index, session in enumerate(SESSIONS):
        _write_session(root / "raw" / session, shown, rng, drop=index == 1)
    return save_recipe(example_recipe(root), root / "recipe.yaml")


def example_recipe(root: Path) -> Recipe:
    """The recipe for :func:`create_example`'s folder (paths relative to it)."""
    template = "{session}"
    return Recipe(
        output="dataset",
        frame_rate_hz=FRAME_RATE_HZ,
        description="openretina-data example: two Phy-sorted sessions with a TTL frame trigger",
        session_pattern="raw/{session}",
        stimuli=[
            StimulusSpec(name="natural", path="stimuli/natural.tif", axes="thw", split="train"),
            StimulusSpec(name="test_clip", path="stimuli/test_clip.npy", axes="twh", split="test"),
        ],
        sessions=[
            SessionSpec(
                name=template,
                responses=[
                    ResponseSource(
                        path=f"raw/{template}/phy",
                        kind="spike_times",
                        unit="samples",
                        sampling_rate_hz=SPIKE_RATE_HZ,
                        unit_filter=["good"],
                        epochs=[
                            Epoch(stimulus="natural"),
                            Epoch(stimulus="test_clip", repeats=TEST_REPEATS),
                        ],
                        frame_times=FrameTimes(
                            kind="trigger",
                            path=f"raw/{template}/ttl.npy",
                            sampling_rate_hz=TTL_RATE_HZ,
                        ),
                    )
                ],
                session_info=[
                    InfoSource(
                        name="depth_um", path=f"raw/{template}/phy/cluster_info.tsv", key="depth"
                    ),
                ],
            )
        ],
        loader=Loader(train_chunk_size=30, batch_size=8, clip_length=60, num_val_clips=2),
        base_dir=root,
    )


def _smooth_movie(rng: np.random.Generator, frames: int) -> np.ndarray:
    """(frames, HEIGHT, WIDTH) uint8: blurred noise drifting slowly, like a natural movie."""
    noise = rng.normal(size=(frames // 10 + 2, HEIGHT // 3 + 2, WIDTH // 3 + 2))
    t = np.linspace(0, noise.shape[0] - 1.001, frames)
    y = np.linspace(0, noise.shape[1] - 1.001, HEIGHT)
    x = np.linspace(0, noise.shape[2] - 1.001, WIDTH)
    movie = _trilinear(noise, t, y, x)
    movie = (movie - movie.mean()) / (movie.std() + 1e-9)
    return np.clip(128 + 40 * movie, 0, 255).astype(np.uint8)


def _trilinear(grid: np.ndarray, t: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    out = grid
    for axis, points in enumerate((t, y, x)):
        low = np.floor(points).astype(int)
        frac = (points - low).reshape([-1 if i == axis else 1 for i in range(3)])
        out = np.take(out, low, axis=axis) * (1 - frac) + np.take(out, low + 1, axis=axis) * frac
    return out


def _write_session(
    folder: Path, shown: np.ndarray, rng: np.random.Generator, *, drop: bool
) -> None:
    phy = folder / "phy"
    phy.mkdir(parents=True, exist_ok=True)
    n_cells = 12
    groups = ["good"] * 9 + ["mua", "mua", "noise"]
    onsets = FIRST_FRAME_S + np.arange(shown.shape[0]) / FRAME_RATE_HZ
    contrast = (shown - 128.0) / 40.0
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    times, clusters = [], []
    for cell in range(n_cells):
        cy, cx = rng.uniform(3, HEIGHT - 3), rng.uniform(3, WIDTH - 3)
        sign = rng.choice([-1.0, 1.0])
        field = sign * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 2.0**2))
        drive = np.tensordot(contrast, field / field.std(), axes=([1, 2], [0, 1])) / 10
        lagged = np.concatenate([[0.0, 0.0], drive[:-2]])  # responses lag by two frames
        rate_per_frame = np.log1p(np.exp(1.5 * lagged - 0.5)) * 0.8
        counts = rng.poisson(rate_per_frame)
        spike_s = np.repeat(onsets, counts) + rng.uniform(0, 1 / FRAME_RATE_HZ, counts.sum())
        times.append(np.round(spike_s * SPIKE_RATE_HZ).astype(np.uint64))
        clusters.append(np.full(counts.sum(), cell, dtype=np.int32))
    order = np.argsort(np.concatenate(times), kind="stable")
    np.save(phy / "spike_times.npy", np.concatenate(times)[order])
    np.save(phy / "spike_clusters.npy", np.concatenate(clusters)[order])
    rows = "".join(f"{c}\t{g}\n" for c, g in enumerate(groups))
    (phy / "cluster_group.tsv").write_text("cluster_id\tgroup\n" + rows, encoding="utf-8")
    depths = rng.uniform(0, 300, n_cells).round(1)
    info = "".join(f"{c}\t{depths[c]}\t{g}\n" for c, g in enumerate(groups))
    (phy / "cluster_info.tsv").write_text("cluster_id\tdepth\tgroup\n" + info, encoding="utf-8")
    _write_ttl(folder / "ttl.npy", onsets, rng, drop=drop)


def _write_ttl(path: Path, onsets: np.ndarray, rng: np.random.Generator, *, drop: bool) -> None:
    """A 0/5 V channel at TTL_RATE_HZ with a 5 ms pulse per frame and a little noise."""
    duration = onsets[-1] + 1.0
    channel = rng.normal(0, 0.05, int(duration * TTL_RATE_HZ)).astype(np.float32)
    pulse = int(0.005 * TTL_RATE_HZ)
    for frame, onset in enumerate(onsets):
        if drop and frame == DROPPED_FRAME:
            continue
        start = int(round(onset * TTL_RATE_HZ))
        channel[start : start + pulse] += 5.0
    np.save(path, channel)
