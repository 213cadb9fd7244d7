"""The viewer opens any native dataset read-only, with check results and linked plots."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from app.screenshots import wait_until
from app.settings import recent, remember
from app.viewer import DatasetViewer, trials_unit
from app.wizard import ImportWizard
from openretina_data.cli import main as cli_main
from openretina_data.layout import DatasetCard


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("viewer") / "ds"
    assert (
        cli_main(
            ["create-data", str(folder), "--num-stimuli", "2", "--num-sessions", "2", "--seed", "1"]
        )
        == 0
    )
    return folder


@pytest.mark.gui
def test_viewer_shows_sessions_stimuli_and_scrubs_lazily(qtbot: QtBot, dataset: Path) -> None:
    viewer = DatasetViewer(dataset)
    qtbot.addWidget(viewer)
    assert wait_until(lambda: viewer.report is not None, 30)
    assert viewer.status.text() == "check: ok"
    assert viewer.session.count() == 2
    assert viewer.stimulus.count() == 2
    data = viewer.preview.data
    assert data is not None and data.n_neurons > 0
    viewer.preview.set_frame(40)
    frame = viewer.preview.image.image
    assert frame.shape == data.movie.shape[2:]  # (height, width): one frame read
    np.testing.assert_array_equal(frame, np.asarray(data.movie[0, 40], dtype=np.float32))
    assert viewer.preview.cursors[0].value() == pytest.approx(40 / viewer.frame_rate_hz)
    assert viewer.card is not None
    assert viewer.psth.plot.getAxis("left").labelText == viewer.card.response_unit
    viewer.close()


def test_the_repeats_unit_is_the_cards_own_entry_for_them() -> None:
    card = DatasetCard(response_unit="Hz")
    assert trials_unit(card) == "Hz" and trials_unit(None) == "a.u."
    card.extra["units"] = {"responses": "Hz", "test_by_trial": "spikes/bin (10 ms)"}
    assert trials_unit(card) == "spikes/bin (10 ms)"


@pytest.mark.gui
def test_viewer_reports_a_broken_dataset_without_crashing(
    qtbot: QtBot, dataset: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "s0.hdf5").write_bytes(b"not an hdf5 file")
    viewer = DatasetViewer(broken)
    qtbot.addWidget(viewer)
    assert wait_until(lambda: viewer.report is not None, 30)
    assert "problem" in viewer.status.text()
    assert viewer.check_text.toPlainText()
    viewer.close()


@pytest.mark.gui
@pytest.mark.interop
def test_viewer_opens_a_dataset_made_by_openretina(qtbot: QtBot, tmp_path: Path) -> None:
    from openretina.cli import create_data as reference_create_data

    state = np.random.get_state()
    np.random.seed(0)
    try:
        reference_create_data.write_data_to_directory(
            str(tmp_path), num_colors=2, num_stimuli=2, num_sessions=1, clip_length=1
        )
    finally:
        np.random.set_state(state)
    viewer = DatasetViewer(tmp_path)
    qtbot.addWidget(viewer)
    assert wait_until(lambda: viewer.report is not None, 30)
    assert viewer.card is None
    assert "No dataset card" in viewer.card_text.toPlainText()
    assert viewer.session.count() == 1 and viewer.stimulus.count() == 2
    data = viewer.preview.data
    assert data is not None and data.movie.shape[0] == 2  # two colour channels
    viewer.preview.channel_box.setCurrentIndex(1)
    np.testing.assert_array_equal(
        viewer.preview.image.image, np.asarray(data.movie[1, 0], np.float32)
    )
    viewer.close()


@pytest.mark.gui
def test_a_missing_folder_is_shown_not_opened_nor_remembered(
    wizard: ImportWizard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    missing = tmp_path / "nonexistent_ds"
    assert wizard.open_viewer(missing) is None
    assert len(shown) == 1 and "no such dataset folder" in shown[0] and "hint:" in shown[0]
    assert wizard.viewers == []
    assert recent(wizard.settings, "datasets") == []


@pytest.mark.gui
def test_a_corrupt_card_opens_read_only_and_says_the_card_is_unreadable(
    wizard: ImportWizard, dataset: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "corrupt_card"
    shutil.copytree(dataset, copy)
    (copy / "openretina_data.json").write_text("{", encoding="utf-8")
    viewer = wizard.open_viewer(copy)
    assert viewer is not None
    assert viewer.card is None
    text = viewer.card_text.toPlainText()
    assert text.startswith("The dataset card is unreadable") and "hint:" in text
    assert not viewer.card_notice.isHidden()
    assert wait_until(lambda: viewer.report is not None, 30)
    assert viewer.session.count() == 2  # check() still lists the sessions
    assert recent(wizard.settings, "datasets") == [str(copy.resolve())]
    viewer.close()


def test_the_wizard_command_refuses_a_missing_folder_before_any_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.main as entry

    monkeypatch.setattr(entry, "display_available", lambda: True)
    monkeypatch.setattr(entry, "qt_window_problem", lambda: None)
    monkeypatch.setattr(
        "app.wizard.ImportWizard.__init__", lambda *a: pytest.fail("no window wanted")
    )
    assert entry.main([str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no such dataset folder") and "hint:" in err


@pytest.mark.gui
def test_a_recent_dataset_that_was_deleted_is_shown_not_raised(
    wizard: ImportWizard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    gone = tmp_path / "deleted_ds"
    remember(wizard.settings, "datasets", gone)
    start = wizard.start_page
    start.load()
    start.recent_datasets.itemActivated.emit(start.recent_datasets.item(0))
    assert len(shown) == 1 and str(gone) in shown[0]
    assert wizard.viewers == []


@pytest.mark.gui
def test_viewer_shows_the_timing_report_the_card_keeps(qtbot: QtBot, tmp_path: Path) -> None:
    from openretina_data.example import DROPPED_FRAME

    assert cli_main(["create-example", str(tmp_path)]) == 0
    assert cli_main(["convert", "--quiet", str(tmp_path / "recipe.yaml")]) == 0
    viewer = DatasetViewer(tmp_path / "dataset")
    qtbot.addWidget(viewer)
    text = viewer.timing_text.toPlainText()
    assert f"session_02: interpolated frame {DROPPED_FRAME} at" in text
    assert "session_01: fill_dropped auto: 1 050 frames in 1 run(s)" in text
    assert wait_until(lambda: viewer.report is not None, 30)


@pytest.mark.gui
def test_viewer_says_when_there_is_no_timing_report(qtbot: QtBot, dataset: Path) -> None:
    viewer = DatasetViewer(dataset)
    qtbot.addWidget(viewer)
    assert viewer.timing_text.toPlainText().startswith("No timing report")
    assert wait_until(lambda: viewer.report is not None, 30)
