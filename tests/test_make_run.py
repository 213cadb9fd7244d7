"""`make run`'s headless path: what a newcomer without a display gets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from openretina_data.demo import run_headless
from openretina_data.layout import check


def test_headless_demo_converts_the_example_and_it_checks(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    with log.open("w") as stream:
        assert run_headless(tmp_path / "demo", stream=stream) == 0
    text = log.read_text()
    dataset = tmp_path / "demo" / "dataset"
    assert f"dataset written to {dataset}" in text
    assert "dropped frame" in text  # the example's trigger misses one pulse, and we say so
    assert check(dataset).ok
    assert sorted(p.name for p in dataset.glob("*.hdf5")) == ["session_01.hdf5", "session_02.hdf5"]


def test_rerun_replaces_the_demo_dataset(tmp_path: Path) -> None:
    with open(os.devnull, "w") as sink:
        assert run_headless(tmp_path, stream=sink) == 0
        assert run_headless(tmp_path, stream=sink) == 0
    assert check(tmp_path / "dataset").ok
    # no temporary folder or lock file is left beside the dataset
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_wizard_entry_without_display_says_so_and_runs_headless(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DISPLAY", "WAYLAND_DISPLAY"}}
    env["QT_QPA_PLATFORM"] = "offscreen"
    result = subprocess.run(
        [sys.executable, "-m", "app.main", "--example", "--demo-dir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    first_line = result.stdout.splitlines()[0]
    assert "No display" in first_line
    assert (tmp_path / "demo" / "dataset" / "session_01.hdf5").exists()


def test_display_without_qt_libraries_falls_back_to_headless(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import app.main

    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setattr(app.main, "qt_window_problem", lambda: "libxcb-cursor.so.0 is missing")
    assert app.main.main(["--example", "--demo-dir", str(tmp_path / "demo")]) == 0
    first_line = capsys.readouterr().out.splitlines()[0]
    assert "cannot open a window (libxcb-cursor.so.0 is missing)" in first_line
    assert "apt install" in first_line
    assert check(tmp_path / "demo" / "dataset").ok


def test_viewer_without_qt_libraries_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import app.main

    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setattr(app.main, "qt_window_problem", lambda: "libxcb-icccm.so.4 is missing")
    assert app.main.main(["some_dataset"]) == 1
    out = capsys.readouterr().out
    assert "cannot open a window" in out and "hint:" in out


def test_offscreen_platform_needs_no_x11_libraries(monkeypatch: pytest.MonkeyPatch) -> None:
    import app.main

    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert app.main.qt_window_problem() is None


@pytest.mark.parametrize("argv", [[], ["some_dataset"]])
def test_wizard_without_display_is_a_clear_error_not_a_qt_abort(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import app.main

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    assert app.main.main(argv) == 1
    out = capsys.readouterr().out
    assert out.startswith("error: no display found") and "hint:" in out


def test_wizard_command_without_display_exits_cleanly_in_a_subprocess(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DISPLAY", "WAYLAND_DISPLAY"}}
    env.pop("QT_QPA_PLATFORM", None)
    result = subprocess.run(
        [sys.executable, "-m", "app.main"], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no display found" in result.stdout
    assert "Traceback" not in result.stderr
