"""openretina_data.h5_dataset_reader: openretina 1.1.1's results on valid data, §7 behaviours fixed."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import h5py
import numpy as np
import pytest

from openretina_data import h5_dataset_reader as reader
from openretina_data.base_dataloader import multiple_movies_dataloaders
from openretina_data.errors import (
    DataValidationError,
    InvalidNameError,
    MissingKeyError,
    NonFiniteError,
    ShapeError,
    SourceNotFoundError,
)
from openretina_data.layout import DatasetWriter
from openretina_data.layout.names import CARD_NAME
from openretina_data.movie_view import NormalizedMovie

SIZE = [2, 6, 5]  # channels, height, width
TEST = ["t"]


@pytest.fixture(scope="module")
def reference() -> ModuleType:
    """openretina 1.1.1's reader; its absence is a failure, never a skip."""
    try:
        return importlib.import_module("openretina.data_io.h5_dataset_reader")
    except ImportError as error:  # pragma: no cover - environment problem
        pytest.fail(f"openretina 1.1.1 must be installed for parity tests: {error}")


def random_movie(frames: int, seed: int, dtype: Any = np.float32) -> np.ndarray:
    values = np.random.default_rng(seed).random((SIZE[0], frames, *SIZE[1:])) * 255
    return values.astype(dtype)


def write_session(
    path: Path,
    responses: Mapping[str, np.ndarray],
    stimuli: Mapping[str, np.ndarray] | None = None,
    trials: Mapping[str, np.ndarray] | None = None,
    cell_types: np.ndarray | None = None,
) -> None:
    with h5py.File(path, "w") as file:
        for name, values in responses.items():
            file[f"responses_{name}"] = values
        for name, values in (stimuli or {}).items():
            file[f"stimulus_{name}"] = values
        for name, values in (trials or {}).items():
            file[f"test_by_trial_{name}"] = values
        if cell_types is not None:
            file["session_info/cell_types"] = cell_types


def make_dataset(
    root: Path,
    frames: Mapping[str, int] | None = None,
    neurons: Mapping[str, int] | None = None,
    dtype: Any = np.float32,
) -> dict[str, Any]:
    """Layout v1 written with h5py/np.save: shared stimuli, one file per session."""
    frames = frames or {"a": 30, "b": 20, "t": 10}
    neurons = neurons or {"s0": 4, "s1": 6}
    (root / "stimuli").mkdir(parents=True)
    movies = {name: random_movie(n, seed, dtype) for seed, (name, n) in enumerate(frames.items())}
    for name, values in movies.items():
        np.save(root / "stimuli" / f"{name}.npy", values)
    responses = {}
    for index, (session, count) in enumerate(neurons.items()):
        rng = np.random.default_rng(100 + index)
        responses[session] = {
            s: rng.random((count, n)).astype(np.float32) for s, n in frames.items()
        }
        write_session(root / f"{session}.hdf5", responses[session], cell_types=np.arange(count) % 3)
    return {"movies": movies, "responses": responses}


def normalised(movie: np.ndarray, mean: float, std: float) -> np.ndarray:
    out = np.subtract(movie, np.float32(mean), dtype=np.float32)
    return out / np.float32(std)


# --- parity -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["load_stimuli", "load_responses", "TrainTestStimuliProcessor"])
def test_positional_signatures_match_openretina(reference: ModuleType, name: str) -> None:
    ours = inspect.signature(getattr(reader, name)).parameters.values()
    theirs = inspect.signature(getattr(reference, name)).parameters.values()
    positional = [(p.name, p.default) for p in ours if p.kind is not p.KEYWORD_ONLY]
    assert positional == [(p.name, p.default) for p in theirs]


@pytest.mark.parametrize(("mean", "std"), [(None, None), (120.5, 70.25)])
def test_load_stimuli_matches_openretina(
    reference: ModuleType, tmp_path: Path, mean: float | None, std: float | None
) -> None:
    make_dataset(tmp_path)
    ours = reader.load_stimuli(tmp_path, TEST, SIZE, mean, std)
    theirs = reference.load_stimuli(str(tmp_path), TEST, SIZE, mean, std)
    assert ours.keys() == theirs.keys() == {"s0", "s1"}
    for session, split in theirs.items():
        np.testing.assert_array_equal(ours[session].train, split.train)
        assert ours[session].train.dtype == split.train.dtype == np.float32
        assert ours[session].test_dict.keys() == split.test_dict.keys()
        for name, movie in split.test_dict.items():
            np.testing.assert_array_equal(ours[session].test_dict[name], movie)
        assert (ours[session].norm_mean, ours[session].norm_std) == (
            split.norm_mean,
            split.norm_std,
        )


def test_load_responses_matches_openretina(reference: ModuleType, tmp_path: Path) -> None:
    make_dataset(tmp_path)
    ours = reader.load_responses(tmp_path, TEST)
    theirs = reference.load_responses(str(tmp_path), TEST)
    assert ours.keys() == theirs.keys()
    for session, split in theirs.items():
        np.testing.assert_array_equal(ours[session].train, split.train)
        for name, values in split.test_dict.items():
            np.testing.assert_array_equal(ours[session].test_dict[name], values)
        assert ours[session].session_kwargs.keys() == split.session_kwargs.keys()
        np.testing.assert_array_equal(
            ours[session].session_kwargs["cell_types"], split.session_kwargs["cell_types"]
        )


def test_processor_matches_openretina(reference: ModuleType, tmp_path: Path) -> None:
    stimuli = {"a": random_movie(12, 1), "b": random_movie(8, 2), "t": random_movie(5, 3)}
    args = (["t"], stimuli, 10.0, 3.0)
    ours = reader.TrainTestStimuliProcessor(*args).process(["a", "b", "t"], {})
    theirs = reference.TrainTestStimuliProcessor(*args).process(["a", "b", "t"], {})
    np.testing.assert_array_equal(ours.train, theirs.train)
    np.testing.assert_array_equal(ours.test_dict["t"], theirs.test_dict["t"])


def test_mmap_gives_equal_values_without_reading_the_movies(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    eager = reader.load_stimuli(tmp_path, TEST, SIZE, 100.0, 50.0)
    lazy = reader.load_stimuli(tmp_path, TEST, SIZE, 100.0, 50.0, mmap=True)
    for session, split in eager.items():
        train = lazy[session].train
        assert isinstance(train, NormalizedMovie)
        assert all(isinstance(part.array, np.memmap) for part in train.parts)
        assert train.names == ("a", "b") and train.boundaries == (0, 30, 50)
        np.testing.assert_array_equal(np.asarray(train), split.train)
        np.testing.assert_array_equal(train[:, 25:35], split.train[:, 25:35])
        np.testing.assert_array_equal(
            np.asarray(lazy[session].test_dict["t"]), split.test_dict["t"]
        )
    parts = [lazy[s].train.parts[0].array for s in lazy]
    assert parts[0] is parts[1]  # one memory map shared by every session


def test_uint8_stimuli_are_normalised_like_floats(tmp_path: Path) -> None:
    make_dataset(tmp_path / "u8", dtype=np.uint8)
    make_dataset(tmp_path / "f32", dtype=np.uint8)
    for name in ("a", "b", "t"):
        path = tmp_path / "f32" / "stimuli" / f"{name}.npy"
        np.save(path, np.load(path).astype(np.float32))
    for mmap in (False, True):
        from_uint8 = reader.load_stimuli(tmp_path / "u8", TEST, SIZE, 127.0, 64.0, mmap=mmap)
        from_float = reader.load_stimuli(tmp_path / "f32", TEST, SIZE, 127.0, 64.0)
        for session, split in from_float.items():
            np.testing.assert_array_equal(np.asarray(from_uint8[session].train), split.train)
            assert np.asarray(from_uint8[session].train).dtype == np.float32
            assert np.asarray(from_uint8[session].train).min() < 0  # normalised, not raw 0..255


# --- §7 regressions ---------------------------------------------------------------------


def test_session_only_stimulus_does_not_keyerror(tmp_path: Path) -> None:
    data = make_dataset(tmp_path, neurons={"s0": 4})
    own = random_movie(15, 9)
    responses = dict(data["responses"]["s0"], own=np.ones((4, 15), dtype=np.float32))
    write_session(tmp_path / "s0.hdf5", responses, stimuli={"own": own})
    movies = reader.load_stimuli(tmp_path, TEST, SIZE, 1.0, 2.0)
    expected = np.concatenate(
        [normalised(m, 1.0, 2.0) for m in (data["movies"]["a"], data["movies"]["b"], own)], axis=1
    )
    np.testing.assert_array_equal(movies["s0"].train, expected)
    assert reader.load_responses(tmp_path, TEST)["s0"].train.shape == (4, 65)


def test_session_specific_stimulus_wins_over_the_shared_one(tmp_path: Path) -> None:
    data = make_dataset(tmp_path, neurons={"s0": 4})
    own = random_movie(30, 11)
    write_session(tmp_path / "s0.hdf5", data["responses"]["s0"], stimuli={"a": own})
    movies = reader.load_stimuli(tmp_path, TEST, SIZE, None, None)
    np.testing.assert_array_equal(movies["s0"].train[:, :30], own)


def test_session_file_stimuli_are_read_in_one_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = make_dataset(tmp_path, neurons={"s0": 4})
    write_session(tmp_path / "s0.hdf5", data["responses"]["s0"], stimuli={"a": random_movie(30, 5)})
    reads: list[str] = []
    original = h5py.Dataset.__getitem__

    def counting(self: h5py.Dataset, key: Any) -> Any:
        if self.name.startswith("/stimulus_"):
            reads.append(self.name)
        return original(self, key)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", counting)
    reader.load_stimuli(tmp_path, TEST, SIZE, None, None)
    assert reads == ["/stimulus_a"]  # openretina reads it element by element through torch


def test_session_file_without_responses_is_skipped_by_both_loaders(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    with h5py.File(tmp_path / "notes.hdf5", "w") as file:
        file["session_info/cell_types"] = np.arange(3)
    with pytest.warns(UserWarning, match="notes.hdf5"):
        movies = reader.load_stimuli(tmp_path, TEST, SIZE, None, None)
    with pytest.warns(UserWarning, match="notes.hdf5"):
        responses = reader.load_responses(tmp_path, TEST)
    assert movies.keys() == responses.keys() == {"s0", "s1"}


def test_session_with_only_test_stimuli_names_the_session(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    for load in (
        lambda: reader.load_stimuli(tmp_path, ["a", "b", "t"], SIZE, None, None),
        lambda: reader.load_responses(tmp_path, ["a", "b", "t"]),
    ):
        with pytest.raises(DataValidationError, match="nothing to train on") as caught:
            load()
        assert caught.value.session == "s0" and caught.value.hint


def test_empty_test_names_is_a_clear_error(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    with pytest.raises(DataValidationError, match="test_names is empty"):
        reader.load_stimuli(tmp_path, [], SIZE, None, None)
    with pytest.raises(DataValidationError, match="test_names is empty"):
        reader.load_responses(tmp_path, [])


def test_session_without_any_test_stimulus_names_the_session(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    with pytest.raises(DataValidationError, match="none of the test stimuli") as caught:
        reader.load_responses(tmp_path, ["typo"])
    assert caught.value.session == "s0"
    with pytest.raises(DataValidationError, match="is a test stimulus") as caught:
        reader.load_stimuli(tmp_path, ["typo"], SIZE, None, None)
    assert caught.value.session == "s0"


def test_length_mismatch_names_session_stimulus_and_both_lengths(tmp_path: Path) -> None:
    data = make_dataset(tmp_path)
    responses = dict(data["responses"]["s1"], b=np.ones((6, 19), dtype=np.float32))
    write_session(tmp_path / "s1.hdf5", responses)
    for load in (
        lambda: reader.load_stimuli(tmp_path, TEST, SIZE, None, None),
        lambda: reader.load_responses(tmp_path, TEST),
    ):
        with pytest.raises(
            ShapeError, match="'b' have 19 time bins but the stimulus has 20"
        ) as caught:
            load()
        assert caught.value.session == "s1" and caught.value.key == "responses_b"


def test_time_by_neurons_responses_are_an_error(tmp_path: Path) -> None:
    data = make_dataset(tmp_path)
    responses = dict(data["responses"]["s0"], a=data["responses"]["s0"]["a"].T.copy())
    write_session(tmp_path / "s0.hdf5", responses)
    for load in (
        lambda: reader.load_stimuli(tmp_path, TEST, SIZE, None, None),
        lambda: reader.load_responses(tmp_path, TEST),
    ):
        with pytest.raises(ShapeError, match="look like \\(time, neurons\\)") as caught:
            load()
        assert "Transpose" in caught.value.hint and caught.value.session == "s0"


@pytest.mark.parametrize("problem", ["truncated", "wrong_size", "not_npy"])
def test_bad_unrelated_npy_only_warns_naming_the_file(tmp_path: Path, problem: str) -> None:
    make_dataset(tmp_path)
    bad = tmp_path / "stimuli" / "unused.npy"
    if problem == "truncated":
        np.save(bad, random_movie(40, 3))
        bad.write_bytes(bad.read_bytes()[:200])
    elif problem == "wrong_size":
        np.save(bad, np.zeros((3, 10, 7, 7), dtype=np.float32))
    else:
        bad.write_text("not an array")
    with pytest.warns(UserWarning, match="unused.npy"):
        movies = reader.load_stimuli(tmp_path, TEST, SIZE, None, None)
    assert movies["s0"].train.shape == (2, 50, 6, 5)


def test_bad_needed_npy_is_an_error_naming_the_file(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    path = tmp_path / "stimuli" / "b.npy"
    path.write_bytes(path.read_bytes()[:150])
    with pytest.raises(OSError, match="b.npy"):
        reader.load_stimuli(tmp_path, TEST, SIZE, None, None)


def test_stimulus_of_the_wrong_size_is_an_error(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    with pytest.raises(ShapeError, match="stimulus_size \\[2, 6, 6\\]"):
        reader.load_stimuli(tmp_path, TEST, [2, 6, 6], None, None)
    with pytest.raises(
        DataValidationError, match="channels, height and width, but was stimulus_size=\\[6, 5\\]"
    ):
        reader.load_stimuli(tmp_path, TEST, [6, 5], None, None)


def test_missing_stimulus_names_session_and_stimulus(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    (tmp_path / "stimuli" / "b.npy").unlink()
    with pytest.raises(MissingKeyError, match="'b'") as caught:
        reader.load_stimuli(tmp_path, TEST, SIZE, None, None)
    assert caught.value.session == "s0" and caught.value.key == "responses_b"


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_responses_are_a_clear_error(tmp_path: Path, bad: float) -> None:
    data = make_dataset(tmp_path)
    responses = dict(data["responses"]["s1"])
    responses["t"] = responses["t"].copy()
    responses["t"][2, 7] = bad
    write_session(tmp_path / "s1.hdf5", responses)
    with pytest.raises(NonFiniteError, match="\\(2, 7\\)") as caught:
        reader.load_responses(tmp_path, TEST)
    assert (caught.value.session, caught.value.key) == ("s1", "responses_t")


def test_nan_stimulus_names_the_stimulus(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    path = tmp_path / "stimuli" / "b.npy"
    movie = np.load(path)
    movie[1, 4, 0, 0] = np.nan
    np.save(path, movie)
    with pytest.raises(NonFiniteError, match="stimulus 'b'.*\\(1, 4, 0, 0\\)"):
        reader.load_stimuli(tmp_path, TEST, SIZE, None, None)


def test_h5_and_hdf5_with_the_same_stem_is_an_error(tmp_path: Path) -> None:
    data = make_dataset(tmp_path)
    write_session(tmp_path / "s0.h5", data["responses"]["s1"])
    for load in (
        lambda: reader.load_stimuli(tmp_path, TEST, SIZE, None, None),
        lambda: reader.load_responses(tmp_path, TEST),
    ):
        with pytest.raises(InvalidNameError, match="s0.h5 and s0.hdf5"):
            load()


@pytest.mark.parametrize("name", ["train", "validation"])
def test_test_stimulus_named_like_a_split_is_an_error(tmp_path: Path, name: str) -> None:
    make_dataset(tmp_path, frames={"a": 30, name: 10})
    with pytest.raises(InvalidNameError, match=name):
        reader.load_stimuli(tmp_path, [name], SIZE, None, None)
    with pytest.raises(InvalidNameError, match=name):
        reader.load_responses(tmp_path, [name])


def test_nested_attribute_and_string_session_info_are_read(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    with h5py.File(tmp_path / "s0.hdf5", "a") as file:
        info = file["session_info"]
        info["labels"] = np.array(["on", "off", "on", "off"], dtype=h5py.string_dtype())
        info["retina"] = "left eye"
        info["rig/objective"] = np.float64(20.0)
        info.attrs["experimenter"] = "K. Franke"
    with h5py.File(tmp_path / "s1.hdf5", "a") as file:
        del file["session_info"]
        file.attrs["session_info"] = '{"date": "2024-05-01", "cell_types": [1, 2, 3, 4, 5, 6]}'
    responses = reader.load_responses(tmp_path, TEST)
    info0 = responses["s0"].session_kwargs
    assert info0["labels"].tolist() == ["on", "off", "on", "off"]
    assert info0["retina"] == "left eye"
    assert info0["rig"] == {"objective": 20.0}
    assert info0["experimenter"] == "K. Franke"
    np.testing.assert_array_equal(info0["cell_types"], [0, 1, 2, 0])
    info1 = responses["s1"].session_kwargs
    assert info1["date"] == "2024-05-01"
    np.testing.assert_array_equal(info1["cell_types"], [1, 2, 3, 4, 5, 6])


def test_test_by_trial_is_loaded_for_test_stimuli(tmp_path: Path) -> None:
    data = make_dataset(tmp_path)
    trials = np.random.default_rng(3).random((3, 4, 10)).astype(np.float32)
    write_session(tmp_path / "s0.hdf5", data["responses"]["s0"], trials={"t": trials})
    responses = reader.load_responses(tmp_path, TEST)
    np.testing.assert_array_equal(responses["s0"].get_test_by_trial("t"), trials)
    assert responses["s1"].get_test_by_trial("t") is None


def test_neuron_counts_must_agree_across_stimuli(tmp_path: Path) -> None:
    data = make_dataset(tmp_path)
    responses = dict(data["responses"]["s0"], b=np.ones((5, 20), dtype=np.float32))
    write_session(tmp_path / "s0.hdf5", responses)
    with pytest.raises(ShapeError, match="different neuron counts") as caught:
        reader.load_responses(tmp_path, TEST)
    assert caught.value.session == "s0"


def test_not_a_directory_is_source_not_found(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError):
        reader.load_stimuli(tmp_path / "missing", TEST, SIZE, None, None)
    with pytest.raises(SourceNotFoundError):
        reader.load_responses(tmp_path / "missing", TEST)


def write_with_card(root: Path, bad_stimulus: str | None) -> None:
    movies = {"a": random_movie(30, 1), "t": random_movie(10, 2)}
    if bad_stimulus is not None:
        movies[bad_stimulus][0, 3, 0, 0] = np.nan
    with DatasetWriter(root, frame_rate_hz=30.0, allow_nonfinite=True) as writer:
        writer.card.test_stimuli = ["t"]
        for name, movie in movies.items():
            writer.write_stimulus(name, movie)
        session = writer.create_session("s0")
        for name, movie in movies.items():
            session.write_responses(name, np.ones((3, movie.shape[1]), dtype=np.float32))


def test_mmap_load_refuses_a_stimulus_the_card_records_as_non_finite(tmp_path: Path) -> None:
    write_with_card(tmp_path / "bad", bad_stimulus="a")
    with pytest.raises(NonFiniteError, match="card records NaN/Inf in stimulus 'a'"):
        reader.load_stimuli(tmp_path / "bad", TEST, SIZE, None, None, mmap=True)
    write_with_card(tmp_path / "good", bad_stimulus=None)
    movies = reader.load_stimuli(tmp_path / "good", TEST, SIZE, None, None, mmap=True)
    assert movies["s0"].train.shape == (2, 30, 6, 5)


def test_mmap_load_ignores_a_card_that_no_longer_matches_the_files(tmp_path: Path) -> None:
    write_with_card(tmp_path, bad_stimulus="a")
    np.save(tmp_path / "stimuli" / "a.npy", random_movie(30, 7))  # fixed after the card
    movies = reader.load_stimuli(tmp_path, TEST, SIZE, None, None, mmap=True)
    np.testing.assert_array_equal(np.asarray(movies["s0"].train), random_movie(30, 7))


def serve_every_batch(root: Path) -> None:
    """Load ``root`` memory-mapped and read every batch of every dataloader once."""
    movies = reader.load_stimuli(root, TEST, SIZE, 1.0, 2.0, mmap=True)
    loaders = multiple_movies_dataloaders(
        reader.load_responses(root, TEST),
        movies,
        train_chunk_size=5,
        batch_size=1,
        clip_length=5,
        num_val_clips=1,
    )
    for split in loaders.values():
        for loader in split.values():
            for _batch in loader:
                pass


@pytest.mark.parametrize(("stimulus", "frame"), [("b", 12), ("t", 3)])
def test_mmap_dataloaders_refuse_an_inf_stimulus_without_a_card(
    tmp_path: Path, stimulus: str, frame: int
) -> None:
    """Reliability corpus finding: no card, so the lazy loader checks every batch it reads."""
    make_dataset(tmp_path)
    path = tmp_path / "stimuli" / f"{stimulus}.npy"
    movie = np.load(path)
    movie[1, frame, 2, 3] = np.inf
    np.save(path, movie)
    with pytest.raises(NonFiniteError, match=f"first at frame {frame}\\b") as caught:
        serve_every_batch(tmp_path)
    error = caught.value
    assert (error.path, error.key) == (str(path), stimulus)
    assert error.session in ("s0", "s1") and "openretina-data check" in (error.hint or "")


def test_mmap_dataloaders_check_a_stimulus_changed_since_its_card(tmp_path: Path) -> None:
    write_with_card(tmp_path, bad_stimulus=None)
    serve_every_batch(tmp_path)
    broken = random_movie(30, 1)
    broken[0, 17, 1, 1] = np.nan
    np.save(tmp_path / "stimuli" / "a.npy", broken)  # new mtime: the card no longer vouches
    with pytest.raises(NonFiniteError, match="first at frame 17") as caught:
        serve_every_batch(tmp_path)
    assert (caught.value.session, caught.value.key) == ("s0", "a")


def lazy_parts(movies: Mapping[str, Any]) -> dict[str, bool]:
    """``{stimulus: checked per batch}`` of every part of every lazy movie."""
    found = {}
    for split in movies.values():
        for movie in (split.train, *split.test_dict.values()):
            found.update({part.name: part.verify_finite for part in movie.parts})
    return found


def test_a_card_that_matches_the_files_spares_the_per_batch_check(tmp_path: Path) -> None:
    write_with_card(tmp_path, bad_stimulus=None)
    movies = reader.load_stimuli(tmp_path, TEST, SIZE, None, None, mmap=True)
    assert lazy_parts(movies) == {"a": False, "t": False}
    (tmp_path / CARD_NAME).unlink()
    movies = reader.load_stimuli(tmp_path, TEST, SIZE, None, None, mmap=True)
    assert lazy_parts(movies) == {"a": True, "t": True}


def test_mmap_load_checks_a_session_specific_stimulus_at_once(tmp_path: Path) -> None:
    data = make_dataset(tmp_path)
    own = random_movie(20, 9)
    own[0, 5, 0, 0] = np.nan
    write_session(tmp_path / "s1.hdf5", data["responses"]["s1"], stimuli={"b": own})
    with pytest.raises(NonFiniteError, match="stimulus 'b'") as caught:
        reader.load_stimuli(tmp_path, TEST, SIZE, None, None, mmap=True)
    assert caught.value.session == "s1"


def test_everything_our_writer_stores_reads_back(tmp_path: Path) -> None:
    shared, own = random_movie(30, 1), random_movie(12, 2)
    test_movie = random_movie(10, 3)
    trials = np.random.default_rng(4).random((4, 3, 10)).astype(np.float32)
    with DatasetWriter(tmp_path, frame_rate_hz=30.0) as writer:
        writer.card.test_stimuli = ["t"]
        writer.write_stimulus("a", shared)
        writer.write_stimulus("t", test_movie)
        session = writer.create_session("s0")
        session.write_stimulus("own", own)
        for name, frames in (("a", 30), ("own", 12)):
            session.write_responses(name, np.full((3, frames), 2.0, dtype=np.float32))
        session.write_responses("t", trials.mean(axis=0))
        session.write_test_by_trial("t", trials)
        session.write_session_info("cell_types", np.array([1, 5, 9]))
        session.write_session_info("labels", np.array(["on", "off", "on-off"]))
        session.write_session_info("eye", "left")
    movies = reader.load_stimuli(tmp_path, TEST, SIZE, 10.0, 4.0)
    expected = np.concatenate([normalised(shared, 10.0, 4.0), normalised(own, 10.0, 4.0)], axis=1)
    np.testing.assert_array_equal(movies["s0"].train, expected)
    np.testing.assert_array_equal(movies["s0"].test_dict["t"], normalised(test_movie, 10.0, 4.0))
    responses = reader.load_responses(tmp_path, TEST)["s0"]
    np.testing.assert_array_equal(responses.get_test_by_trial("t"), trials)
    np.testing.assert_array_equal(responses.test_dict["t"], trials.mean(axis=0))
    responses.check_matching_stimulus(movies["s0"])
    info = responses.session_kwargs
    assert info["labels"].tolist() == ["on", "off", "on-off"] and info["eye"] == "left"
    np.testing.assert_array_equal(info["cell_types"], [1, 5, 9])
