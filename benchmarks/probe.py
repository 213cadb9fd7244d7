"""Probing a folder of 100 recording files: wall time of ``probe_folder`` (issue: < 1 s).

Run: ``.venv/bin/python benchmarks/probe.py`` (a few seconds; writes to a temp folder).

The folder mixes the formats labs hand over, 100 files in all, each written by its own
library through :mod:`openretina_data.testing.formats`: ``.npy``, ``.npz``, HDF5, MAT v5,
MAT v7.3, TIFF stacks and CSV tables (and a few NWB files unless ``--no-nwb``). The first
probe, in a fresh process, pays for imports (scipy, tifffile ...), so it is reported apart; the number that
matters is a warm probe, the median of ``--repeats`` runs. No data is read, so file size
does not matter; ``--frames`` makes the arrays bigger to show it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from openretina_data.sources import probe_folder
from openretina_data.testing import formats

# A fresh interpreter: imports of numpy, h5py, scipy, tifffile ... are counted.
COLD = """
import sys, time
start = time.perf_counter()
from openretina_data.sources import probe_folder
probe_folder(sys.argv[1])
print(time.perf_counter() - start)
"""


def write_folder(folder: Path, n_files: int, nwb: bool) -> None:
    writers = [
        lambda p: formats.write_npy(p.with_suffix(".npy")),
        lambda p: formats.write_npz(p.with_suffix(".npz")),
        lambda p: formats.write_hdf5(p.with_suffix(".h5")),
        lambda p: formats.write_mat_v5(p.with_suffix(".mat")),
        lambda p: formats.write_mat_v73(p.with_suffix(".mat")),
        lambda p: formats.write_tiff(p.with_suffix(".tif")),
        lambda p: formats.write_table(p.with_suffix(".csv")),
    ]
    if nwb:
        writers.append(lambda p: formats.write_nwb(p.with_suffix(".nwb")))
    for i in range(n_files):
        writers[i % len(writers)](folder / f"recording_{i:03d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100, help="how many files to probe")
    parser.add_argument("--repeats", type=int, default=5, help="warm probes to take the median of")
    parser.add_argument("--no-nwb", action="store_true", help="leave NWB files out")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_folder(folder, args.files, not args.no_nwb)
        cold = float(
            subprocess.run(
                [sys.executable, "-c", COLD, tmp], capture_output=True, text=True, check=True
            ).stdout
        )
        found = probe_folder(folder)
        assert len(found.sources) == args.files, (found.skipped, found.errors)
        warm = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            probe_folder(folder)
            warm.append(time.perf_counter() - start)
        n_vars = sum(len(s.variables) for s in found.sources)
        print(f"probed {args.files} files ({n_vars} variables)")
        print(f"first probe in a fresh process (imports included): {cold:.3f} s")
        print(
            f"warm probe, median of {args.repeats}: {float(np.median(warm)):.3f} s "
            f"({1000 * float(np.median(warm)) / args.files:.1f} ms per file)"
        )


if __name__ == "__main__":
    main()
