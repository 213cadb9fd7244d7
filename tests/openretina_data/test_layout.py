"""The layout-v1 writer, names and dataset card (``check`` has its own test module)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openretina_data import errors
from openretina_data.layout import (
    CARD_NAME,
    DatasetCard,
    DatasetWriter,
    all_finite,
    check,
    parse_npy_header,
    read_card,
    read_npy_header,
    responses_key,
    source_file,
    stimulus_key,
    test_by_trial_key,
    validate_name,
    validate_test_stimuli,
    validate_unique,
)
from openretina_data.layout.names import inside
from openretina_data.layout.slabs import RunningStats


class Boom(RuntimeError):
    pass


def _movie(rng: np.random.Generator, frames: int, channels: int = 2) -> np.ndarray:
    return rng.standard_normal((channels, frames, 6, 5)).astype(np.float32)


def _write_small(
    target: Path, *, seed: int = 0, overwrite: bool = False, sessions: int = 1
) -> dict:
    """A valid two-stimulus dataset; returns the arrays written."""
    rng = np.random.default_rng(seed)
    arrays = {"a": _movie(rng, 40), "b": _movie(rng, 30)}
    with DatasetWriter(
        target, frame_rate_hz=60.0, response_unit="Hz", overwrite=overwrite
    ) as writer:
        for name, movie in arrays.items():
            writer.write_stimulus(name, movie)
        for index in range(sessions):
            session = writer.create_session(f"s{index}")
            for name, movie in [("a", arrays["a"]), ("b", arrays["b"])]:
                responses = rng.random((4, movie.shape[1])).astype(np.float32)
                session.write_responses(name, responses)
                arrays[f"s{index}/{name}"] = responses
        writer.card.test_stimuli = ["b"]
    return arrays


def _siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_written_dataset_is_layout_v1_and_checks_ok(tmp_path):
    arrays = _write_small(tmp_path / "ds")
    root = tmp_path / "ds"
    assert _siblings(tmp_path) == ["ds"]
    assert _siblings(root) == [CARD_NAME, "s0.hdf5", "stimuli"]
    np.testing.assert_array_equal(np.load(root / "stimuli" / "a.npy"), arrays["a"])
    with h5py.File(root / "s0.hdf5") as handle:
        np.testing.assert_array_equal(handle[responses_key("b")][()], arrays["s0/b"])
        assert handle.attrs["layout_version"] == 1
        assert handle.attrs["frame_rate_hz"] == 60.0
        assert handle.attrs["response_unit"] == "Hz"
        assert str(handle.attrs["created_by"]).startswith("openretina-data ")
        assert handle.attrs["recipe_sha256"] == ""
        assert json.loads(handle.attrs["source_files"]) == []
    report = check(root)
    assert report.ok and report.problems == [], report.to_text()


def test_card_records_stats_fingerprints_and_round_trips(tmp_path):
    arrays = _write_small(tmp_path / "ds")
    card = read_card(tmp_path / "ds")
    assert card is not None
    train = arrays["a"].astype(np.float64)
    assert card.norm_mean == pytest.approx(train.mean())
    assert card.norm_std == pytest.approx(train.std())
    assert card.test_stimuli == ["b"] and card.frame_rate_hz == 60.0
    assert card.stimuli["a"] == {"shape": [2, 40, 6, 5], "dtype": "float32"}
    assert card.sessions["s0"]["neurons"] == 4
    assert set(card.files) == {"s0.hdf5", "stimuli/a.npy", "stimuli/b.npy"}
    assert card.stale_files(tmp_path / "ds") == []
    check_b = card.checks["s0.hdf5/responses_b"]
    assert check_b.all_finite and check_b.max == pytest.approx(float(arrays["s0/b"].max()))
    again = DatasetCard.from_json(card.to_json())
    assert again == card


def test_malformed_card_raises_layout_error(tmp_path):
    (tmp_path / CARD_NAME).write_text("{not json")
    with pytest.raises(errors.LayoutError, match="not valid JSON"):
        read_card(tmp_path)
    (tmp_path / CARD_NAME).write_text(json.dumps({"files": {"x": {"size": 1}}}))
    with pytest.raises(errors.LayoutError, match="malformed"):
        read_card(tmp_path)
    for loader in ({"batch_size": "64"}, [64], {"seed": True}):
        (tmp_path / CARD_NAME).write_text(json.dumps({"loader": loader}))
        with pytest.raises(errors.LayoutError, match="loader"):
            read_card(tmp_path)


@pytest.mark.parametrize("rate", [0.0, -30.0, float("nan"), float("inf")])
def test_frame_rate_must_be_a_positive_number(tmp_path, rate):
    with pytest.raises(errors.DataValidationError, match="frame rate"):
        DatasetWriter(tmp_path / "ds", frame_rate_hz=rate)
    with pytest.raises(errors.InvalidNameError, match="response unit"):
        DatasetWriter(tmp_path / "ds", response_unit="spikes")
    assert _siblings(tmp_path) == []


def test_slabs_fill_out_of_order_and_stats_match_the_whole_array(tmp_path):
    rng = np.random.default_rng(3)
    movie = _movie(rng, 100)
    responses = rng.random((3, 100)) * 7
    with DatasetWriter(tmp_path / "ds") as writer:
        stim = writer.create_stimulus("m", movie.shape, "float32")
        for start in (70, 0, 30):
            stim.write(movie[:, start : start + (30 if start < 70 else 30)], start)
        stim.write(movie[:, 60:70], 60)
        session = writer.create_session("s")
        slabs = session.create_responses("m", 3, 100)
        for start in range(0, 100, 17):
            slabs.write(responses[:, start : start + 17])
    np.testing.assert_array_equal(np.load(tmp_path / "ds/stimuli/m.npy"), movie)
    with h5py.File(tmp_path / "ds/s.hdf5") as handle:
        np.testing.assert_allclose(handle["responses_m"][()], responses.astype(np.float32))
    card = read_card(tmp_path / "ds")
    assert card is not None
    stats = card.checks["s.hdf5/responses_m"]
    expected = responses.astype(np.float32).astype(np.float64)
    assert stats.count == expected.size
    assert stats.mean == pytest.approx(expected.mean())
    assert stats.std == pytest.approx(expected.std())


@pytest.mark.parametrize("interruption", [Boom, KeyboardInterrupt, errors.CancelledError])
def test_exception_inside_writer_leaves_no_target_no_temp_no_lock(tmp_path, interruption):
    with pytest.raises(interruption), DatasetWriter(tmp_path / "ds") as writer:
        writer.write_stimulus("a", np.zeros((1, 5, 2, 2), np.float32))
        writer.create_session("s").write_responses("a", np.ones((2, 5)))
        raise interruption("stop")
    assert _siblings(tmp_path) == []


def test_missing_parent_folders_are_made_and_removed_again_on_failure(tmp_path):
    with pytest.raises(Boom), DatasetWriter(tmp_path / "a" / "b" / "ds") as writer:
        writer.write_stimulus("a", np.zeros((1, 5, 2, 2), np.float32))
        raise Boom
    assert _siblings(tmp_path) == []
    _write_small(tmp_path / "a" / "b" / "ds")
    assert check(tmp_path / "a" / "b" / "ds").ok
    (tmp_path / "file").write_text("x")
    with pytest.raises(errors.OutputError, match="not a folder"):
        DatasetWriter(tmp_path / "file" / "ds").open()


def test_failed_overwrite_keeps_the_old_dataset(tmp_path):
    old = _write_small(tmp_path / "ds", seed=1)
    with pytest.raises(Boom), DatasetWriter(tmp_path / "ds", overwrite=True) as writer:
        writer.write_stimulus("a", np.zeros((2, 40, 6, 5), np.float32))
        raise Boom
    assert _siblings(tmp_path) == ["ds"]
    np.testing.assert_array_equal(np.load(tmp_path / "ds/stimuli/a.npy"), old["a"])
    assert check(tmp_path / "ds").ok


def test_overwrite_replaces_only_after_completion_and_refuses_foreign_folders(tmp_path):
    _write_small(tmp_path / "ds", seed=1)
    new = _write_small(tmp_path / "ds", seed=2, overwrite=True)
    np.testing.assert_array_equal(np.load(tmp_path / "ds/stimuli/a.npy"), new["a"])
    assert _siblings(tmp_path) == ["ds"]
    with pytest.raises(errors.OutputError, match="already holds a dataset written by"):
        _write_small(tmp_path / "ds", seed=3)
    home_like = tmp_path / "home"
    home_like.mkdir()
    (home_like / "thesis.docx").write_text("precious")
    with pytest.raises(errors.OutputError, match="files that openretina-data did not write"):
        _write_small(home_like, overwrite=True)
    assert (home_like / "thesis.docx").read_text() == "precious"


def test_incomplete_or_inconsistent_data_is_never_committed(tmp_path):
    target = tmp_path / "ds"
    with pytest.raises(errors.LayoutError, match=r"frames 10\.\.20 were never written"):
        with DatasetWriter(target) as writer:
            writer.create_stimulus("a", (1, 20, 2, 2)).write(np.zeros((1, 10, 2, 2)))
            writer.create_session("s").write_responses("a", np.ones((2, 20)))
    with pytest.raises(errors.ShapeError, match="has 20 frames but its responses have 19"):
        with DatasetWriter(target) as writer:
            writer.write_stimulus("a", np.zeros((1, 20, 2, 2), np.float32))
            writer.create_session("s").write_responses("a", np.ones((2, 19)))
    with pytest.raises(errors.LayoutError, match="neither in stimuli/"):
        with DatasetWriter(target) as writer:
            writer.create_session("s").write_responses("ghost", np.ones((2, 19)))
    with pytest.raises(errors.LayoutError, match="no sessions"):
        with DatasetWriter(target) as writer:
            writer.write_stimulus("a", np.zeros((1, 20, 2, 2), np.float32))
    assert _siblings(tmp_path) == []


def test_nonfinite_values_are_refused_unless_allowed(tmp_path):
    bad = np.ones((2, 10))
    bad[1, 7] = np.nan
    with pytest.raises(errors.NonFiniteError, match="frames 0..10"):
        with DatasetWriter(tmp_path / "ds") as writer:
            writer.write_stimulus("a", np.zeros((1, 10, 2, 2), np.float32))
            writer.create_session("s").write_responses("a", bad)
    with DatasetWriter(tmp_path / "ds", allow_nonfinite=True) as writer:
        writer.write_stimulus("a", np.zeros((1, 10, 2, 2), np.float32))
        writer.create_session("s").write_responses("a", bad)
    card = read_card(tmp_path / "ds")
    assert card is not None and card.checks["s.hdf5/responses_a"].all_finite is False
    assert "non-finite" in check(tmp_path / "ds").codes("error")


def test_test_by_trial_session_stimulus_and_session_info(tmp_path):
    rng = np.random.default_rng(0)
    with DatasetWriter(tmp_path / "ds") as writer:
        writer.write_stimulus("train_movie", _movie(rng, 20))
        session = writer.create_session("s")
        session.write_stimulus("own", _movie(rng, 8))
        session.write_responses("train_movie", rng.random((3, 20)))
        session.write_responses("own", rng.random((3, 8)))
        session.write_test_by_trial("own", rng.random((5, 3, 8)))
        session.write_session_info("cell_types", np.array([1, 2, 3]))
        session.write_session_info("labels", np.array(["on", "off", "on"]))
        writer.card.test_stimuli = ["own"]
    with h5py.File(tmp_path / "ds/s.hdf5") as handle:
        assert handle[stimulus_key("own")].shape == (2, 8, 6, 5)
        assert handle[test_by_trial_key("own")].shape == (5, 3, 8)
        assert [v.decode() for v in handle["session_info/labels"][()]] == ["on", "off", "on"]
    assert check(tmp_path / "ds").ok
    with pytest.raises(errors.ShapeError, match="test_by_trial"):
        with DatasetWriter(tmp_path / "other") as writer:
            writer.write_stimulus("m", _movie(rng, 8))
            writer.write_stimulus("n", _movie(rng, 8))
            session = writer.create_session("s")
            session.write_responses("m", rng.random((3, 8)))
            session.write_responses("n", rng.random((3, 8)))
            session.write_test_by_trial("m", rng.random((5, 4, 8)))


def test_provenance_recipe_and_source_files(tmp_path):
    source = tmp_path / "raw.bin"
    source.write_bytes(b"spikes" * 100)
    with DatasetWriter(tmp_path / "ds", recipe_text="version: 1\n") as writer:
        writer.write_stimulus("a", np.zeros((1, 4, 2, 2), np.float32))
        writer.create_session("s", source_files=[source_file(source)]).write_responses(
            "a", np.ones((1, 4))
        )
    with h5py.File(tmp_path / "ds/s.hdf5") as handle:
        recorded = json.loads(handle.attrs["source_files"])
        assert len(handle.attrs["recipe_sha256"]) == 64
    import hashlib

    assert recorded == [
        {"name": "raw.bin", "size": 600, "sha256": hashlib.sha256(b"spikes" * 100).hexdigest()}
    ]
    card = read_card(tmp_path / "ds")
    assert card is not None and card.recipe_text == "version: 1\n"


@pytest.mark.parametrize(
    "name", ["", ".", "..", "../evil", "a/b", "a\\b", "x\x00y", "tab\there", ".hidden", "a..b"]
)
def test_illegal_names_are_refused_and_nothing_escapes(tmp_path, name):
    with pytest.raises(errors.InvalidNameError) as info:
        validate_name(name, kind="session")
    assert info.value.hint
    target = tmp_path / "out" / "ds"
    target.parent.mkdir()
    with pytest.raises(errors.InvalidNameError), DatasetWriter(target) as writer:
        writer.create_session(name)
    with pytest.raises(errors.InvalidNameError), DatasetWriter(target) as writer:
        writer.create_stimulus(name, (1, 2, 2, 2))
    assert _siblings(tmp_path) == ["out"] and _siblings(tmp_path / "out") == []


def test_inside_refuses_paths_that_leave_the_folder(tmp_path):
    assert inside(tmp_path, "stimuli/a.npy") == tmp_path.resolve() / "stimuli/a.npy"
    for bad in ("../x", "/etc/passwd", "a/../../x", "."):
        with pytest.raises(errors.OutputError):
            inside(tmp_path, bad)
    (tmp_path / "link").symlink_to(tmp_path.parent)
    with pytest.raises(errors.OutputError):
        inside(tmp_path, "link/x")


def test_names_unique_case_insensitively_and_test_names_not_split_names(tmp_path):
    with pytest.raises(errors.InvalidNameError, match="letter case"):
        validate_unique(["s0", "S0"], kind="session")
    with pytest.raises(errors.InvalidNameError, match="split"):
        validate_test_stimuli(["movie", "Validation"])
    with (
        pytest.raises(errors.InvalidNameError, match="letter case"),
        DatasetWriter(tmp_path / "ds") as writer,
    ):
        writer.create_session("s0")
        writer.create_session("S0")
    with (
        pytest.raises(errors.InvalidNameError, match="split"),
        DatasetWriter(tmp_path / "ds") as writer,
    ):
        writer.write_stimulus("train", np.zeros((1, 4, 2, 2), np.float32))
        writer.write_stimulus("other", np.zeros((1, 4, 2, 2), np.float32))
        session = writer.create_session("s")
        session.write_responses("train", np.ones((1, 4)))
        session.write_responses("other", np.ones((1, 4)))
        writer.card.test_stimuli = ["train"]
    assert _siblings(tmp_path) == []


def test_second_writer_for_the_same_target_is_refused(tmp_path):
    with DatasetWriter(tmp_path / "ds") as first:
        with pytest.raises(errors.OutputError, match="another writer"):
            DatasetWriter(tmp_path / "ds").open()
        first.write_stimulus("a", np.zeros((1, 4, 2, 2), np.float32))
        first.create_session("s").write_responses("a", np.ones((1, 4)))
    assert _siblings(tmp_path) == ["ds"]  # lock released


def _dead_pid() -> int:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(child.stdout)


def test_leftovers_of_a_killed_writer_are_cleaned_by_the_next(tmp_path):
    pid = _dead_pid()
    stale = tmp_path / f".ds.tmp-{pid}"
    (stale / "stimuli").mkdir(parents=True)
    (stale / "s0.hdf5").write_bytes(b"half")
    (tmp_path / ".ds.lock").write_text(f"{pid}\n")
    _write_small(tmp_path / "ds")
    assert _siblings(tmp_path) == ["ds"]
    assert check(tmp_path / "ds").ok


def test_a_dataset_left_aside_by_a_killed_overwrite_is_restored(tmp_path):
    _write_small(tmp_path / "ds", seed=5)
    aside = tmp_path / f".ds.old-{_dead_pid()}"
    (tmp_path / "ds").rename(aside)
    with pytest.raises(errors.OutputError, match="already holds a dataset"):
        _write_small(tmp_path / "ds")
    assert _siblings(tmp_path) == ["ds"] and check(tmp_path / "ds").ok


def test_append_adds_a_session_without_touching_other_files(tmp_path):
    root = tmp_path / "ds"
    _write_small(root)
    before = {
        p: (p.stat().st_mtime_ns, p.read_bytes()) for p in root.rglob("*.*") if p.name != CARD_NAME
    }
    with DatasetWriter(root, append=True) as writer:
        session = writer.create_session("s_new")
        session.write_responses("a", np.ones((7, 40)))
        session.write_responses("b", np.ones((7, 30)))
        assert not (root / "s_new.hdf5").exists()  # only the temporary file so far
        # openretina reads every *.h5/*.hdf5: temporary names must not end like that
        assert sorted(p.name for p in root.iterdir() if p.name.endswith((".h5", ".hdf5"))) == [
            "s0.hdf5"
        ]
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in before}
    assert after == before
    card = read_card(root)
    assert (
        card is not None and card.sessions["s_new"]["neurons"] == 7 and "s_new.hdf5" in card.files
    )
    assert card.test_stimuli == ["b"] and card.norm_mean is not None
    report = check(root)
    assert report.ok and report.problems == [], report.to_text()


def test_failed_or_clashing_append_leaves_the_dataset_as_it_was(tmp_path):
    root = tmp_path / "ds"
    _write_small(root)
    listing = sorted(os.listdir(root))
    card_text = (root / CARD_NAME).read_text()
    with pytest.raises(Boom), DatasetWriter(root, append=True) as writer:
        writer.create_session("s9").write_responses("a", np.ones((7, 40)))
        raise Boom
    with pytest.raises(errors.InvalidNameError), DatasetWriter(root, append=True) as writer:
        writer.create_session("S0")
    with (
        pytest.raises(errors.ShapeError, match="40 frames"),
        DatasetWriter(root, append=True) as writer,
    ):
        writer.create_session("s9").write_responses("a", np.ones((7, 41)))
    with pytest.raises(errors.LayoutError, match="response unit") as caught:
        DatasetWriter(root, append=True, response_unit="dF/F").open()
    assert caught.value.path == str(root / CARD_NAME)
    with pytest.raises(errors.LayoutError, match="frame rate 30.0 Hz differs") as caught:
        DatasetWriter(root, append=True, frame_rate_hz=30.0).open()
    assert caught.value.path == str(root / CARD_NAME) and caught.value.hint
    assert sorted(os.listdir(root)) == listing and (root / CARD_NAME).read_text() == card_text
    assert _siblings(tmp_path) == ["ds"]


def test_all_finite_reads_in_bounded_chunks():
    class Recorder:
        shape = (3, 1000)
        dtype = np.dtype("float32")

        def __init__(self) -> None:
            self.data = np.zeros(self.shape, np.float32)
            self.data[2, 900] = np.inf
            self.reads: list[int] = []

        def __getitem__(self, index):
            chunk = self.data[index]
            self.reads.append(chunk.nbytes)
            return chunk

    array = Recorder()
    finite, at = all_finite(array, 1, budget=1200)
    assert not finite and at <= 900 < at + 100
    assert max(array.reads) <= 1200 and len(array.reads) > 5


def test_a_big_slab_is_stored_in_bounded_pieces(monkeypatch):
    from openretina_data.layout import slabs as slabs_module

    class Target:
        def __init__(self) -> None:
            self.data = np.zeros((2, 100, 3, 3), np.float32)
            self.shape, self.dtype = self.data.shape, self.data.dtype
            self.pieces: list[int] = []

        def __setitem__(self, index, value):
            self.pieces.append(value.nbytes)
            self.data[index] = value

    monkeypatch.setattr(slabs_module, "WRITE_BUDGET_BYTES", 10 * 2 * 9 * 8)  # 10 float64 frames
    target = Target()
    writer = slabs_module.SlabWriter(target, time_axis=1, label="m")
    movie = np.random.default_rng(0).standard_normal((2, 100, 3, 3))  # float64 in, float32 stored
    writer.write(movie)
    assert writer.complete and len(target.pieces) == 10
    np.testing.assert_array_equal(target.data, movie.astype(np.float32))
    assert writer.stats.count == movie.size


WRITER_THAT_WAITS = """
import sys
import numpy as np
from openretina_data.layout import DatasetWriter
writer = DatasetWriter(sys.argv[1])
writer.open()
writer.write_stimulus("a", np.zeros((1, 4, 2, 2), np.float32))
print("ready", flush=True)
sys.stdin.readline()
"""


def test_a_writer_in_another_process_blocks_until_it_is_killed(tmp_path):
    target = tmp_path / "ds"
    other = subprocess.Popen(
        [sys.executable, "-c", WRITER_THAT_WAITS, str(target)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "ready"
        with pytest.raises(errors.OutputError, match=f"process {other.pid}"):
            DatasetWriter(target).open()
    finally:
        other.kill()
        other.wait()
        assert other.stdin is not None and other.stdout is not None
        other.stdin.close()
        other.stdout.close()
    assert f".ds.tmp-{other.pid}" in _siblings(tmp_path)  # what the killed writer left
    _write_small(target)
    assert _siblings(tmp_path) == ["ds"]


def test_append_cleans_temporary_files_of_a_killed_append(tmp_path):
    root = tmp_path / "ds"
    _write_small(root)
    leftover = root / f".s9.hdf5.tmp-{_dead_pid()}"
    leftover.write_bytes(b"half a session")
    with DatasetWriter(root, append=True) as writer:
        session = writer.create_session("s9")
        session.write_responses("a", np.ones((2, 40)))
        session.write_responses("b", np.ones((2, 30)))
    assert not leftover.exists() and (root / "s9.hdf5").exists()
    assert check(root).ok


def test_running_stats_pieces_and_merges_agree_with_numpy() -> None:
    values = np.random.default_rng(3).normal(5.0, 2.0, size=(7, 300)).astype(np.float32)
    values[2, 10] = np.nan
    whole, merged = RunningStats(), RunningStats()
    whole.add(values)
    for row in values:
        piece = RunningStats()
        piece.add(row)
        merged.merge(piece)
    merged.merge(RunningStats())  # an empty piece changes nothing
    finite = values[np.isfinite(values)].astype(np.float64)
    for stats in (whole, merged):
        assert stats.count == finite.size and not stats.all_finite
        assert stats.mean == pytest.approx(finite.mean(), rel=1e-12)
        assert stats.std == pytest.approx(finite.std(), rel=1e-10)
        assert (stats.min, stats.max) == (finite.min(), finite.max())


def test_parse_npy_header_reads_a_stream_and_leaves_object_refusal_to_the_path_reader(
    tmp_path: Path,
) -> None:
    import io

    stream = io.BytesIO()
    np.save(stream, np.zeros((2, 5, 3, 4), dtype=np.uint8))
    stream.seek(0)
    header = parse_npy_header(stream)
    assert header.shape == (2, 5, 3, 4) and header.dtype == np.uint8
    assert header.expected_size == len(stream.getvalue())
    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with open(objects, "rb") as handle:
        assert parse_npy_header(handle).dtype.hasobject
    with pytest.raises(ValueError, match="Python objects"):
        read_npy_header(objects)


def test_overwrite_replaces_only_a_folder_whose_card_lists_every_file(tmp_path):
    """A dataset of ours with one file we did not write (notes, a source) is never replaced."""
    _write_small(tmp_path / "ds", seed=1)
    (tmp_path / "ds" / ".DS_Store").write_bytes(b"Bud1")  # an OS's litter is nobody's data
    _write_small(tmp_path / "ds", seed=2, overwrite=True)
    (tmp_path / "ds" / "stimuli" / "notes.txt").write_text("mine")
    with pytest.raises(errors.OutputError, match=r"did not write: 'stimuli/notes.txt'") as caught:
        _write_small(tmp_path / "ds", seed=3, overwrite=True)
    assert "--overwrite" not in caught.value.hint
    assert (tmp_path / "ds" / "stimuli" / "notes.txt").read_text() == "mine"


def test_a_card_that_is_not_ours_does_not_make_a_folder_replaceable(tmp_path):
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "s0.hdf5").write_bytes(b"")
    (folder / "openretina_data.json").write_text('{"created_by": "someone else"}')
    with pytest.raises(errors.OutputError, match="did not write"):
        _write_small(folder, overwrite=True)
    assert (folder / "s0.hdf5").exists()


def test_the_writer_never_replaces_or_writes_into_a_folder_holding_what_it_reads(tmp_path):
    """``keep``: the sources; a target holding, being or inside one is refused, even ours."""
    _write_small(tmp_path / "ds", seed=1)
    source = tmp_path / "ds" / "stimuli" / "a.npy"
    before = source.read_bytes()
    for target, keep in [(tmp_path / "ds", source), (tmp_path / "raw" / "out", tmp_path / "raw")]:
        (tmp_path / "raw").mkdir(exist_ok=True)
        with pytest.raises(errors.OutputError, match="source files of this conversion"):
            with DatasetWriter(target, overwrite=True, keep=[keep]) as writer:
                writer.write_stimulus("a", np.zeros((1, 4, 2, 2), np.float32))
    assert source.read_bytes() == before and not (tmp_path / "raw" / "out").exists()
    linked = tmp_path / "linked"
    linked.symlink_to(tmp_path / "ds")  # symlinks are followed
    with pytest.raises(errors.OutputError, match="source files of this conversion"):
        with DatasetWriter(tmp_path / "ds", overwrite=True, keep=[linked / "stimuli" / "a.npy"]):
            pass


@settings(max_examples=150, deadline=None)
@given(
    prefix=st.text(alphabet="abcxyz019_-", min_size=1, max_size=8),
    hidden=st.characters(categories=["Cc", "Cf"]),
)
def test_names_with_control_or_format_characters_are_refused(prefix: str, hidden: str) -> None:
    """C0/C1 controls (U+009B CSI) and format characters (U+202E bidi override, U+200B)."""
    with pytest.raises(errors.InvalidNameError, match=f"U\\+{ord(hidden):04X}"):
        validate_name(prefix + hidden + "s", kind="session")


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="aeiouéèüñçÅ", min_size=1, max_size=12))
def test_names_that_differ_only_in_unicode_form_clash(name: str) -> None:
    composed, decomposed = (unicodedata.normalize(f, name) for f in ("NFC", "NFD"))
    if composed == decomposed:
        validate_unique([composed, decomposed + "x"], kind="session")  # different: fine
        return
    with pytest.raises(errors.InvalidNameError, match="Unicode form"):
        validate_unique([composed, decomposed], kind="session")


def test_a_name_too_long_in_bytes_is_refused_though_short_in_characters() -> None:
    validate_name("é" * 100, kind="session")  # 200 bytes: fits
    with pytest.raises(errors.InvalidNameError, match="202 bytes long in UTF-8"):
        validate_name("é" * 101, kind="session")
