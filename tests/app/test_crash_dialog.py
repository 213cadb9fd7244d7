"""A bug in the wizard shows the crash report's path in a dialog, never a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import app.main as entry


def _raise_a_bug() -> BaseException:
    try:
        {}["a key nobody set"]  # noqa: B018  (the bug)
    except KeyError as error:
        return error
    raise AssertionError("unreachable")


@pytest.fixture
def dialogs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    from PySide6.QtWidgets import QApplication, QMessageBox

    QApplication.instance() or QApplication([])
    shown: list[str] = []
    monkeypatch.setattr(
        QMessageBox, "critical", staticmethod(lambda parent, title, text: shown.append(text))
    )
    monkeypatch.setenv("OPENRETINA_DATA_CRASH_DIR", str(tmp_path / "reports"))
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    return shown


@pytest.mark.gui
def test_a_bug_shows_the_crash_report_path_in_a_dialog(
    dialogs: list[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(entry, "display_available", lambda: True)
    entry.show_crashes_in_a_dialog()
    error = _raise_a_bug()
    sys.excepthook(type(error), error, error.__traceback__)

    reports = list((tmp_path / "reports").glob("openretina-data-crash-*.txt"))
    assert len(reports) == 1
    assert len(dialogs) == 1 and str(reports[0]) in dialogs[0]
    assert "this is a bug in openretina-data" in dialogs[0]
    assert "Traceback" not in dialogs[0]
    assert "a key nobody set" in reports[0].read_text()  # the traceback is in the report
    assert str(reports[0]) in capsys.readouterr().err


@pytest.mark.gui
def test_without_a_display_the_message_goes_to_stderr_only(
    dialogs: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(entry, "display_available", lambda: False)
    entry.show_crashes_in_a_dialog()
    error = _raise_a_bug()
    sys.excepthook(type(error), error, error.__traceback__)
    assert dialogs == []
    assert "crash report was written to" in capsys.readouterr().err
