"""`openretina-data ... | head`: a reader that goes away is not an error to report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from openretina_data.testing.synthetic import create_data


def test_closed_pipe_stops_quietly_without_a_traceback(tmp_path: Path) -> None:
    create_data(tmp_path / "data", num_colors=1, num_stimuli=2, num_sessions=1, seed=0)
    child = subprocess.Popen(
        [sys.executable, "-m", "openretina_data.cli", "check", str(tmp_path / "data"), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # the reader is gone before the first line is written
    stderr = child.stderr.read().decode()
    child.stderr.close()
    assert child.wait(timeout=120) == 141
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr
