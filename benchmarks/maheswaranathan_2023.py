"""Peak memory of loading the Maheswaranathan 2023 archive: ours (eager, lazy) vs openretina 1.1.1.

Run (a scaled archive: 3 sessions of ``--frames`` training frames each, 2.5 kB a frame)::

    flock /tmp/bigmem.lock .venv-test/bin/python benchmarks/maheswaranathan_2023.py --frames 60000

Each loader runs in a fresh subprocess that loads stimuli (normalised) and responses of
every session and reports its peak RSS (VmHWM, Linux); ratios are against openretina in the same run.
The real archive has 359 802 training frames per session: scale the numbers by
``359802 / frames`` for the movie part of the memory.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from openretina_data.testing.maheswaranathan import write_maheswaranathan_archive

CHILD = r"""
import json, sys
def high_water_mb():  # this process's own peak (ru_maxrss would count the parent's before exec)
    with open("/proc/self/status") as status:
        line = next(l for l in status if l.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024
root, which = sys.argv[1], sys.argv[2]
if which == "openretina":
    from openretina.data_io.maheswaranathan_2023.responses import load_all_responses
    from openretina.data_io.maheswaranathan_2023.stimuli import load_all_stimuli
    kwargs = {}
else:
    from openretina_data.maheswaranathan_2023.responses import load_all_responses
    from openretina_data.maheswaranathan_2023.stimuli import load_all_stimuli
    kwargs = {"lazy": which == "ours-lazy"}
import contextlib, io
with contextlib.redirect_stdout(io.StringIO()):
    baseline = high_water_mb()
    movies = load_all_stimuli(root, **kwargs)
    responses = load_all_responses(root)
print(json.dumps({"peak_mb": high_water_mb(), "import_mb": baseline, "sessions": len(movies)}))
"""


def measure(root: Path, which: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), which], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--frames", type=int, default=60000, help="training frames per session (default 60000)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = write_maheswaranathan_archive(
            tmp, stim_types=("naturalscene",), train_frames=args.frames, test_frames=5996
        )
        movie_mb = 3 * args.frames * 2500 / 2**20
        print(
            f"3 sessions x {args.frames} frames of 50x50 uint8 ({movie_mb:.0f} MB of training movie on disk)"
        )
        results = {
            which: measure(root, which) for which in ("openretina", "ours-eager", "ours-lazy")
        }
    reference = results["openretina"]["peak_mb"]
    for which, result in results.items():
        print(
            f"{which:>11}: peak RSS {result['peak_mb']:7.0f} MB, of which loading "
            f"{result['peak_mb'] - result['import_mb']:7.0f} MB; {result['peak_mb'] / reference:.2f}x openretina"
        )


if __name__ == "__main__":
    main()
