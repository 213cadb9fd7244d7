"""``openretina-data-wizard``'s entry points: screenshots of every page, the viewer on a folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.main import build_parser, main
from app.state import PAGES


@pytest.mark.gui
def test_screenshots_walk_every_page_and_the_viewer(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    assert main(["--screenshots", str(tmp_path / "shots")]) == 0
    names = sorted(p.name for p in (tmp_path / "shots").glob("*.png"))
    for number, page in enumerate(PAGES, start=1):
        assert f"{number:02d}-{page}.png" in names
    assert "07-preview-alignment.png" in names and "10-viewer.png" in names
    assert all((tmp_path / "shots" / n).stat().st_size > 5_000 for n in names)  # not blank
    assert capsys.readouterr().out.count(".png") == len(names)


def test_the_command_line_says_what_each_form_does() -> None:
    text = build_parser().format_help()
    for option in ("--example", "--screenshots", "dataset"):
        assert option in text
