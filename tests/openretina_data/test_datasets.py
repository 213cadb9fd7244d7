"""Published-dataset presets: each converts its miniature archive into a valid dataset."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from openretina_data.datasets import PRESETS, get_preset
from openretina_data.datasets.fixation_movie import fixation_movie
from openretina_data.errors import InvalidNameError, ShapeError, TimingError
from openretina_data.layout import check, read_card
from openretina_data.testing.goldin import write_goldin_archive
from openretina_data.testing.hoefling import write_hoefling_archive
from openretina_data.testing.karamanlis import write_karamanlis_archive
from openretina_data.testing.maheswaranathan import SESSIONS, write_maheswaranathan_archive

CARD_CITATION_KEYS = {
    "title",
    "authors",
    "doi",
    "data_doi",
    "url",
    "license",
    "species",
    "recording_method",
    "units",
}


#: preset -> (miniature factory, expected sessions, (channels, height, width) of its stimuli)
MINIATURES: dict[str, tuple[Callable[[Path], Path], list[str], list[int]]] = {
    "maheswaranathan_2023": (write_maheswaranathan_archive, sorted(SESSIONS), [1, 50, 50]),
    "maheswaranathan_2023_whitenoise": (
        write_maheswaranathan_archive,
        sorted(SESSIONS),
        [1, 50, 50],
    ),
    "hoefling_2024": (
        write_hoefling_archive,
        ["20200226_1_1", "20200226_1_2", "20200301_2_1"],
        [2, 18, 16],
    ),
    "karamanlis_2024_mouse": (
        write_karamanlis_archive,
        ["20220301_mouse_1", "20220415_mouse_2"],
        [1, 60, 80],
    ),
    "karamanlis_2024_marmoset": (write_karamanlis_archive, ["20221103_marmoset_1"], [1, 60, 80]),
    "goldin_2022_mouse": (write_goldin_archive, ["mouse_1", "mouse_2"], [1, 24, 32]),
    "goldin_2022_axolotl": (write_goldin_archive, ["axolotl_1"], [1, 24, 32]),
}


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_maheswaranathan_archive(tmp_path_factory.mktemp("neural_code_data"))


@pytest.fixture(scope="module")
def converted(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    out = tmp_path_factory.mktemp("converted") / "maheswaranathan"
    messages = [step.message for step in get_preset("maheswaranathan_2023").convert(archive, out)]
    return out, messages


def _source(archive: Path, session: str, stim: str = "naturalscene") -> Path:
    return archive / "ganglion_cell_data" / session / f"{stim}.h5"


def test_every_preset_has_a_complete_citation() -> None:
    assert "maheswaranathan_2023" in PRESETS
    for name, preset in PRESETS.items():
        assert preset.name == name
        assert CARD_CITATION_KEYS <= set(preset.citation), name
        assert all(value.strip() for value in preset.citation.values()), name


def test_every_preset_has_a_miniature() -> None:
    assert set(MINIATURES) == set(PRESETS)


@pytest.mark.parametrize("name", sorted(MINIATURES))
def test_each_preset_converts_its_miniature_into_a_checked_dataset(
    name: str, tmp_path: Path
) -> None:
    write_archive, sessions, _ = MINIATURES[name]
    archive = write_archive(tmp_path / "archive")
    steps = list(get_preset(name).convert(archive, tmp_path / "out"))
    assert steps and steps[-1].done == steps[-1].total
    report = check(tmp_path / "out")
    assert report.ok, report.to_text()
    card = read_card(tmp_path / "out")
    assert card is not None
    assert sorted(card.sessions) == sessions
    assert card.citation == PRESETS[name].citation and card.citation["species"]
    assert card.response_unit in ("Hz", "spikes/bin", "a.u.") and card.test_stimuli
    assert card.description


def test_an_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(InvalidNameError) as info:
        get_preset("maheswaranathan")
    assert "maheswaranathan_2023" in info.value.hint


def test_maheswaranathan_dataset_passes_check_and_carries_its_card(
    converted: tuple[Path, list[str]],
) -> None:
    out, _ = converted
    report = check(out)
    assert report.ok, report.to_text()
    card = read_card(out)
    assert card is not None
    assert card.frame_rate_hz == pytest.approx(100.0)  # from the archive's 10 ms `time` steps
    assert card.response_unit == "Hz"
    assert card.test_stimuli == ["naturalscene_test"]
    assert card.citation["doi"] == "10.1016/j.neuron.2023.06.007"
    assert card.citation["data_doi"] == "10.25740/rk663dm5577"
    for session in SESSIONS:
        with h5py.File(out / f"{session}.hdf5") as f:
            assert f.attrs["frame_rate_hz"] == pytest.approx(100.0)
            assert f.attrs["response_unit"] == "Hz"


def test_identical_test_movies_are_stored_once_and_train_movies_per_session(
    converted: tuple[Path, list[str]], archive: Path
) -> None:
    out, _ = converted
    stored = sorted(p.name for p in (out / "stimuli").iterdir())
    assert stored == sorted(
        ["naturalscene_test.npy", *(f"naturalscene_train_{s}.npy" for s in SESSIONS)]
    )
    for session in SESSIONS:
        with h5py.File(_source(archive, session)) as f:
            train, test = f["train/stimulus"][()], f["test/stimulus"][()]
        np.testing.assert_array_equal(
            np.load(out / "stimuli" / f"naturalscene_train_{session}.npy"), train[None]
        )
        np.testing.assert_array_equal(
            np.load(out / "stimuli" / "naturalscene_test.npy"), test[None]
        )


def test_responses_and_repeats_are_the_archives_cut_to_the_movie(
    converted: tuple[Path, list[str]], archive: Path
) -> None:
    out, messages = converted
    for session in SESSIONS:
        with h5py.File(_source(archive, session)) as f:
            train = f["train/response/firing_rate_20ms"][()]
            test = f["test/response/firing_rate_20ms"][()]
            cells = sorted(k for k in f["test/repeats"])
            repeats = np.stack([f[f"test/repeats/{k}"][()] for k in cells], axis=1)
        with h5py.File(out / f"{session}.hdf5") as f:
            np.testing.assert_array_equal(
                f[f"responses_naturalscene_train_{session}"][()], train.astype(np.float32)
            )
            np.testing.assert_array_equal(
                f["responses_naturalscene_test"][()], test[:, :120].astype(np.float32)
            )
            np.testing.assert_array_equal(
                f["test_by_trial_naturalscene_test"][()], repeats[..., :120].astype(np.float32)
            )
            assert f["responses_naturalscene_test"].dtype == np.float32
        note = f"session {session}: wrote responses; dropped the last 1 of 121 test response bins"
        assert any(m.startswith(note) for m in messages)
    card = read_card(out)
    assert card is not None and card.description.count("dropped the last 1 of 121") == len(SESSIONS)


def test_different_test_movies_get_one_name_per_session(tmp_path: Path) -> None:
    archive = write_maheswaranathan_archive(
        tmp_path / "a", sessions=("s1", "s2"), n_cells=(3, 4), shared_test_movie=False
    )
    list(get_preset("maheswaranathan_2023_whitenoise").convert(archive, tmp_path / "out"))
    card = read_card(tmp_path / "out")
    assert card is not None
    assert card.test_stimuli == ["whitenoise_test_s1", "whitenoise_test_s2"]
    with h5py.File(tmp_path / "out" / "s2.hdf5") as f:
        assert sorted(k for k in f if k != "session_info") == [
            "responses_whitenoise_test_s2",
            "responses_whitenoise_train_s2",
            "test_by_trial_whitenoise_test_s2",
        ]
    assert check(tmp_path / "out").ok


def test_short_responses_stop_the_conversion_and_leave_nothing(tmp_path: Path) -> None:
    archive = write_maheswaranathan_archive(
        tmp_path / "a", sessions=("s1",), n_cells=(3,), extra_test_response_frames=-1
    )
    with pytest.raises(ShapeError, match="test responses have shape"):
        list(get_preset("maheswaranathan_2023").convert(archive, tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_stopping_early_leaves_nothing(tmp_path: Path) -> None:
    archive = write_maheswaranathan_archive(tmp_path / "a", sessions=("s1", "s2"), n_cells=(3, 3))
    steps = get_preset("maheswaranathan_2023").convert(archive, tmp_path / "out")
    for step in steps:
        if "movie is stimulus" in step.message:
            steps.close()
            break
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["a"]


def test_an_existing_output_is_kept_unless_overwrite(
    converted: tuple[Path, list[str]], archive: Path
) -> None:
    out, _ = converted
    before = json.loads((out / "openretina_data.json").read_text())
    with pytest.raises(OSError):
        list(get_preset("maheswaranathan_2023").convert(archive, out))
    assert json.loads((out / "openretina_data.json").read_text()) == before


def test_importing_the_presets_does_not_import_torch() -> None:
    code = "import sys, openretina_data.datasets; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


@pytest.mark.interop
@pytest.mark.parametrize("name", sorted(MINIATURES))
def test_each_preset_dataset_loads_in_openretina(name: str, tmp_path: Path) -> None:
    from openretina.data_io.h5_dataset_reader import load_responses, load_stimuli

    write_archive, sessions, size = MINIATURES[name]
    list(get_preset(name).convert(write_archive(tmp_path / "archive"), tmp_path / "out"))
    card = read_card(tmp_path / "out")
    assert card is not None
    movies = load_stimuli(
        str(tmp_path / "out"), card.test_stimuli, size, card.norm_mean, card.norm_std
    )
    responses = load_responses(str(tmp_path / "out"), card.test_stimuli)
    assert sorted(movies) == sorted(responses) == sessions
    for session in sessions:
        responses[session].check_matching_stimulus(movies[session])
        assert responses[session].n_neurons == card.sessions[session]["neurons"]


def test_goldin_files_without_repeats_convert_without_test_by_trial(tmp_path: Path) -> None:
    archive = write_goldin_archive(
        tmp_path / "a", sessions=("mouse_a",), n_neurons=(3,), with_repeats=False
    )
    list(get_preset("goldin_2022_mouse").convert(archive, tmp_path / "out"))
    with h5py.File(tmp_path / "out" / "mouse_a.hdf5") as f:
        assert not any(key.startswith("test_by_trial_") for key in f)
    card = read_card(tmp_path / "out")
    assert card is not None and card.frame_rate_hz is None and card.response_unit == "spikes/bin"


def test_goldin_repeats_are_the_per_cell_trials(tmp_path: Path) -> None:
    archive = write_goldin_archive(tmp_path / "a", sessions=("mouse_a",), n_neurons=(12,))
    list(get_preset("goldin_2022_mouse").convert(archive, tmp_path / "out"))
    with h5py.File(archive / "mouse_a.h5") as f:
        expected = np.stack([f[f"test/repeats/cell{i}"][()] for i in range(12)], axis=1)
    with h5py.File(tmp_path / "out" / "mouse_a.hdf5") as f:
        np.testing.assert_array_equal(
            f["test_by_trial_naturalscene_test"][()], expected.astype(np.float32)
        )


def test_a_folder_without_goldin_files_points_to_the_mirror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        list(get_preset("goldin_2022_axolotl").convert(tmp_path, tmp_path / "out"))
    assert "marre_lab/goldin_2022" in str(info.value)


def test_karamanlis_movies_and_responses_come_from_the_mat_files(tmp_path: Path) -> None:
    archive = write_karamanlis_archive(
        tmp_path / "a", sessions=("x_mouse_1", "x_mouse_2"), n_neurons=(3, 2)
    )
    list(get_preset("karamanlis_2024_mouse").convert(archive, tmp_path / "out"))
    stored_test = np.load(tmp_path / "out" / "stimuli" / "fixationmovie_test.npy")
    with h5py.File(archive / "x_mouse_2" / "x_mouse_2_fixationmovie_data.mat") as f:
        images = f["frozenImages"][()].transpose(0, 2, 1)
        np.testing.assert_allclose(
            stored_test[0], fixation_movie(images, f["frozenfixations"][()]), rtol=1e-6
        )
        running_images = f["runningImages"][()].transpose(0, 2, 1)
        last_block = fixation_movie(running_images, f["runningfixations"][-1])
        frozen, running = f["frozenbin"][()], f["runningbin"][()]
    stored_train = np.load(tmp_path / "out" / "stimuli" / "fixationmovie_train_x_mouse_2.npy")
    np.testing.assert_allclose(stored_train[0, -last_block.shape[0] :], last_block, rtol=1e-6)
    with h5py.File(tmp_path / "out" / "x_mouse_2.hdf5") as f:
        np.testing.assert_array_equal(
            f["test_by_trial_fixationmovie_test"][()], frozen.transpose(0, 2, 1)
        )
        np.testing.assert_allclose(
            f["responses_fixationmovie_test"][()], frozen.mean(axis=0).T, rtol=1e-6
        )
        np.testing.assert_array_equal(
            f["responses_fixationmovie_train_x_mouse_2"][()], running.reshape(-1, 2).T
        )


def test_zipped_karamanlis_recordings_must_be_unpacked(tmp_path: Path) -> None:
    (tmp_path / "20220301_mouse_1.zip").write_bytes(b"PK")
    with pytest.raises(FileNotFoundError, match="still zipped"):
        list(get_preset("karamanlis_2024_mouse").convert(tmp_path, tmp_path / "out"))


@pytest.mark.interop
def test_karamanlis_responses_equal_openretinas(tmp_path: Path) -> None:
    from openretina.data_io.karamanlis_2024.responses import load_all_responses

    archive = write_karamanlis_archive(tmp_path / "a")
    list(get_preset("karamanlis_2024_mouse").convert(archive, tmp_path / "out"))
    theirs = load_all_responses(str(archive), specie="mouse")
    assert sorted(theirs) == ["20220301_mouse_1", "20220415_mouse_2"]
    for session, reference in theirs.items():
        with h5py.File(tmp_path / "out" / f"{session}.hdf5") as f:
            train_key = next(k for k in f if k.startswith("responses_fixationmovie_train"))
            np.testing.assert_allclose(f[train_key][()], reference.train, rtol=1e-6)
            np.testing.assert_allclose(
                f["responses_fixationmovie_test"][()], reference.test_response, rtol=1e-6
            )
            np.testing.assert_allclose(
                f["test_by_trial_fixationmovie_test"][()], reference.get_test_by_trial()
            )


def test_hoefling_movies_follow_each_fields_clip_order_and_eye(tmp_path: Path) -> None:
    archive = write_hoefling_archive(tmp_path / "a")
    list(get_preset("hoefling_2024").convert(archive, tmp_path / "out"))
    with open(archive / "movies.pkl", "rb") as handle:
        movies = pickle.load(handle)  # our own fixture: plain arrays
    clips = movies["train"].reshape(2, 12, 10, 18, 16)
    left = np.load(tmp_path / "out" / "stimuli" / "natural_train_seq01_left.npy")
    expected = clips[:, movies["random_sequences"][:, 1].astype(int)].reshape(2, 120, 18, 16)[
        ..., ::-1
    ]
    np.testing.assert_array_equal(left, expected)
    np.testing.assert_array_equal(
        np.load(tmp_path / "out" / "stimuli" / "natural_test_right.npy"), movies["test"]
    )
    card = read_card(tmp_path / "out")
    assert card is not None and (card.norm_mean, card.norm_std) == (0.0, 1.0)
    assert card.test_stimuli == ["natural_test_left", "natural_test_right"]
    assert card.frame_rate_hz == 30.0 and card.response_unit == "a.u."
    with h5py.File(tmp_path / "out" / "20200226_1_2.hdf5") as f:
        by_trial = f["test_by_trial_natural_test_left"][()]
        assert by_trial.shape == (3, 4, 20)
        np.testing.assert_allclose(
            f["responses_natural_test_left"][()], by_trial.mean(axis=0), rtol=1e-6
        )
        assert f["responses_natural_train_seq01_left"].shape == (4, 120)
        np.testing.assert_array_equal(f["session_info/roi_ids"][()], [1, 2, 3, 4])
        np.testing.assert_allclose(
            f["responses_natural_train_seq01_left"][()].std(axis=1), 1.0, rtol=0.5
        )


def test_hoefling_triggers_that_do_not_match_the_movie_stop_the_conversion(tmp_path: Path) -> None:
    archive = write_hoefling_archive(
        tmp_path / "a", fields=("f1",), n_neurons=(3,), eyes=("right",), sequence_idx=(0,)
    )
    with h5py.File(archive / "responses.h5", "a") as f:
        triggers = f["f1/natural_trigger_times"][()]
        del f["f1/natural_trigger_times"]
        f["f1/natural_trigger_times"] = triggers[:, :-1]
    with pytest.raises(TimingError, match="17 triggers; the movie needs 18"):
        list(get_preset("hoefling_2024").convert(archive, tmp_path / "out"))
    assert not (tmp_path / "out").exists()


@pytest.mark.interop
def test_hoefling_responses_match_openretinas_pipeline(tmp_path: Path) -> None:
    from openretina.data_io.hoefling_2024.responses import make_final_responses
    from openretina.utils.h5_handling import load_h5_into_dict

    archive = write_hoefling_archive(
        tmp_path / "a",
        fields=("f1", "f2"),
        n_neurons=(3, 2),
        eyes=("left", "right"),
        sequence_idx=(4, 0),
        paper_sizes=True,
    )
    list(get_preset("hoefling_2024").convert(archive, tmp_path / "out"))
    theirs = make_final_responses(
        load_h5_into_dict(archive / "responses.h5"), response_type="natural"
    )
    for field, eye, sequence in (("f1", "left", 4), ("f2", "right", 0)):
        with h5py.File(tmp_path / "out" / f"{field}.hdf5") as f:
            train = f[f"responses_natural_train_seq{sequence:02d}_{eye}"][()]
            test = f[f"responses_natural_test_{eye}"][()]
            by_trial = f[f"test_by_trial_natural_test_{eye}"][()]
        reference = theirs[field]
        # openretina spreads 150 frames over 4.9666667 s, we over 149/30 s: differences stay below 1e-5
        np.testing.assert_allclose(train, reference.train, atol=1e-5)
        np.testing.assert_allclose(test, reference.test_response, atol=1e-5)
        # openretina keeps Höfling's repeats as (neurons, time, trials)
        np.testing.assert_allclose(
            by_trial, reference.get_test_by_trial().transpose(2, 0, 1), atol=1e-5
        )


@pytest.mark.interop
def test_the_dataset_loads_in_openretina(converted: tuple[Path, list[str]], archive: Path) -> None:
    from openretina.data_io.h5_dataset_reader import load_responses, load_stimuli

    out, _ = converted
    card = read_card(out)
    assert card is not None and card.norm_mean is not None and card.norm_std is not None
    movies = load_stimuli(str(out), card.test_stimuli, [1, 50, 50], card.norm_mean, card.norm_std)
    responses = load_responses(str(out), card.test_stimuli)
    assert sorted(movies) == sorted(responses) == sorted(SESSIONS)
    for session in SESSIONS:
        with h5py.File(_source(archive, session)) as f:
            train = f["train/stimulus"][()].astype(np.float32)
            n_cells = f["train/response/firing_rate_20ms"].shape[0]
        expected = (train - np.float32(card.norm_mean)) / np.float32(card.norm_std)
        np.testing.assert_allclose(movies[session].train[0], expected, rtol=1e-6, atol=1e-6)
        assert movies[session].test_dict["naturalscene_test"].shape == (1, 120, 50, 50)
        assert responses[session].train.shape == (n_cells, 360)
        responses[session].check_matching_stimulus(movies[session])
