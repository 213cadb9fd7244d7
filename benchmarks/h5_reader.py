"""load_stimuli: our reader against openretina 1.1.1's on the same folder — time and peak memory.

Run: ``flock /tmp/bigmem.lock .venv-test/bin/python benchmarks/h5_reader.py`` (about 1 min, peak
memory about 3 GiB in openretina's run; ``--frames`` scales it).

Cases, each loaded in a fresh subprocess (so peaks do not mix), same arguments:

1. ``shared``: 3 sessions sharing ``stimuli/train.npy`` (FRAMES × 2 × 50 × 50 float32) and a
   test stimulus of FRAMES/6 frames, normalised with a given mean/std.
2. ``session-file``: 1 session whose movies are also ``stimulus_<name>`` datasets inside
   the session file, which win over the shared ones (openretina reads them element by
   element through torch; it raises KeyError without the shared copies).

Each line prints wall seconds and the peak anonymous resident memory the call added
(``RssAnon`` sampled every 5 ms, minus its value before; page cache of memory maps is
not counted — the kernel can reclaim it) for openretina, ours, and ours with ``mmap=True``, and the
ratios openretina / ours.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import h5py
import numpy as np

SIZE = [2, 50, 50]
SESSIONS = 3


def write_folder(root: Path, frames: int, session_file_stimuli: bool) -> None:
    rng = np.random.default_rng(0)
    lengths = {"train": frames, "test": max(frames // 6, 10)}
    movies = {
        name: rng.random((SIZE[0], n, *SIZE[1:]), dtype=np.float32) * 255
        for name, n in lengths.items()
    }
    (root / "stimuli").mkdir(parents=True)
    for name, movie in movies.items():  # openretina needs these even when sessions have their own
        np.save(root / "stimuli" / f"{name}.npy", movie)
    for index in range(1 if session_file_stimuli else SESSIONS):
        with h5py.File(root / f"session_{index}.hdf5", "w") as file:
            for name, n in lengths.items():
                file[f"responses_{name}"] = rng.random((20, n), dtype=np.float32)
                if session_file_stimuli:
                    file[f"stimulus_{name}"] = movies[name]


def _rss_anon_mib() -> float:
    """Anonymous resident memory of this process (``RssAnon``), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class PeakSampler(threading.Thread):
    """Samples ``RssAnon`` every 5 ms; ``peak`` is the highest seen."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = _rss_anon_mib()
        self.running = True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, _rss_anon_mib())
            time.sleep(0.005)


def child(implementation: str, folder: str) -> None:
    """Load once and print seconds, peak anonymous MiB added and a checksum as JSON."""
    from openretina.data_io import h5_dataset_reader as reference

    from openretina_data import h5_dataset_reader as ours

    before = _rss_anon_mib()
    sampler = PeakSampler()
    sampler.start()
    start = time.perf_counter()
    if implementation == "openretina":
        result = reference.load_stimuli(folder, ["test"], SIZE, 120.0, 70.0)
    else:
        result = ours.load_stimuli(
            folder, ["test"], SIZE, 120.0, 70.0, mmap=implementation == "ours-mmap"
        )
    seconds = time.perf_counter() - start
    sampler.running = False
    sampler.join()
    peak = max(sampler.peak, _rss_anon_mib()) - before
    first = next(iter(result.values()))
    checksum = float(np.asarray(first.train[:, :100]).sum())
    print(json.dumps({"seconds": seconds, "peak_mib": peak, "checksum": checksum}))


def measure(implementation: str, folder: Path) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", implementation, str(folder)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=6000, help="frames of the train stimulus")
    parser.add_argument("--child", nargs=2, metavar=("IMPL", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        for case, session_file in (("shared", False), ("session-file", True)):
            folder = Path(tmp) / case
            write_folder(
                folder, args.frames if not session_file else args.frames // 3, session_file
            )
            runs = {impl: measure(impl, folder) for impl in ("openretina", "ours", "ours-mmap")}
            checksums = {round(r["checksum"], 1) for r in runs.values()}
            assert len(checksums) == 1, f"loaders disagree: {runs}"
            base, mine, lazy = runs["openretina"], runs["ours"], runs["ours-mmap"]
            print(
                f"{case:13s} openretina {base['seconds']:.2f} s {base['peak_mib']:.0f} MiB | "
                f"ours {mine['seconds']:.2f} s {mine['peak_mib']:.0f} MiB "
                f"(time x{base['seconds'] / mine['seconds']:.1f}, memory x{base['peak_mib'] / max(mine['peak_mib'], 1):.1f}) | "
                f"ours mmap {lazy['seconds']:.3f} s {lazy['peak_mib']:.0f} MiB "
                f"(time x{base['seconds'] / lazy['seconds']:.0f})"
            )


if __name__ == "__main__":
    main()
