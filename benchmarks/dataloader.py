"""Dataloaders: openretina_data against openretina 1.1.1, same data, same parameters.

For each stored dtype (float32, and the same movie stored as uint8) and each case (1
and 2 sessions; 3 sessions ours only) a native dataset is written under a temporary
folder (every session saw the same training and test movies, as in the
Maheswaranathan 2023 sessions), then each library runs in its own subprocess, page
cache warmed before each: load stimuli and responses normalised with a given mean/std
(openretina: its ``h5_dataset_reader``, which keeps an in-RAM float32 copy; ours:
``load_stimuli(..., mmap=True)``), build ``multiple_movies_dataloaders`` (batch 64,
chunk 50, clip 90, 50 validation clips) and iterate ``--epochs`` training epochs over
every session, with a CPU torch op on each batch (its mean, as a training loop would
touch it). Measured per run:

* time to first training batch, from before loading;
* peak anonymous memory (``RssAnon`` sampled every 20 ms) and peak total RSS
  (which adds memory-mapped file pages, reclaimable page cache);
* training samples per second of the first epoch (in a fresh process: ours maps the
  stimulus pages it reads for the first time, and loads the compiled kernel in the
  background) and of the later epochs; minor page faults of the first epoch.

One line per case with the ratios and whether the targets of the issue are met
(later epochs >= 1.0x openretina on float32, >= 1.5x on uint8; first epoch >= 0.8x;
first batch >= 50x sooner; peak anonymous memory <= 0.1x), then the raw numbers.
``--floors`` adds, for the one-session case, the cost per batch of each step of ours
(copy of the raw bytes, kernel, targets, one dataset batch, one loader batch) measured
on the same epoch of chunks. ``--workers 2`` adds ours with two DataLoader workers.
``--device cuda`` moves every batch to the GPU: ours with ``normalize_on="device"``
(raw uint8 over the bus, normalised there), openretina's float32 batches as they are;
it reports host-to-device bytes per batch.

Full size (360 000 frames of 50x50 per session, 3.4 GiB as float32) needs ~18 GiB of
RAM for openretina's two-session case; run it alone::

    flock /tmp/bigmem.lock nice python benchmarks/dataloader.py
    python benchmarks/dataloader.py --quick          # small smoke run
    python benchmarks/dataloader.py --frames 180000 --floors --workers 2

README.md shows a recent run.
"""

from __future__ import annotations

import argparse
import json
import resource
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
TARGET_LATER = {"float32": 1.0, "uint8": 1.5}
TARGET_FIRST_EPOCH, TARGET_FIRST_BATCH, TARGET_ANON = 0.8, 50.0, 0.1


def run_library(
    library: str, folder: str, epochs: int, workers: int, device: str, floors: bool
) -> dict[str, Any]:
    """Load, build and run ``epochs`` epochs in this process; the numbers as a dict."""
    import torch

    from openretina_data.memory_probe import PeakMemory

    options: dict[str, Any] = {}
    loader_options: dict[str, Any] = {}
    if workers:
        loader_options.update(num_workers=workers, persistent_workers=True)
    if device != "cpu":
        loader_options["pin_memory"] = True
    if library == "openretina":
        from openretina.data_io.base_dataloader import multiple_movies_dataloaders
        from openretina.data_io.h5_dataset_reader import load_responses, load_stimuli

        def moved(batch: Any) -> Any:
            return batch.inputs.to(device, non_blocking=True), batch.targets.to(device)
    else:
        from openretina_data.base_dataloader import multiple_movies_dataloaders  # type: ignore[assignment]
        from openretina_data.device_batches import to_device
        from openretina_data.h5_dataset_reader import load_responses, load_stimuli  # type: ignore[assignment]

        options = {"mmap": True}
        if device != "cpu":
            loader_options["normalize_on"] = "device"

        def moved(batch: Any) -> Any:
            return to_device(batch, device, non_blocking=True)

    size = _frame_size(folder)
    bus_bytes = 0
    with PeakMemory() as memory:
        start = time.perf_counter()
        movies = load_stimuli(folder, TEST_NAMES, size, NORM_MEAN, NORM_STD, **options)
        responses = load_responses(folder, TEST_NAMES)
        loaders = multiple_movies_dataloaders(responses, movies, **PARAMS, **loader_options)  # type: ignore[arg-type]
        first_batch_s = None
        samples, epoch_seconds, faults = 0, [], []
        for _ in range(epochs):
            began, samples = time.perf_counter(), 0
            faults_before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            for loader in loaders["train"].values():
                for batch in loader:
                    if device != "cpu":
                        bus_bytes = batch.inputs.nbytes + batch.targets.nbytes
                        inputs, _ = moved(batch)
                    else:
                        inputs = batch.inputs
                    float(inputs.mean())  # the CPU (or device) op a training step would do
                    if first_batch_s is None:
                        first_batch_s = time.perf_counter() - start
                    samples += int(inputs.shape[0])
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            epoch_seconds.append(time.perf_counter() - began)
            faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before)
    later = epoch_seconds[1:] or epoch_seconds
    numbers = {
        "first_batch_s": first_batch_s,
        "peak_anon_gib": (memory.peak_anon_mib or 0) / 1024,
        "peak_rss_gib": (memory.peak_rss_mib or 0) / 1024,
        "samples": samples,
        "first_epoch_samples_per_s": samples / epoch_seconds[0],
        "later_samples_per_s": samples * len(later) / sum(later),
        "first_epoch_minor_faults": faults[0],
        "later_minor_faults": sum(faults[1:]) / max(1, len(faults) - 1),
        "bus_bytes_per_batch": bus_bytes,
        "batches": sum(len(loader) for loader in loaders["train"].values()),
    }
    if floors and library == "ours":
        numbers["floors_ms"] = step_floors(next(iter(loaders["train"].values())))
    return numbers


def step_floors(loader: Any, repeats: int = 3) -> dict[str, float]:
    """Milliseconds per batch of each step of ours, over one epoch of the loader's chunks:
    a raw copy of the stored bytes, the kernel (normalising into the batch), the targets,
    one ``dataset.__getitems__`` and one loader batch (adds sampling and collate)."""
    import numpy as np

    from openretina_data import _kernels
    from openretina_data._movie_dataset import _read_rows

    _kernels.prepare_kernel(loader.dataset.movies.raw_dtype)
    dataset, movie = loader.dataset, loader.dataset.movies
    starts = [int(s) for s in loader.sampler]
    batch = loader.batch_size
    groups = [starts[i : i + batch] for i in range(0, len(starts) - batch + 1, batch)]
    shape = (batch, movie.shape[0], dataset.chunk_size, *movie.shape[2:])
    raw = np.empty(shape, movie.raw_dtype)
    normalised = np.empty(shape, np.float32)
    responses = dataset.responses.numpy()
    steps = {
        "copy": lambda g: _read_rows(movie, raw, g, raw=True),
        "kernel": lambda g: _read_rows(movie, normalised, g),
        "targets": lambda g: responses[np.add.outer(np.asarray(g), np.arange(dataset.chunk_size))],
        "dataset batch": dataset.__getitems__,
    }
    floors = {}
    for name, step in steps.items():
        best = float("inf")
        for _ in range(repeats):
            began = time.perf_counter()
            for group in groups:
                step(group)
            best = min(best, time.perf_counter() - began)
        floors[name] = 1000 * best / len(groups)
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        count = sum(1 for _ in loader)
        best = min(best, time.perf_counter() - began)
    floors["loader batch"] = 1000 * best / count
    return floors


def _frame_size(folder: str) -> list[int]:
    import numpy as np

    shape = np.load(Path(folder) / "stimuli" / "train.npy", mmap_mode="r").shape
    return [int(shape[0]), int(shape[2]), int(shape[3])]


def in_subprocess(library: str, folder: Path, args: argparse.Namespace, **changes: Any) -> dict:
    """Run :func:`run_library` in a fresh interpreter so peaks of the two never mix."""
    settings = {"epochs": args.epochs, "workers": 0, "device": args.device, "floors": False}
    settings.update(changes)
    command = [sys.executable, __file__, "--worker", library, str(folder), json.dumps(settings)]
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
    folder = root / f"{shared.name}_case_{n_sessions}"
    if folder.exists():
        return folder
    folder.mkdir()
    (folder / "stimuli").symlink_to(shared / "stimuli", target_is_directory=True)
    for index in range(n_sessions):
        (folder / f"s{index}.hdf5").symlink_to(shared / f"s{index}.hdf5")
    return folder


def describe(numbers: dict[str, Any]) -> str:
    text = (
        f"first batch {numbers['first_batch_s']:.3f} s, anon {numbers['peak_anon_gib']:.2f} GiB, "
        f"rss {numbers['peak_rss_gib']:.2f} GiB, {numbers['first_epoch_samples_per_s']:.0f} "
        f"samples/s first epoch, {numbers['later_samples_per_s']:.0f} later "
        f"({numbers['samples']} samples per epoch; minor faults "
        f"{numbers['first_epoch_minor_faults']} first epoch, {numbers['later_minor_faults']:.0f} later)"
    )
    if numbers["bus_bytes_per_batch"]:
        text += f", {numbers['bus_bytes_per_batch'] / 2**20:.2f} MiB host->device per batch"
    return text


def ratios(ours: dict[str, Any], theirs: dict[str, Any], dtype: str) -> str:
    """The targets as ours/openretina ratios (first batch: how many times sooner)."""
    sooner = theirs["first_batch_s"] / ours["first_batch_s"]
    anon = ours["peak_anon_gib"] / theirs["peak_anon_gib"]
    first = ours["first_epoch_samples_per_s"] / theirs["first_epoch_samples_per_s"]
    later = ours["later_samples_per_s"] / theirs["later_samples_per_s"]
    checks = [
        (f"later >= {TARGET_LATER[dtype]}x", later >= TARGET_LATER[dtype]),
        (f"first epoch >= {TARGET_FIRST_EPOCH}x", first >= TARGET_FIRST_EPOCH),
        (f"first batch >= {TARGET_FIRST_BATCH:.0f}x", sooner >= TARGET_FIRST_BATCH),
        (f"anon <= {TARGET_ANON}x", anon <= TARGET_ANON),
    ]
    verdict = ", ".join(f"{name} {'met' if ok else 'MISSED'}" for name, ok in checks)
    return (
        f"first batch {sooner:.0f}x sooner, peak anon {anon:.3f}x, throughput "
        f"{first:.2f}x first epoch, {later:.2f}x later [{verdict}]"
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
    parser.add_argument(
        "--dtypes", nargs="+", default=["float32", "uint8"], choices=["float32", "uint8"]
    )
    parser.add_argument("--quick", action="store_true", help="small smoke run (9000 frames, 16x16)")
    parser.add_argument(
        "--root", type=Path, help="where to write the data (default: a temp folder)"
    )
    parser.add_argument("--epochs", type=int, default=3, help="training epochs per run (>= 2)")
    parser.add_argument("--workers", type=int, default=0, help="also run ours with N workers")
    parser.add_argument("--floors", action="store_true", help="cost of each step of ours")
    parser.add_argument("--device", default="cpu", help="move batches to this device (cuda)")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        library, folder, settings = args.worker
        print(json.dumps(run_library(library, folder, **json.loads(settings))))
        return 0
    if args.quick:
        args.frames, args.size = 9000, 16
    from openretina_data.testing.movie_sessions import write_native_dataset

    root = Path(tempfile.mkdtemp(prefix="dataloader-bench-", dir=args.root))
    try:
        most = max([*args.sessions, args.ours_only])
        print(
            f"{args.frames} frames of {args.size}x{args.size} per session, "
            f"batch {PARAMS['batch_size']}, chunk {PARAMS['train_chunk_size']}, "
            f"clip {PARAMS['clip_length']}, {PARAMS['num_val_clips']} validation clips, "
            f"{args.epochs} epochs, device {args.device}"
        )
        for dtype in args.dtypes:
            shared = write_native_dataset(
                root / dtype,
                n_sessions=most,
                n_frames=args.frames,
                test_frames=6000 if args.frames >= 60_000 else 300,
                frame_size=(args.size, args.size),
                dtype=dtype,
            )
            run_cases(args, root, shared, dtype)
            shutil.rmtree(shared, ignore_errors=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


def run_cases(args: argparse.Namespace, root: Path, shared: Path, dtype: str) -> None:
    """The compared cases, the worker and floor lines, and the ours-only case of one dtype."""
    for n_sessions in args.sessions:
        folder = case_folder(root, shared, n_sessions)
        warm_page_cache(shared)
        ours = in_subprocess("ours", folder, args, floors=args.floors and n_sessions == 1)
        warm_page_cache(shared)
        theirs = in_subprocess("openretina", folder, args)
        print(
            f"{dtype}, {n_sessions} session(s): {ratios(ours, theirs, dtype)}"
            f" | ours: {describe(ours)} | openretina: {describe(theirs)}",
            flush=True,
        )
        if "floors_ms" in ours:
            steps = ", ".join(f"{k} {v:.2f} ms" for k, v in ours["floors_ms"].items())
            their_batch = 1000 * PARAMS["batch_size"] / theirs["later_samples_per_s"]
            print(
                f"{dtype}, floors per batch of ours: {steps}; openretina's batch (later "
                f"epochs) {their_batch:.2f} ms",
                flush=True,
            )
        if args.workers and n_sessions == 1:
            warm_page_cache(shared)
            pooled = in_subprocess("ours", folder, args, workers=args.workers)
            print(
                f"{dtype}, {n_sessions} session(s), ours with {args.workers} workers: "
                f"{pooled['later_samples_per_s'] / theirs['later_samples_per_s']:.2f}x "
                f"openretina later, {pooled['later_samples_per_s'] / ours['later_samples_per_s']:.2f}x "
                f"ours without | {describe(pooled)}",
                flush=True,
            )
    if args.ours_only:
        folder = case_folder(root, shared, args.ours_only)
        warm_page_cache(shared)
        ours = in_subprocess("ours", folder, args)
        verdict = "under" if ours["peak_anon_gib"] < 2 else "OVER"
        print(
            f"{dtype}, {args.ours_only} session(s), ours only: peak anon {verdict} 2 GiB"
            f" | ours: {describe(ours)}",
            flush=True,
        )


if __name__ == "__main__":
    sys.exit(main())
