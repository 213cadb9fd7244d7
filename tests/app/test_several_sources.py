"""A session recorded in several files: joined on Responses, one row per file on Sessions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QComboBox, QWizard

from app.screenshots import wait_until
from app.wizard import ImportWizard
from openretina_data.h5_dataset_reader import load_responses
from openretina_data.layout import check


def _go_to(wizard: ImportWizard, page_id: str) -> None:
    while wizard.currentPage() is not wizard.pages[page_id]:
        wizard.next()


def test_a_session_in_two_files_is_edited_per_file_and_converts_in_order(
    wizard: ImportWizard, tmp_path: Path
) -> None:
    rng = np.random.default_rng(0)
    np.save(tmp_path / "natural.npy", rng.random((40, 4, 5), dtype=np.float32))
    np.save(tmp_path / "test.npy", rng.random((10, 4, 5), dtype=np.float32))
    natural = rng.poisson(2.0, (3, 40)).astype(np.float32)
    repeats = rng.poisson(2.0, (3, 20)).astype(np.float32)  # two repeats of the test clip
    np.save(tmp_path / "s0_natural.npy", natural)
    np.save(tmp_path / "s0_test.npy", repeats)
    wizard.start_page.new_conversion()
    stimuli = wizard.stimuli_page
    stimuli.add_paths([str(tmp_path / "natural.npy"), str(tmp_path / "test.npy")])
    assert wait_until(lambda: len(wizard.state.recipe.stimuli) == 2, 10)
    wizard.state.recipe.stimuli[1].split = "test"
    wizard.next()
    responses = wizard.responses_page
    responses.add_paths([str(tmp_path / "s0_natural.npy"), str(tmp_path / "s0_test.npy")])
    assert wait_until(lambda: len(wizard.state.recipe.sessions) == 2, 10)
    session_of_second = responses.table.cellWidget(1, 0)
    assert isinstance(session_of_second, QComboBox)
    session_of_second.setCurrentText("s0_natural")  # the second file is the same recording
    assert wait_until(lambda: len(wizard.state.recipe.sessions) == 1, 5)
    assert wait_until(lambda: responses.table.rowCount() == 2, 5)  # both files still listed
    for row in range(2):
        responses.table.cellWidget(row, 8).setChecked(True)
    wizard.next()
    sessions = wizard.sessions_page
    table = sessions.table
    assert table.rowCount() == 2
    assert table.item(0, 0).text() == "s0_natural"
    assert "file 2 of 2" in table.item(1, 0).text()
    assert table.item(1, 1).text().endswith("s0_test.npy")
    table.item(0, 0).setText("s0")
    table.item(0, 2).setText("natural")
    table.item(1, 2).setText("test×2")  # edits the second file, not the first
    [session] = wizard.state.recipe.sessions
    assert session.name == "s0"
    assert [[(e.stimulus, e.repeats) for e in r.epochs] for r in session.responses] == [
        [("natural", 1)],
        [("test", 2)],
    ]
    assert wizard.button(QWizard.WizardButton.NextButton).isEnabled(), sessions.reason.text()
    wizard.next()
    assert wizard.timing_page.session.count() == 2  # one timing choice per file
    _go_to(wizard, "preview")
    preview = wizard.preview_page
    assert wait_until(lambda: not preview.busy and preview.preview.data is not None, 30)
    assert preview.epoch.count() == 2
    assert "file 2 of 2" in preview.epoch.itemText(1)
    preview.epoch.setCurrentIndex(1)  # the test repeats, read from the second file
    assert wait_until(lambda: not preview.busy, 30)
    data = preview.preview.data
    assert data is not None and data.n_frames == 10 and data.n_neurons == 3
    _go_to(wizard, "write")
    write = wizard.write_page
    write.output.setText(str(tmp_path / "dataset"))
    write.output.editingFinished.emit()
    assert wait_until(lambda: not write.planning, 30)
    assert write.plan_errors == [], write.plan_problems.text()
    write.start()
    assert wait_until(lambda: write.outcome != "", 60)
    assert write.outcome == "done", write.log.toPlainText()
    assert check(tmp_path / "dataset").ok
    loaded = load_responses(str(tmp_path / "dataset"), ["test"])["s0"]
    np.testing.assert_allclose(loaded.train, natural)
    np.testing.assert_allclose(loaded.test_dict["test"], repeats.reshape(3, 2, 10).mean(axis=1))
