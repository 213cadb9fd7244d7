"""``layout.check``: every problem class, reported at once, never a crash."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from openretina_data.layout import CARD_NAME, check
from openretina_data.testing import create_data

FRAMES = 50


@pytest.fixture()
def dataset(tmp_path: Path) -> Path:
    return create_data(
        tmp_path / "ds",
        num_colors=2,
        num_stimuli=3,
        num_sessions=2,
        frames=FRAMES,
        height=6,
        width=4,
    )


def _without_card(root: Path) -> Path:
    (root / CARD_NAME).unlink()
    return root


def _problem(report, code: str, file: str | None = None):
    found = [p for p in report.problems if p.code == code and (file is None or p.file == file)]
    assert found, f"no {code} for {file}:\n{report.to_text()}"
    assert all(p.fix and p.message for p in found)
    return found[0]


def test_synthetic_dataset_checks_clean(dataset):
    report = check(dataset)
    assert report.ok and report.problems == []
    assert report.summary.neurons.keys() == {"session_0", "session_1"}
    assert report.summary.frames == {f"random_noise_{i}": FRAMES for i in range(3)}
    assert report.summary.test_stimuli == ["random_noise_2"]


@pytest.mark.interop
def test_openretina_create_data_output_checks_ok(tmp_path):
    # Fails (not skips) when openretina is missing: interop is a requirement.
    from openretina.cli.create_data import write_data_to_directory

    write_data_to_directory(
        str(tmp_path / "theirs"), num_colors=2, num_stimuli=2, num_sessions=2, clip_length=2
    )
    report = check(tmp_path / "theirs")
    assert report.ok, report.to_text()
    assert report.codes() <= {"card-missing", "stimulus-dtype"}
    assert report.codes("error") == set() and report.codes("warning") == set()
    assert len(report.summary.neurons) == 2


def test_missing_stimuli_folder(dataset):
    shutil.rmtree(dataset / "stimuli")
    report = check(_without_card(dataset))
    assert _problem(report, "no-stimuli-dir").severity == "error"
    assert _problem(report, "unknown-stimulus", "session_0.hdf5").key == "responses_random_noise_0"


def test_session_without_responses_and_unknown_stimulus(dataset):
    with h5py.File(dataset / "empty.hdf5", "w") as handle:
        handle["session_info/celltypes"] = np.arange(3)
    with h5py.File(dataset / "session_0.hdf5", "a") as handle:
        handle["responses_ghost"] = np.ones((handle["responses_random_noise_0"].shape[0], FRAMES))
    report = check(dataset)
    assert _problem(report, "no-responses", "empty.hdf5").severity == "error"
    assert "ghost" in _problem(report, "unknown-stimulus", "session_0.hdf5").message
    assert not report.ok


def test_length_mismatch_names_both_numbers_and_spots_transposes(dataset):
    with h5py.File(dataset / "session_0.hdf5", "a") as handle:
        neurons = handle["responses_random_noise_0"].shape[0]
        del handle["responses_random_noise_0"]
        handle["responses_random_noise_0"] = np.ones((neurons, FRAMES - 3), np.float32)
        del handle["responses_random_noise_1"]
        handle["responses_random_noise_1"] = np.ones((FRAMES, neurons), np.float32)
    report = check(dataset)
    mismatches = {p.key: p for p in report.problems if p.code == "length-mismatch"}
    assert f"{FRAMES} frames" in mismatches["responses_random_noise_0"].message
    assert f"have {FRAMES - 3}" in mismatches["responses_random_noise_0"].message
    assert "Transpose" in mismatches["responses_random_noise_1"].fix
    assert "neuron-count-mismatch" in report.codes("error")


def test_wrong_ndim_shape_and_dtype(dataset):
    np.save(dataset / "stimuli" / "flat.npy", np.zeros((FRAMES, 6, 4), np.float32))
    np.save(dataset / "stimuli" / "words.npy", np.array(["a", "b"]))
    np.save(dataset / "stimuli" / "wide.npy", np.zeros((2, FRAMES, 6, 5), np.float32))
    np.save(dataset / "stimuli" / "doubles.npy", np.zeros((2, FRAMES, 6, 4)))
    with h5py.File(dataset / "session_1.hdf5", "a") as handle:
        handle["responses_random_noise_0_3d"] = np.ones((2, 3, FRAMES))
        handle["responses_text"] = np.array([b"x", b"y"])
    report = check(dataset)
    assert _problem(report, "stimulus-shape", "stimuli/flat.npy").severity == "error"
    assert _problem(report, "stimulus-dtype", "stimuli/words.npy").severity == "error"
    assert _problem(report, "frame-size-mismatch", "stimuli/wide.npy").severity == "error"
    assert _problem(report, "stimulus-dtype", "stimuli/doubles.npy").severity == "info"
    assert _problem(report, "response-shape", "session_1.hdf5").key == "responses_random_noise_0_3d"
    assert _problem(report, "response-dtype", "session_1.hdf5").key == "responses_text"


def test_session_specific_stimulus_with_other_frame_size(dataset):
    with h5py.File(dataset / "session_1.hdf5", "a") as handle:
        handle["stimulus_random_noise_0"] = np.zeros((1, FRAMES, 6, 4), np.float32)
    report = check(dataset)
    problem = _problem(report, "frame-size-mismatch", "session_1.hdf5")
    assert problem.key == "stimulus_random_noise_0" and "(1, 6, 4)" in problem.message


def test_nan_and_inf_in_stimuli_and_responses(dataset):
    movie = np.load(dataset / "stimuli" / "random_noise_1.npy")
    movie[0, 40, 1, 1] = np.nan
    np.save(dataset / "stimuli" / "random_noise_1.npy", movie)
    with h5py.File(dataset / "session_0.hdf5", "a") as handle:
        handle["responses_random_noise_2"][0, 3] = np.inf
    fortran = np.asfortranarray(np.load(dataset / "stimuli" / "random_noise_2.npy"))
    fortran[1, 10, 0, 0] = -np.inf
    np.save(dataset / "stimuli" / "random_noise_2.npy", fortran)
    report = check(dataset)
    assert _problem(report, "non-finite", "stimuli/random_noise_1.npy").severity == "error"
    assert _problem(report, "non-finite", "stimuli/random_noise_2.npy").severity == "error"
    assert _problem(report, "non-finite", "session_0.hdf5").key == "responses_random_noise_2"


def test_duplicate_session_stems_and_case_only_differences(dataset):
    """openretina 1.1.1 lets s0.h5 and s0.hdf5 overwrite each other (DESIGN §7): check flags it."""
    shutil.copy(dataset / "session_0.hdf5", dataset / "session_0.h5")
    shutil.copy(dataset / "session_1.hdf5", dataset / "Session_1.hdf5")
    report = check(_without_card(dataset))
    duplicates = [p for p in report.problems if p.code == "duplicate-session"]
    assert len(duplicates) == 2
    assert any("same session name" in p.message for p in duplicates)
    assert any("letter case" in p.message for p in duplicates)
    shutil.copy(
        dataset / "stimuli" / "random_noise_0.npy", dataset / "stimuli" / "Random_Noise_0.npy"
    )
    assert _problem(check(dataset), "duplicate-stimulus").severity == "error"


def test_unreadable_files_never_crash(dataset):
    good = (dataset / "session_0.hdf5").read_bytes()
    (dataset / "truncated.hdf5").write_bytes(good[: len(good) // 2])
    (dataset / "zero.hdf5").write_bytes(b"")
    (dataset / "notes.h5").write_text("this is not HDF5")
    (dataset / "folder.hdf5").mkdir()
    movie = (dataset / "stimuli" / "random_noise_0.npy").read_bytes()
    (dataset / "stimuli" / "cut.npy").write_bytes(movie[: len(movie) - 100])
    (dataset / "stimuli" / "zero.npy").write_bytes(b"")
    (dataset / "stimuli" / "garbage.npy").write_bytes(b"\x93NUMPY garbage")
    np.save(
        dataset / "stimuli" / "pickled.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True
    )
    report = check(dataset)
    unreadable = {p.file for p in report.problems if p.code == "unreadable-file"}
    assert unreadable >= {
        "truncated.hdf5",
        "zero.hdf5",
        "notes.h5",
        "folder.hdf5",
        "stimuli/cut.npy",
        "stimuli/zero.npy",
        "stimuli/garbage.npy",
        "stimuli/pickled.npy",
    }
    assert "empty" in _problem(report, "unreadable-file", "zero.hdf5").message
    assert "truncated" in _problem(report, "unreadable-file", "stimuli/cut.npy").message


def test_test_by_trial_shape_and_orphans(dataset):
    with h5py.File(dataset / "session_0.hdf5", "a") as handle:
        neurons = handle["responses_random_noise_2"].shape[0]
        handle["test_by_trial_random_noise_2"] = np.ones((4, neurons + 1, FRAMES))
        handle["test_by_trial_elsewhere"] = np.ones((4, neurons, FRAMES))
    report = check(dataset)
    assert f"(trials, {neurons}, {FRAMES})" in _problem(report, "test-by-trial-shape").message
    assert _problem(report, "test-by-trial-without-responses").key == "test_by_trial_elsewhere"


def test_card_missing_is_only_info(dataset):
    report = check(_without_card(dataset))
    assert report.ok and report.codes() == {"card-missing"}
    assert _problem(report, "card-missing").severity == "info"


def test_card_not_matching_files(dataset):
    movie = np.load(dataset / "stimuli" / "random_noise_0.npy")
    np.save(dataset / "stimuli" / "random_noise_0.npy", movie[:, :, :, :])  # same size, new mtime
    stat = (dataset / "stimuli" / "random_noise_0.npy").stat()
    os.utime(
        dataset / "stimuli" / "random_noise_0.npy", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9)
    )
    with h5py.File(dataset / "session_1.hdf5", "a") as handle:
        handle["extra_notes"] = np.arange(100_000)
    report = check(dataset)
    stale = {p.file: p.severity for p in report.problems if p.code == "card-stale"}
    assert stale == {"stimuli/random_noise_0.npy": "warning", "session_1.hdf5": "error"}
    (dataset / "session_0.hdf5").unlink()
    assert _problem(check(dataset), "card-stale", "session_0.hdf5").message.endswith("missing")


def test_card_invalid_or_naming_unknown_test_stimuli(dataset):
    card = json.loads((dataset / CARD_NAME).read_text())
    card["test_stimuli"] = ["not_there", "train"]
    (dataset / CARD_NAME).write_text(json.dumps(card))
    report = check(dataset)
    assert "not_there" in _problem(report, "card-unknown-test-stimulus").message
    assert _problem(report, "reserved-name").file == CARD_NAME
    (dataset / CARD_NAME).write_text("{broken")
    assert _problem(check(dataset), "card-invalid").severity == "error"


def test_every_problem_is_reported_at_once(dataset):
    (dataset / "zero.hdf5").write_bytes(b"")
    np.save(dataset / "stimuli" / "flat.npy", np.zeros((FRAMES, 6, 4), np.float32))
    with h5py.File(dataset / "session_0.hdf5", "a") as handle:
        handle["responses_random_noise_2"][0, 0] = np.nan
        handle["responses_ghost"] = np.ones((2, 3))
    shutil.copy(dataset / "session_1.hdf5", dataset / "session_1.h5")
    report = check(dataset)
    assert {
        "unreadable-file",
        "stimulus-shape",
        "non-finite",
        "unknown-stimulus",
        "duplicate-session",
    } <= report.codes("error")
    data = report.to_dict()
    assert data["ok"] is False and data["counts"]["error"] == len(report.errors)
    json.dumps(data)
    text = report.to_text()
    assert text.count("fix: ") == len(report.problems) and "PROBLEMS FOUND" in text


def test_not_a_folder(tmp_path):
    (tmp_path / "file.hdf5").write_bytes(b"")
    assert check(tmp_path / "file.hdf5").codes("error") == {"not-a-folder"}
    assert check(tmp_path / "nowhere").codes("error") == {"not-a-folder"}
    (tmp_path / "empty").mkdir()
    assert check(tmp_path / "empty").codes("error") == {"no-sessions"}


def test_a_copied_dataset_gets_one_mtime_warning_not_one_per_file(dataset, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(dataset, copy, copy_function=shutil.copy)  # copies data, not mtimes
    for path in copy.rglob("*.*"):
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    report = check(copy)
    assert report.ok
    stale = [p for p in report.problems if p.code == "card-stale"]
    assert len(stale) == 1 and stale[0].severity == "warning" and "5 file(s)" in stale[0].message
