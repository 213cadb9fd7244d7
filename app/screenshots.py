"""Walk the bundled example through every page offscreen and save one PNG per page.

``openretina-data-wizard --screenshots DIR`` writes ``01-start.png`` … ``09-use.png``,
``10-viewer.png`` and ``11-published.png`` (a published dataset converted by its preset). Also used by the end-to-end test's helpers: :func:`wait_until`
spins the event loop (never sleeps the UI thread blind) until a condition holds.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from PySide6.QtWidgets import QApplication, QWidget

from app.settings import open_settings
from app.state import PAGES
from app.wizard import ImportWizard


def wait_until(condition: Callable[[], bool], timeout_s: float = 60.0) -> bool:
    """Process events until ``condition()`` is true or ``timeout_s`` passes; returns it."""
    app = QApplication.instance()
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        app.processEvents()  # type: ignore[union-attr]
        time.sleep(0.01)
    return True


def settle(seconds: float = 0.3) -> None:
    """Let queued paints and short background probes finish."""
    wait_until(lambda: False, seconds)


def save(widget: QWidget, path: Path) -> Path:
    """Grab ``widget`` into a PNG."""
    widget.grab().save(str(path))
    return path


def take_screenshots(folder: Path, size: tuple[int, int] = (1180, 700)) -> list[Path]:
    """Convert the example recording page by page, saving a screenshot of each page."""
    from openretina_data.example import create_example

    folder.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    app.setApplicationName("openretina-data")
    shots: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="openretina-data-shots-") as tmp:
        recipe_path = create_example(Path(tmp) / "example")
        wizard = ImportWizard(open_settings(Path(tmp) / "settings.ini"))
        wizard.resize(*size)
        wizard.open_recipe(recipe_path)
        wizard.show()
        for number, page_id in enumerate(PAGES, start=1):
            wait_until(partial(_showing, wizard, page_id), 5)
            settle()
            name = folder / f"{number:02d}-{page_id}.png"
            special = _BEFORE_SHOT.get(page_id)
            shots.extend(special(wizard, name) if special else [save(wizard, name)])
            wizard.next()
        if wizard.state.written_dir:
            viewer = wizard.open_viewer(wizard.state.written_dir)
            assert viewer is not None, "the dataset just written must open"
            viewer.resize(*size)
            wait_until(lambda: viewer.report is not None, 60)
            settle()
            viewer.stimulus.setCurrentIndex(1)
            viewer.preview.set_frame(60)
            settle()
            shots.append(save(viewer, folder / "10-viewer.png"))
            viewer.close()
            viewer.deleteLater()
        wizard.close()
        wizard.deleteLater()
        shots.append(_published(Path(tmp), folder / "11-published.png", size))
        settle(0.1)  # let the deletions happen before the temporary folder goes
    return shots


def _published(tmp: Path, name: Path, size: tuple[int, int]) -> Path:
    """Start → Convert a published dataset, on the Maheswaranathan miniature."""
    from openretina_data.testing.maheswaranathan import write_maheswaranathan_archive

    archive = write_maheswaranathan_archive(tmp / "neural_code_data")
    wizard = ImportWizard(open_settings(tmp / "settings-published.ini"))
    wizard.resize(*size)
    wizard.show()
    wizard.start_page.convert_published()
    page = wizard.published_page
    page.archive.setText(str(archive))
    page.output.setText(str(tmp / "maheswaranathan_2023"))
    page.start()
    wait_until(lambda: page.runner.outcome != "", 60)
    settle()
    save(wizard, name)
    wizard.close()
    wizard.deleteLater()
    return name


def _showing(wizard: ImportWizard, page_id: str) -> bool:
    return wizard.currentPage() is wizard.pages[page_id]


def _timing(wizard: ImportWizard, name: Path) -> list[Path]:
    page = wizard.timing_page
    wait_until(lambda: page.last_check is not None, 20)
    if page.session.count() > 1:  # the example's second session has a dropped frame
        page.last_check = None
        page.session.setCurrentIndex(1)
        wait_until(lambda: page.last_check is not None, 20)
    settle()
    return [save(wizard, name)]


def _preview(wizard: ImportWizard, name: Path) -> list[Path]:
    page = wizard.preview_page
    wait_until(lambda: not page.busy and page.preview.data is not None, 30)
    page.preview.set_frame(120)
    settle()
    shots = [save(wizard, name)]
    page.tabs.setCurrentIndex(2)
    page.run_alignment()
    wait_until(lambda: page.alignment.result is not None, 60)
    settle()
    shots.append(save(wizard, name.with_name(name.stem + "-alignment.png")))
    page.epoch.setCurrentIndex(1)
    wait_until(lambda: not page.busy, 30)
    page.tabs.setCurrentIndex(1)
    settle()
    shots.append(save(wizard, name.with_name(name.stem + "-psth.png")))
    return shots


def _write(wizard: ImportWizard, name: Path) -> list[Path]:
    page = wizard.write_page
    wait_until(lambda: not page.planning, 30)
    page.start()
    wait_until(lambda: page.outcome != "", 120)
    settle()
    return [save(wizard, name)]


def _use(wizard: ImportWizard, name: Path) -> list[Path]:
    page = wizard.use_page
    page.run_loader_check()
    wait_until(lambda: page.result is not None or "failed" in page.loader_text.text(), 120)
    settle()
    return [save(wizard, name)]


_BEFORE_SHOT: dict[str, Callable[[ImportWizard, Path], list[Path]]] = {
    "timing": _timing,
    "preview": _preview,
    "write": _write,
    "use": _use,
}
