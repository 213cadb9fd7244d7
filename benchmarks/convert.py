"""Benchmark ``convert``: peak memory vs input size, throughput vs ``cp``, plan on 20 sessions.

Run (big sizes take minutes and need ~3x the largest size in free disk)::

    flock /tmp/bigmem.lock .venv/bin/python benchmarks/convert.py --sizes 1,4,10
    .venv/bin/python benchmarks/convert.py --sizes 0.25 --formats npy,hdf5,mat   # quick

For each size (GiB of stimulus movie, plus small binned responses for 2 sessions) a
fresh process converts the recording and reports its peak RSS; the same bytes are
copied with ``cp`` on the same disk in the same run, and the ratio of the two
throughputs is printed (target: convert at least 0.5x cp for .npy). HDF5 and MAT v7.3
sources of the same movie are converted too. Every file is deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

from openretina_data.recipe import load_recipe, save_recipe
from openretina_data.testing.recipes import binned_recording

HEIGHT, WIDTH = 64, 64  # 16 KiB per float32 frame
MAT_HEADER = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."

CHILD = """
import json, sys, time
from openretina_data.convert import run
from openretina_data.recipe import load_recipe
start = time.perf_counter()
run(load_recipe(sys.argv[1]), overwrite=True)
seconds = time.perf_counter() - start
# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec (it would show the parent's peak)
status = open("/proc/self/status").read()
peak_kib = int(status.split("VmHWM:")[1].split()[0])
print(json.dumps({"seconds": seconds, "peak_rss_mib": peak_kib / 1024}))
"""


def _child(recipe_path: Path) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(recipe_path)], capture_output=True, text=True, check=True
    )
    data: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def _drop_cache_hint(path: Path) -> None:
    """Write back and drop the file's cached pages, so cp and convert both read from disk."""
    os.sync()
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _cp_seconds(source: Path, target: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["cp", str(source), str(target)], check=True)
    subprocess.run(["sync", str(target)], check=True)
    seconds = time.perf_counter() - start
    target.unlink()
    return seconds


def _as_hdf5(source: Path, target: Path, *, matlab: bool) -> None:
    movie = np.load(source, mmap_mode="r")  # (t, h, w)
    frames = movie.shape[0]
    step = max(1, (64 << 20) // (movie[0].nbytes))
    kwargs = {"userblock_size": 512} if matlab else {}
    with h5py.File(target, "w", **kwargs) as f:
        if matlab:  # MATLAB stores column-major: h5py sees (w, h, t)
            data = f.create_dataset(
                "movie", shape=movie.shape[::-1], dtype=movie.dtype, chunks=(WIDTH, HEIGHT, 64)
            )
            data.attrs["MATLAB_class"] = np.bytes_("single")
        else:
            data = f.create_dataset(
                "movie", shape=movie.shape, dtype=movie.dtype, chunks=(64, HEIGHT, WIDTH)
            )
        for start in range(0, frames, step):
            block = np.asarray(movie[start : start + step])
            if matlab:
                data[:, :, start : start + step] = block.transpose(2, 1, 0)
            else:
                data[start : start + step] = block
    if matlab:
        with target.open("r+b") as handle:
            handle.write(MAT_HEADER.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02IM")


def bench_size(gib: float, formats: list[str], folder: Path) -> list[dict[str, object]]:
    frames = int(gib * (1 << 30) / (HEIGHT * WIDTH * 4))
    recipe = binned_recording(
        folder,
        n_sessions=2,
        train_frames=frames,
        test_frames=300,
        repeats=2,
        n_neurons=50,
        height=HEIGHT,
        width=WIDTH,
    )
    movie = folder / "stimuli" / "train.npy"
    rows = []
    for fmt in formats:
        if fmt != "npy":
            path = folder / "stimuli" / ("train.h5" if fmt == "hdf5" else "train.mat")
            _as_hdf5(movie, path, matlab=fmt == "mat")
            recipe.stimuli[0].path = f"stimuli/{path.name}"
            recipe.stimuli[0].key = "movie"
        save_recipe(recipe, folder / "recipe.yaml")
        source = folder / recipe.stimuli[0].path
        _drop_cache_hint(source)
        cp = _cp_seconds(source, folder / "copy.bin")
        _drop_cache_hint(source)
        converted = _child(folder / "recipe.yaml")
        size = source.stat().st_size
        rows.append(
            {
                "format": fmt,
                "input_gib": round(size / (1 << 30), 2),
                "peak_rss_mib": round(converted["peak_rss_mib"]),
                "convert_mb_s": round(size / converted["seconds"] / 1e6),
                "cp_mb_s": round(size / cp / 1e6),
                "ratio_vs_cp": round(cp / converted["seconds"], 2),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
        shutil.rmtree(folder / "dataset", ignore_errors=True)
        if fmt != "npy":
            source.unlink()
    return rows


def bench_plan(folder: Path, sessions: int = 20) -> float:
    from openretina_data.plan import plan

    binned_recording(
        folder, n_sessions=sessions, train_frames=5000, test_frames=300, repeats=3, n_neurons=100
    )
    recipe = load_recipe(folder / "recipe.yaml")
    start = time.perf_counter()
    result = plan(recipe)
    seconds = time.perf_counter() - start
    assert result.ok, result.summary()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1,4,10", help="stimulus sizes in GiB, comma-separated")
    parser.add_argument(
        "--formats", default="npy,hdf5,mat", help="npy,hdf5,mat (non-npy at the first size only)"
    )
    parser.add_argument(
        "--where", type=Path, default=None, help="scratch folder (default: a temp folder)"
    )
    args = parser.parse_args()
    sizes = [float(s) for s in args.sizes.split(",")]
    formats = args.formats.split(",")
    base = args.where or Path(tempfile.gettempdir())
    for index, gib in enumerate(sizes):
        with tempfile.TemporaryDirectory(dir=base, prefix="bench-convert-") as scratch:
            bench_size(gib, formats if index == 0 else ["npy"], Path(scratch))
    with tempfile.TemporaryDirectory(dir=base, prefix="bench-plan-") as scratch:
        print(json.dumps({"plan_20_sessions_s": round(bench_plan(Path(scratch)), 3)}))


if __name__ == "__main__":
    main()
