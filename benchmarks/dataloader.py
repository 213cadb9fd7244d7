"""Dataloaders: openretina_data against openretina 1.1.1, same data, same parameters.

For each case (1 and 2 sessions; 3 sessions ours only) a native dataset is written
under a temporary folder (every session saw the same training and test movies, as in
the Maheswaranathan 2023 sessions), then each library runs in its own subprocess:
load stimuli and responses normalised with a given mean/std (openretina: its
``h5_dataset_reader``; ours: ``load_stimuli(..., mmap=True)``), build
``multiple_movies_dataloaders`` (batch 64, chunk 50, clip 90, 50 validation clips)
and iterate ``--epochs`` training epochs over every session. Measured per run:

* time to first training batch, from before loading;
* peak anonymous memory (``RssAnon`` sampled every 20 ms) and peak total RSS
  (which adds memory-mapped file pages, reclaimable page cache);
* training samples per second of the first epoch (in a fresh process: ours maps the
  stimulus pages it reads for the first time) and of the later epochs (page cache
  warm for both; openretina's are the same work as its first).

One line per case with the ratios, then the raw numbers. Full size (360 000 frames of
50x50 float32 per session, 3.4 GiB) needs ~18 GiB of RAM for openretina; run it alone::

    flock /tmp/bigmem.lock python benchmarks/dataloader.py
    python benchmarks/dataloader.py --quick          # small smoke run
    python benchmarks/dataloader.py --frames 60000 --sessions 1 2

README.md shows a recent full-size run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PARAMS = {"train_chunk_size": 50, "batch_size": 64, "clip_length": 90, "num_val_clips": 50}
NORM_MEAN, NORM_STD = 127.5, 73.9
TEST_NAMES = ["test"]


def run_library(library: str, folder: str, epochs: int = 3) -> dict[str, Any]:
    """Load, build and run ``epochs`` epochs in this process; the numbers as a dict."""
    from openretina_data.memory_probe import PeakMemory

    if library == "openretina":
        from openretina.data_io.base_dataloader import multiple_movies_dataloaders
        from openretina.data_io.h5_dataset_reader import load_responses, load_stimuli

        options: dict[str, Any] = {}
    else:
        from openretina_data.base_dataloader import multiple_movies_dataloaders  # type: ignore[assignment]
        from openretina_data.h5_dataset_reader import load_responses, load_stimuli  # type: ignore[assignment]

        options = {"mmap": True}
    size = _frame_size(folder)
    with PeakMemory() as memory:
        start = time.perf_counter()
        movies = load_stimuli(folder, TEST_NAMES, size, NORM_MEAN, NORM_STD, **options)
        responses = load_responses(folder, TEST_NAMES)
        loaders = multiple_movies_dataloaders(responses, movies, **PARAMS)  # type: ignore[arg-type]
        first_batch_s = None
        samples, epoch_seconds = 0, []
        for _ in range(epochs):
            began, samples = time.perf_counter(), 0
            for loader in loaders["train"].values():
                for batch in loader:
                    if first_batch_s is None:
                        first_batch_s = time.perf_counter() - start
                    samples += int(batch.inputs.shape[0])
            epoch_seconds.append(time.perf_counter() - began)
    later = epoch_seconds[1:] or epoch_seconds
    return {
        "first_batch_s": first_batch_s,
        "peak_anon_gib": (memory.peak_anon_mib or 0) / 1024,
        "peak_rss_gib": (memory.peak_rss_mib or 0) / 1024,
        "samples": samples,
        "first_epoch_samples_per_s": samples / epoch_seconds[0],
        "later_samples_per_s": samples * len(later) / sum(later),
    }


def _frame_size(folder: str) -> list[int]:
    import numpy as np

    shape = np.load(Path(folder) / "stimuli" / "train.npy", mmap_mode="r").shape
    return [int(shape[0]), int(shape[2]), int(shape[3])]


def in_subprocess(library: str, folder: Path, epochs: int) -> dict[str, Any]:
    """Run :func:`run_library` in a fresh interpreter so peaks of the two never mix."""
    command = [sys.executable, __file__, "--worker", library, str(folder), str(epochs)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{library} run failed:\n{result.stderr[-4000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def warm_page_cache(folder: Path) -> None:
    """Read every file once so both libraries start from a warm page cache."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with path.open("rb") as file:
                while file.read(1 << 24):
                    pass


def case_folder(root: Path, shared: Path, n_sessions: int) -> Path:
    """A dataset folder with the first ``n_sessions`` sessions (links, no copies)."""
    folder = root / f"case_{n_sessions}"
    folder.mkdir()
    (folder / "stimuli").symlink_to(shared / "stimuli", target_is_directory=True)
    for index in range(n_sessions):
        (folder / f"s{index}.hdf5").symlink_to(shared / f"s{index}.hdf5")
    return folder


def describe(numbers: dict[str, Any]) -> str:
    return (
        f"first batch {numbers['first_batch_s']:.3f} s, anon {numbers['peak_anon_gib']:.2f} GiB, "
        f"rss {numbers['peak_rss_gib']:.2f} GiB, {numbers['first_epoch_samples_per_s']:.0f} "
        f"samples/s first epoch, {numbers['later_samples_per_s']:.0f} later "
        f"({numbers['samples']} samples per epoch)"
    )


def ratios(ours: dict[str, Any], theirs: dict[str, Any]) -> str:
    """The targets as ours/openretina ratios (first batch: how many times sooner)."""
    return (
        f"first batch {theirs['first_batch_s'] / ours['first_batch_s']:.0f}x sooner, "
        f"peak anon {ours['peak_anon_gib'] / theirs['peak_anon_gib']:.3f}x, throughput "
        f"{ours['first_epoch_samples_per_s'] / theirs['first_epoch_samples_per_s']:.2f}x "
        f"first epoch, {ours['later_samples_per_s'] / theirs['later_samples_per_s']:.2f}x later"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--frames", type=int, default=360_000, help="training frames per session")
    parser.add_argument("--size", type=int, default=50, help="frame height and width in pixels")
    parser.add_argument(
        "--sessions", type=int, nargs="+", default=[1, 2], help="cases compared with openretina"
    )
    parser.add_argument(
        "--ours-only", type=int, default=3, help="sessions of the case run with ours only (0: none)"
    )
    parser.add_argument("--quick", action="store_true", help="small smoke run (9000 frames, 16x16)")
    parser.add_argument(
        "--root", type=Path, help="where to write the data (default: a temp folder)"
    )
    parser.add_argument("--epochs", type=int, default=3, help="training epochs per run (>= 2)")
    parser.add_argument(
        "--worker", nargs=3, metavar=("LIBRARY", "FOLDER", "EPOCHS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.worker:
        library, folder, epochs = args.worker
        print(json.dumps(run_library(library, folder, int(epochs))))
        return 0
    if args.quick:
        args.frames, args.size = 9000, 16
    from openretina_data.testing.movie_sessions import write_native_dataset

    root = Path(tempfile.mkdtemp(prefix="dataloader-bench-", dir=args.root))
    try:
        most = max([*args.sessions, args.ours_only])
        shared = write_native_dataset(
            root / "shared",
            n_sessions=most,
            n_frames=args.frames,
            test_frames=6000 if args.frames >= 60_000 else 300,
            frame_size=(args.size, args.size),
        )
        print(
            f"{args.frames} frames of {args.size}x{args.size} float32 per session, "
            f"batch {PARAMS['batch_size']}, chunk {PARAMS['train_chunk_size']}, "
            f"clip {PARAMS['clip_length']}, {PARAMS['num_val_clips']} validation clips"
        )
        for n_sessions in args.sessions:
            folder = case_folder(root, shared, n_sessions)
            warm_page_cache(shared)
            ours = in_subprocess("ours", folder, args.epochs)
            warm_page_cache(shared)
            theirs = in_subprocess("openretina", folder, args.epochs)
            print(
                f"{n_sessions} session(s): {ratios(ours, theirs)}"
                f" | ours: {describe(ours)} | openretina: {describe(theirs)}"
            )
        if args.ours_only:
            folder = (
                case_folder(root, shared, args.ours_only)
                if args.ours_only not in args.sessions
                else root / f"case_{args.ours_only}"
            )
            warm_page_cache(shared)
            ours = in_subprocess("ours", folder, args.epochs)
            verdict = "under" if ours["peak_anon_gib"] < 2 else "OVER"
            print(
                f"{args.ours_only} session(s), ours only: peak anon {verdict} 2 GiB | ours: {describe(ours)}"
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
