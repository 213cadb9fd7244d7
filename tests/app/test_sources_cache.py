"""Picked files are probed in a child process: a damaged file is a message, never a dead window."""

from __future__ import annotations

from pathlib import Path

import pytest

import app.sources_cache as sources_cache
from app.screenshots import wait_until
from app.wizard import ImportWizard
from openretina_data.testing.corrupt import truncate
from openretina_data.testing.formats import write_hdf5, write_mat_v5


def _stimulus_problem(wizard: ImportWizard, path: Path) -> str:
    wizard.start_page.new_conversion()
    page = wizard.stimuli_page
    page.add_paths([str(path)])
    assert wait_until(lambda: str(path) in wizard.state.probes and page.busy.text() == "", 30)
    return page.reason.text()


def test_a_truncated_hdf5_stimulus_is_reported_in_the_page(
    wizard: ImportWizard, tmp_path: Path
) -> None:
    path, _ = write_hdf5(tmp_path / "movie.h5")
    truncate(path)
    problem = _stimulus_problem(wizard, path)
    assert "movie.h5" in problem
    assert wizard.state.probes[str(path)].error in problem
    assert wizard.isVisible()
    # The window still works: the next file is probed and added.
    good, _ = write_mat_v5(tmp_path / "good.mat")
    wizard.stimuli_page.add_paths([str(good)])
    assert wait_until(lambda: str(good) in wizard.state.probes, 30)
    assert wizard.state.probes[str(good)].info is not None


def test_a_probe_that_hangs_is_stopped_and_explained(
    wizard: ImportWizard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A limit no child process can meet stands in for a file that makes libhdf5 loop.
    monkeypatch.setattr(sources_cache, "PROBE_TIMEOUT_S", 0.001)
    path, _ = write_hdf5(tmp_path / "recording.h5")
    problem = _stimulus_problem(wizard, path)
    assert "took longer than" in problem and "damaged" in problem
    assert wizard.isVisible()


def test_a_damaged_response_file_is_reported_in_the_responses_page(
    wizard: ImportWizard, tmp_path: Path
) -> None:
    path, _ = write_hdf5(tmp_path / "spikes.h5")
    truncate(path, 0.3)
    wizard.start_page.new_conversion()
    wizard.next()  # → responses
    page = wizard.responses_page
    assert wizard.currentPage() is page
    page.add_paths([str(path)])
    assert wait_until(lambda: str(path) in wizard.state.probes and page.busy.text() == "", 30)
    error = wizard.state.probes[str(path)].error
    assert error and error in page.reason.text()
    assert wizard.isVisible()
