"""The wizard leads to the right dataset: frame-time problems block Convert, New conversion
starts clean, nothing is clipped, the core's CLI words become controls, a parent folder's
recordings are found."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtWidgets import QWizard

from app.finding import describe_found, find_recordings
from app.pages.write import blocks
from app.screenshots import wait_until
from app.sources_cache import probe_path
from app.wizard import ImportWizard
from app.wording import CLI_WORDS, gui_words


def _go_to(wizard: ImportWizard, page_id: str) -> None:
    while wizard.currentPage() is not wizard.pages[page_id]:
        page = wizard.currentPage()
        assert wait_until(page.isComplete, 30), page.reason.text()
        wizard.next()


def _checked(page) -> bool:
    return page._task is not None and not page._task.running


# --- 1. a frame-time count that does not fit the stimulus is a red problem ---------------


def test_repair_off_on_a_missed_trigger_is_red_on_timing_and_blocks_convert(
    wizard: ImportWizard, example_recipe: Path
) -> None:
    # session_02's trigger channel misses one pulse: 1 049 triggers for 1 050 frames.
    assert wizard.open_recipe(example_recipe)
    _go_to(wizard, "timing")
    timing = wizard.pages["timing"]
    from openretina_data.recipe import FrameTimes

    assert FrameTimes().fill_dropped == "auto"  # the default: the counts decide
    timing.session.setCurrentIndex(1)
    timing.fill.setCurrentIndex(timing.fill.findData("auto"))
    assert wizard.state.recipe.sessions[0].responses[0].frame_times.fill_dropped == "auto"
    assert wait_until(lambda: _checked(timing) and not timing._recheck, 30)
    assert timing.errors == {} and timing.isComplete()
    assert "interpolated, which makes the count match" in timing.report.text()
    timing.fill.setCurrentIndex(timing.fill.findData(False))  # Off
    assert wait_until(lambda: _checked(timing) and bool(timing.errors), 30)
    assert timing.report.property("role") == "problem"
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    reason = timing.reason.text()
    assert "1 049 frame times cannot be matched to the 1 050 frames" in reason
    assert "set Repair to Auto on the Timing page" in reason
    assert not any(word in reason for word in CLI_WORDS), reason
    write = wizard.pages["write"]
    write.update_plan()  # what Write would show with this recipe
    assert wait_until(lambda: not write.planning, 60)
    assert write.plan_errors and not write.convert_button.isEnabled()
    assert any("Repair" in e for e in write.plan_errors)


def test_a_count_mismatch_warning_blocks_convert() -> None:
    warning = SimpleNamespace(
        severity="warning",
        message="2 101 frame times but the stimulus has 2 100 frames: 1 more",
    )
    other = SimpleNamespace(severity="warning", message="the spike sorting holds no spikes")
    assert blocks(warning) and not blocks(other)
    assert blocks(SimpleNamespace(severity="error", message="anything"))


# --- 4. New conversion starts from a clean state ------------------------------------------


def test_new_conversion_resets_every_page_and_recents_update_at_once(
    wizard: ImportWizard, example_recipe: Path, tmp_path: Path
) -> None:
    assert wizard.open_recipe(example_recipe)
    _go_to(wizard, "timing")
    timing = wizard.pages["timing"]
    assert wait_until(lambda: timing.last_check is not None, 30)
    write = wizard.pages["write"]
    # as after a finished conversion
    write.runner.target = str(tmp_path / "old_dataset")
    write.runner._done(None)
    write._ended("done")
    assert write.outcome == "done" and wizard.state.written_dir
    start = wizard.pages["start"]
    assert start.recent_datasets.count() == 1  # remembered the moment it was written
    assert start.recent_recipes.count() == 1
    wizard.pages["stimuli"].thumb_caption.setText("'natural': 600 frames")
    wizard.restart()
    start.new_conversion()
    state = wizard.state
    assert state.recipe.stimuli == [] and state.recipe.sessions == []
    assert state.written_dir == "" and state.triggers == [] and state.probes == {}
    assert write.outcome == "" and write.log.toPlainText() == ""
    assert write.runner.progress.value() == 0 and not write.convert_button.isEnabled()
    assert not write.isComplete()
    assert timing.last_check is None and timing.plot.listDataItems() == []
    assert wizard.pages["stimuli"].thumb_caption.text() == "Select a stimulus to see its frames."
    use = wizard.pages["use"]
    assert use.result is None and use.code.toPlainText() == ""
    assert wizard.pages["preview"].alignment.result is None


# --- 8. nothing clipped: Write's plan and problems scroll and wrap -----------------------


@pytest.mark.parametrize("scale", [1, 2])
def test_write_problems_wrap_and_scroll_at_the_default_size(
    wizard: ImportWizard, scale: int
) -> None:
    wizard.resize(1180, 700)
    font = wizard.font()
    font.setPointSizeF(font.pointSizeF() * scale)  # what a 2× screen does to the text
    wizard.setFont(font)
    write = wizard.pages["write"]
    problem = (
        "1 049 frame times cannot be matched to the 1 050 frames of the epochs "
        "(session s2, file raw/s2/ttl.npy) — set Repair to Auto on the Timing page. "
    ) * 2
    write.plan_errors = [problem] * 12
    write.plan_text.setText("\n".join("x" * 300 for _ in range(40)))  # a long, wide table
    write._show_plan()
    write.show()
    write.resize(1180, 600)
    wait_until(lambda: False, 0.3)
    label, scroll = write.plan_problems, write.problems_scroll
    assert label.isVisible()
    viewport = scroll.viewport().width()
    assert label.width() <= viewport  # wrapped to the page, never cut at the right
    assert label.height() >= label.heightForWidth(label.width())  # every line shown
    assert scroll.verticalScrollBar().maximum() > 0  # taller than the page: it scrolls
    assert write.plan_scroll.horizontalScrollBar().maximum() > 0  # the wide table scrolls


# --- 9. the core's command-line words become the wizard's controls -----------------------


@pytest.mark.parametrize(
    "core",
    [
        "Choose a new folder, pass --overwrite to replace it, or --append to add sessions.",
        "Choose a new folder, or pass --overwrite to replace that dataset.",
        "Pick one of the available keys (`openretina-data inspect FILE` lists them).",
        "fill_dropped is false, so no missed trigger is filled in: set it to auto.",
        "If every one of them is a missed trigger set fill_dropped: true, if every one is a "
        "held frame set fill_dropped: false",
        "3 frames had no trigger; pass fill_dropped=True to interpolate their times",
        "Fix the trigger channel or choose the repair options explicitly "
        "(fill_dropped / drop_duplicates), then check the alignment preview.",
        "Create the dataset first (without --append).",
    ],
)
def test_core_hints_are_shown_in_gui_words(core: str) -> None:
    shown = gui_words(core)
    assert not any(word in shown for word in CLI_WORDS), shown


def test_the_output_hint_names_the_replace_box() -> None:
    shown = gui_words("Choose a new folder, or pass --overwrite to replace that dataset.")
    assert shown == "Choose a new Output folder, or tick 'Replace it if it exists'."


# --- 10. adding a parent folder finds the recordings inside ------------------------------


def test_adding_the_experiment_folder_finds_its_recordings(
    wizard: ImportWizard, example_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = find_recordings(example_root / "raw", probe_path)
    names = sorted(Path(p.path).relative_to(example_root / "raw").as_posix() for p in found)
    assert names == ["session_01/phy", "session_01/ttl.npy", "session_02/phy", "session_02/ttl.npy"]
    assert describe_found(found) == "2 Phy/Kilosort folders, 2 trigger channels"
    asked: list[str] = []
    _go_to(wizard, "stimuli")
    stimuli = example_root / "stimuli"
    wizard.pages["stimuli"].add_paths([str(stimuli / n) for n in ("natural.tif", "test_clip.npy")])
    assert wait_until(lambda: len(wizard.state.recipe.stimuli) == 2, 30)
    wizard.pages["stimuli"].table.cellWidget(1, 6).setCurrentText("twh")
    wizard.next()
    page = wizard.pages["responses"]
    monkeypatch.setattr(
        page, "confirm_found", lambda folder, summary: asked.append(summary) or True
    )
    page.add_paths([str(example_root / "raw")])
    assert wait_until(lambda: len(wizard.state.recipe.sessions) == 2, 30)
    assert asked == ["2 Phy/Kilosort folders, 2 trigger channels"]
    assert len(wizard.state.triggers) == 2
    assert [s.name for s in wizard.state.recipe.sessions] == ["session_01", "session_02"]


# --- 5. Sessions: a trigger found in a Phy folder, shown as a guess until seen on Timing ---


def test_a_ttl_inside_a_phy_folder_is_the_guessed_trigger_at_params_rate(
    wizard: ImportWizard, example_root: Path, tmp_path: Path
) -> None:
    import shutil

    phy = tmp_path / "rec" / "retina1" / "phy"
    shutil.copytree(example_root / "raw" / "session_01" / "phy", phy)
    shutil.copy(example_root / "raw" / "session_01" / "ttl.npy", phy / "ttl.npy")
    (phy / "params.py").write_text("sample_rate = 2000.0\nn_channels_dat = 4\n")
    _go_to(wizard, "stimuli")
    stimuli = example_root / "stimuli"
    wizard.pages["stimuli"].add_paths([str(stimuli / n) for n in ("natural.tif", "test_clip.npy")])
    assert wait_until(lambda: len(wizard.state.recipe.stimuli) == 2, 30)
    wizard.pages["stimuli"].table.cellWidget(1, 6).setCurrentText("twh")
    wizard.next()
    responses = wizard.pages["responses"]
    responses.add_paths([str(phy)])
    assert wait_until(lambda: len(wizard.state.recipe.sessions) == 1, 30)
    source = wizard.state.recipe.sessions[0].responses[0]
    times = source.frame_times
    assert (times.kind, Path(times.path or "").name) == ("trigger", "ttl.npy")
    assert times.sampling_rate_hz == 2000.0 == source.sampling_rate_hz  # from params.py
    responses.table.cellWidget(0, 8).setChecked(True)
    wizard.next()
    sessions = wizard.pages["sessions"]
    sessions.table.item(0, 2).setText("natural, test_clip×3")
    assert sessions.table.item(0, 3).text() == "trigger: ttl.npy at 2000 Hz"
    assert sessions.table.item(0, 4).text() == "guessed: check the frame times on Timing"
    wizard.next()
    timing = wizard.pages["timing"]
    assert wait_until(lambda: _checked(timing) and not timing._recheck, 30)
    assert timing.errors == {}, timing.report.text()
    assert source.path not in wizard.state.guessed_timing
    wizard.back()
    assert sessions.table.item(0, 4).text() == "ok"


# --- 6. the Array of a timestamp file is picked from its arrays, with shapes ---------------


def test_the_timestamp_array_is_a_list_of_the_files_arrays_checked_on_timing(
    wizard: ImportWizard, example_recipe: Path, tmp_path: Path
) -> None:
    import h5py

    stamps = tmp_path / "rig.h5"
    with h5py.File(stamps, "w") as f:
        f["frames/onsets"] = 1.0 + np.arange(1050) / 30.0
        f["frames/image"] = np.zeros((4, 5, 6))
        f["photodiode"] = np.zeros(900)
    assert wizard.open_recipe(example_recipe)
    _go_to(wizard, "timing")
    timing = wizard.pages["timing"]
    timing.kind.setCurrentIndex(timing.kind.findData("timestamps"))
    timing.path.setText(str(stamps))
    timing.path.editingFinished.emit()
    assert wait_until(lambda: str(stamps) in timing.file_probes, 30)
    items = [timing.key.itemText(i) for i in range(timing.key.count())]
    assert items == [
        "choose an array…",
        "frames/image (4×5×6)",
        "frames/onsets (1050, s)",
        "photodiode (900, s)",
    ]
    assert "choose the Array that holds the timestamps" in timing.reason.text()
    timing.key.setCurrentIndex(timing.key.findData("frames/image"))
    assert "is not one timestamps series" in timing.reason.text()
    timing.key.setCurrentIndex(timing.key.findData("frames/onsets"))
    assert wait_until(lambda: _checked(timing) and not timing._recheck, 30)
    assert "Array" not in timing.reason.text()
    assert wizard.state.recipe.sessions[0].responses[0].frame_times.key == "frames/onsets"


# --- 7. mixed units are flagged on Responses, with a way out -----------------------------


def test_calcium_beside_spikes_is_flagged_and_split_into_a_second_recipe(
    wizard: ImportWizard, tmp_path: Path
) -> None:
    from openretina_data.recipe import load_recipe

    np.save(tmp_path / "natural.npy", np.zeros((40, 4, 5), np.float32))
    for session, name in (("retina1", "responses.npy"), ("retina2", "traces.npy")):
        (tmp_path / session).mkdir()
        np.save(tmp_path / session / name, np.zeros((3, 40), np.float32))
    _go_to(wizard, "stimuli")
    wizard.pages["stimuli"].add_paths([str(tmp_path / "natural.npy")])
    assert wait_until(lambda: len(wizard.state.recipe.stimuli) == 1, 10)
    wizard.next()
    page = wizard.pages["responses"]
    page.add_paths([str(tmp_path / "retina1" / "responses.npy")])
    page.add_paths([str(tmp_path / "retina2" / "traces.npy")])
    assert wait_until(lambda: len(wizard.state.recipe.sessions) == 2, 10)
    # rows follow the sessions, in the order their probes finished: find retina2's
    row = [s.name for s in wizard.state.recipe.sessions].index("retina2")
    page.table.cellWidget(row, 4).setCurrentText("traces")
    page.table.cellWidget(row, 5).setCurrentText("dF/F")
    wait_until(lambda: False, 0.2)  # the row is rebuilt for its new kind
    page.table.cellWidget(row, 6).setValue(40.0)
    assert wizard.state.recipe.sessions[row].responses[0].sampling_rate_hz == 40.0
    for row in range(2):
        page.table.cellWidget(row, 8).setChecked(True)
    assert "different units (dF/F: retina2; spikes/bin: retina1)" in page.reason.text()
    assert "Convert these as a second dataset" in page.reason.text()
    # the unit not of the first session is offered (which one follows the probes' order)
    assert page.split_row.isVisible() and page.split_unit.count() == 1
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    written = page.split("dF/F", tmp_path / "calcium.yaml")
    assert [s.name for s in wizard.state.recipe.sessions] == ["retina1"]
    assert wizard.button(QWizard.WizardButton.NextButton).isEnabled(), page.reason.text()
    second = load_recipe(written)
    assert [s.name for s in second.sessions] == ["retina2"]
    assert second.sessions[0].responses[0].unit == "dF/F"
    assert [s.name for s in second.stimuli] == ["natural"]
    assert second.output == "dataset_dF_per_F"
    assert wizard.pages["start"].recent_recipes.count() == 1


# --- 5b. repeats: a trigger count that fits another number of repeats is said, not applied --


def test_repeats_hint_by_arithmetic() -> None:
    from app.pages.timing import repeats_hint
    from openretina_data.recipe import Epoch

    lengths = {"natural": 600, "test": 150}
    epochs = [Epoch("natural"), Epoch("test", repeats=2)]
    assert "test shown 3 times (not 2)" in repeats_hint(epochs, lengths, 600 + 3 * 150)
    assert repeats_hint(epochs, lengths, 600 + 2 * 150) == ""  # as listed
    assert repeats_hint(epochs, lengths, 600 + 2 * 150 + 7) == ""  # fits no whole number
    assert repeats_hint(epochs, {"natural": 600}, 900) == ""  # lengths unknown


def test_timing_says_when_the_trigger_fits_more_repeats(
    wizard: ImportWizard, example_recipe: Path
) -> None:
    # The example shows test_clip 3 times; the recipe is told 2.
    assert wizard.open_recipe(example_recipe)
    wizard.state.recipe.sessions[0].responses[0].epochs[1].repeats = 2
    _go_to(wizard, "timing")
    timing = wizard.pages["timing"]
    assert wait_until(lambda: _checked(timing) and timing.last_check is not None, 30)
    assert timing.last_check.n_triggers == 1050
    assert "test_clip shown 3 times (not 2)" in timing.report.text()
    assert "Sessions page" in timing.report.text()
    assert wizard.state.recipe.sessions[0].responses[0].epochs[1].repeats == 2  # never silently
