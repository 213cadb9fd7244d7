"""benchmarks/dataloader.py runs end to end in --quick mode (numbers are not checked)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "dataloader.py"


def test_quick_benchmark_prints_ratios_for_each_case(tmp_path: Path) -> None:
    command = [sys.executable, str(SCRIPT), "--quick", "--sessions", "1", "--ours-only", "2"]
    command += ["--root", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    for dtype in ("float32", "uint8"):
        compared = [line for line in lines if line.startswith(f"{dtype}, 1 session(s):")]
        assert len(compared) == 1, result.stdout
        for ratio in ("first batch", "peak anon", "throughput"):
            assert re.search(rf"{ratio} [0-9.]+x", compared[0]), compared[0]
        assert re.search(r"first epoch, [0-9.]+x later \[later >= ", compared[0]), compared[0]
        assert "openretina:" in compared[0] and "ours:" in compared[0]
        assert any(
            line.startswith(f"{dtype}, 2 session(s), ours only: peak anon") for line in lines
        )
    assert list(tmp_path.iterdir()) == []  # the generated data is deleted
