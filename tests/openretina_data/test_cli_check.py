"""``openretina-data check`` and ``create-data``: exit codes, output, JSON, reproducibility."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from openretina_data.cli import main

SMALL = [
    "--num-colors",
    "1",
    "--num-stimuli",
    "2",
    "--num-sessions",
    "2",
    "--frames",
    "40",
    "--height",
    "5",
    "--width",
    "4",
]


def _create(folder: Path, *extra: str) -> int:
    return main(["create-data", str(folder), *SMALL, *extra])


def test_create_data_prints_a_tree_and_check_exits_zero(tmp_path, capsys):
    assert _create(tmp_path / "ds") == 0
    out = capsys.readouterr().out
    assert "stimuli/" in out and "random_noise_1.npy" in out and "(1, 40, 5, 4)" in out
    assert "session_0.hdf5" in out and "test stimuli: random_noise_1" in out
    assert main(["check", str(tmp_path / "ds")]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "2 session(s)" in out


def test_create_data_is_reproducible_with_seed(tmp_path, capsys):
    """openretina 1.1.1's create-data is unseeded (DESIGN §7); ours repeats with --seed."""
    for name, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        assert _create(tmp_path / name, "--seed", seed) == 0
    capsys.readouterr()

    def movie(name: str) -> np.ndarray:
        return np.load(tmp_path / name / "stimuli" / "random_noise_0.npy")

    def responses(name: str) -> np.ndarray:
        with h5py.File(tmp_path / name / "session_1.hdf5") as handle:
            return handle["responses_random_noise_1"][()]

    np.testing.assert_array_equal(movie("a"), movie("b"))
    np.testing.assert_array_equal(responses("a"), responses("b"))
    assert not np.array_equal(movie("a"), movie("c"))


def test_create_data_refuses_an_existing_dataset_unless_overwrite(tmp_path, capsys):
    assert _create(tmp_path / "ds") == 0
    assert _create(tmp_path / "ds") == 1
    assert "--overwrite" in capsys.readouterr().err
    assert _create(tmp_path / "ds", "--overwrite", "--seed", "9") == 0


def test_check_lists_each_problem_with_its_fix_and_exits_one(tmp_path, capsys):
    _create(tmp_path / "ds")
    with h5py.File(tmp_path / "ds" / "session_0.hdf5", "a") as handle:
        del handle["responses_random_noise_0"]
        handle["responses_random_noise_0"] = np.ones((3, 39), np.float32)
    (tmp_path / "ds" / "broken.hdf5").write_bytes(b"")
    capsys.readouterr()
    assert main(["check", str(tmp_path / "ds")]) == 1
    out = capsys.readouterr().out
    assert "length-mismatch" in out and "40 frames" in out and "39" in out
    assert "unreadable-file" in out and "broken.hdf5" in out
    lines = out.splitlines()
    fixes = [line for line in lines if line.strip().startswith("fix:")]
    assert len(fixes) >= 3  # two errors + warnings, each with a fix
    assert any("PROBLEMS FOUND" in line for line in lines)


def test_check_json_for_machines(tmp_path, capsys):
    _create(tmp_path / "ds")
    (tmp_path / "ds" / "stimuli" / "random_noise_0.npy").write_bytes(b"")
    capsys.readouterr()
    assert main(["check", str(tmp_path / "ds"), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False
    codes = {(p["code"], p["file"]) for p in data["problems"]}
    assert ("unreadable-file", "stimuli/random_noise_0.npy") in codes
    assert ("unknown-stimulus", "session_0.hdf5") in codes
    assert data["summary"]["sessions"] == 2 and data["summary"]["neurons"].keys() == {
        "session_0",
        "session_1",
    }


def test_check_usage_errors_exit_two(tmp_path, capsys):
    assert main(["check", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "file.txt").write_text("x")
    assert main(["check", str(tmp_path / "file.txt")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_check_as_a_subprocess(tmp_path):
    _create(tmp_path / "ds")
    result = subprocess.run(
        [sys.executable, "-m", "openretina_data.cli", "check", str(tmp_path / "ds"), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ok"] is True
    missing = subprocess.run(
        [sys.executable, "-m", "openretina_data.cli", "check", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_every_subcommand_help_states_its_exit_codes(capsys):
    from openretina_data.cli import COMMANDS

    for command in COMMANDS:
        try:
            main([command.replace("_", "-"), "--help"])
        except SystemExit as exited:
            assert exited.code == 0
        assert "exit codes:" in capsys.readouterr().out, command


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--num-sessions", "0", "at least 1"),
        ("--num-stimuli", "-2", "at least 1"),
        ("--num-colors", "0", "at least 1"),
        ("--frames", "0", "at least 1"),
        ("--clip-length", "0", "at least 1"),
        ("--height", "0", "at least 1"),
        ("--width", "-1", "at least 1"),
        ("--seed", "-1", "at least 0"),
        ("--num-sessions", "two", "not a whole number"),
    ],
)
def test_create_data_bad_count_or_size_is_a_usage_error(tmp_path, capsys, flag, value, says):
    with pytest.raises(SystemExit) as exited:
        _create(tmp_path / "ds", flag, value)
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert f"argument {flag}" in error and says in error and "Traceback" not in error
    assert not (tmp_path / "ds").exists()
