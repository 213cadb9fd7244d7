"""The Maheswaranathan 2023 loaders on a miniature of the archive (no openretina needed)."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from openretina_data.errors import (
    DataValidationError,
    MissingKeyError,
    ShapeError,
    SourceNotFoundError,
)
from openretina_data.maheswaranathan_2023 import archive
from openretina_data.maheswaranathan_2023.responses import load_all_responses
from openretina_data.maheswaranathan_2023.stimuli import load_all_stimuli
from openretina_data.movie_view import NormalizedMovie
from openretina_data.testing.maheswaranathan import SESSIONS, write_maheswaranathan_archive


@pytest.fixture(scope="module")
def miniature(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_maheswaranathan_archive(tmp_path_factory.mktemp("neural_code_data"))


def _file(root: Path, session: str, stim: str = "naturalscene") -> Path:
    return root / "ganglion_cell_data" / session / f"{stim}.h5"


@pytest.mark.parametrize("stim_type", ["naturalscene", "whitenoise"])
def test_stimuli_are_zscored_with_train_statistics(miniature: Path, stim_type: str) -> None:
    movies = load_all_stimuli(miniature, stim_type=stim_type)
    assert list(movies) == sorted(SESSIONS)
    for session, split in movies.items():
        with h5py.File(_file(miniature, session, stim_type)) as f:
            raw_train = f["train/stimulus"][()].astype(np.float64)
            raw_test = f["test/stimulus"][()].astype(np.float64)
        mean, std = raw_train.mean(), raw_train.std(ddof=1)
        assert split.stim_id == stim_type
        assert split.train.shape == (1, *raw_train.shape) and split.train.dtype == np.float32
        assert split.test_movie.shape == (1, *raw_test.shape)
        assert split.norm_mean == pytest.approx(mean, rel=1e-12)
        assert split.norm_std == pytest.approx(std, rel=1e-12)
        np.testing.assert_allclose(split.train[0], (raw_train - mean) / std, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(
            split.test_movie[0], (raw_test - mean) / std, rtol=1e-5, atol=1e-5
        )


def test_unnormalised_stimuli_are_the_stored_intensities(miniature: Path) -> None:
    movies = load_all_stimuli(miniature, normalize_stimuli=False)
    split = movies["15-10-07"]
    with h5py.File(_file(miniature, "15-10-07")) as f:
        np.testing.assert_array_equal(split.train[0], f["train/stimulus"][()])
    assert split.train.dtype == np.uint8
    assert split.norm_mean is None and split.norm_std is None


def test_base_path_may_be_the_ganglion_cell_data_folder(miniature: Path) -> None:
    from_root = load_all_stimuli(miniature, normalize_stimuli=False)
    from_sub = load_all_stimuli(miniature / "ganglion_cell_data", normalize_stimuli=False)
    assert list(from_root) == list(from_sub)
    np.testing.assert_array_equal(from_root["15-11-21a"].train, from_sub["15-11-21a"].train)


def test_statistics_do_not_depend_on_the_slab_size(
    miniature: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = load_all_stimuli(miniature)["15-11-21b"]
    monkeypatch.setattr(archive, "SLAB_FRAMES", 7)
    slabbed = load_all_stimuli(miniature)["15-11-21b"]
    assert slabbed.norm_mean == pytest.approx(whole.norm_mean, rel=1e-12)
    assert slabbed.norm_std == pytest.approx(whole.norm_std, rel=1e-12)
    np.testing.assert_array_equal(slabbed.train, whole.train)


def test_test_responses_one_bin_longer_are_trimmed_and_logged(
    miniature: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="openretina_data.maheswaranathan_2023.responses"):
        responses = load_all_responses(miniature)
    movies = load_all_stimuli(miniature, normalize_stimuli=False)
    for session, split in responses.items():
        assert split.stim_id == "naturalscene"
        assert split.test_response.shape == (split.n_neurons, 120)
        assert split.get_test_by_trial().shape == (5, split.n_neurons, 120)
        split.check_matching_stimulus(movies[session])
    trimmed = [r for r in caplog.records if "dropped the last 1" in r.getMessage()]
    assert {r.getMessage().split(":")[0] for r in trimmed} == {f"session {s}" for s in SESSIONS}


def test_trim_can_be_switched_off(miniature: Path) -> None:
    responses = load_all_responses(miniature, trim_to_stimulus=False)
    split = responses["15-10-07"]
    with h5py.File(_file(miniature, "15-10-07")) as f:
        np.testing.assert_array_equal(split.test_response, f["test/response/firing_rate_20ms"][()])
        np.testing.assert_array_equal(split.train, f["train/response/firing_rate_20ms"][()])
    assert split.get_test_by_trial().shape == (5, 9, 121)


def test_responses_shorter_than_the_movie_raise(tmp_path: Path) -> None:
    root = write_maheswaranathan_archive(
        tmp_path, sessions=("s1",), n_cells=(3,), extra_test_response_frames=-2
    )
    with pytest.raises(ShapeError, match="118 bins but the movie has 120"):
        load_all_responses(root)


def test_per_cell_repeats_are_stacked_in_numeric_cell_order(tmp_path: Path) -> None:
    root = write_maheswaranathan_archive(tmp_path, sessions=("s1",), n_cells=(12,))
    split = load_all_responses(root, fr_normalization=2.0, trim_to_stimulus=False)["s1"]
    with h5py.File(_file(root, "s1")) as f:
        expected = (
            np.stack([f[f"test/repeats/cell{i:02d}"][()] for i in range(1, 13)], axis=1) / 2.0
        )
    np.testing.assert_array_equal(split.get_test_by_trial(), expected)


def test_repeats_stored_per_response_type_are_normalised_too(tmp_path: Path) -> None:
    root = write_maheswaranathan_archive(
        tmp_path, sessions=("s1",), n_cells=(4,), repeats_layout="by_response_type"
    )
    split = load_all_responses(
        root, response_type="firing_rate_10ms", fr_normalization=4.0, trim_to_stimulus=False
    )["s1"]
    with h5py.File(_file(root, "s1")) as f:
        expected = f["test/repeats/firing_rate_10ms"][()] / 4.0
        np.testing.assert_array_equal(
            split.test_response, f["test/response/firing_rate_10ms"][()] / 4.0
        )
    np.testing.assert_array_equal(split.get_test_by_trial(), expected)


def test_a_session_without_the_stimulus_type_is_skipped(tmp_path: Path) -> None:
    write_maheswaranathan_archive(
        tmp_path, sessions=("a",), n_cells=(3,), stim_types=("whitenoise",)
    )
    write_maheswaranathan_archive(
        tmp_path, sessions=("b",), n_cells=(3,), stim_types=("naturalscene",)
    )
    assert list(load_all_stimuli(tmp_path, stim_type="whitenoise")) == ["a"]


def test_a_url_is_refused_with_a_download_hint() -> None:
    with pytest.raises(SourceNotFoundError) as info:
        load_all_stimuli("https://huggingface.co/datasets/open-retina/x.zip")
    assert "10.25740/rk663dm5577" in info.value.hint


def test_a_missing_folder_or_empty_archive_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match="does not exist"):
        load_all_responses(tmp_path / "nope")
    (tmp_path / "ganglion_cell_data" / "s1").mkdir(parents=True)
    with pytest.raises(SourceNotFoundError, match="no session folder"):
        load_all_stimuli(tmp_path)


def test_unknown_choices_are_named(miniature: Path) -> None:
    with pytest.raises(DataValidationError, match="stim_type 'movies'"):
        load_all_stimuli(miniature, stim_type="movies")  # type: ignore[arg-type]
    with pytest.raises(DataValidationError, match="response_type 'firing_rate_1ms'"):
        load_all_responses(miniature, response_type="firing_rate_1ms")  # type: ignore[arg-type]


def test_a_missing_dataset_names_what_is_there(tmp_path: Path) -> None:
    root = write_maheswaranathan_archive(tmp_path, sessions=("s1",), n_cells=(3,))
    with h5py.File(_file(root, "s1"), "a") as f:
        del f["train/response/firing_rate_20ms"]
    with pytest.raises(MissingKeyError) as info:
        load_all_responses(root)
    assert info.value.session == "s1"
    assert "firing_rate_10ms" in info.value.hint


@pytest.mark.parametrize("normalize", [True, False])
def test_lazy_stimuli_read_the_same_values_from_memory_maps(
    miniature: Path, normalize: bool
) -> None:
    eager = load_all_stimuli(miniature, normalize_stimuli=normalize)
    lazy = load_all_stimuli(miniature, normalize_stimuli=normalize, lazy=True)
    for session, split in lazy.items():
        assert isinstance(split.train, NormalizedMovie if normalize else np.memmap)
        assert split.train.shape == eager[session].train.shape
        assert (split.norm_mean, split.norm_std) == (
            eager[session].norm_mean,
            eager[session].norm_std,
        )
        np.testing.assert_array_equal(split.train[:, 10:50], eager[session].train[:, 10:50])
        np.testing.assert_array_equal(np.asarray(split.test_movie), eager[session].test_movie)


def test_lazy_loading_refuses_compressed_movies_with_the_fix(tmp_path: Path) -> None:
    root = write_maheswaranathan_archive(tmp_path, sessions=("s1",), n_cells=(3,))
    with h5py.File(_file(root, "s1"), "a") as f:
        movie = f["train/stimulus"][()]
        del f["train/stimulus"]
        f.create_dataset("train/stimulus", data=movie, compression="gzip")
    with pytest.raises(DataValidationError) as info:
        load_all_stimuli(root, lazy=True)
    assert "h5repack" in info.value.hint
    assert load_all_stimuli(root)["s1"].train.shape == (1, 360, 50, 50)


def test_loading_the_archive_does_not_import_torch(miniature: Path) -> None:
    code = (
        "import sys\n"
        "from openretina_data.maheswaranathan_2023.stimuli import load_all_stimuli\n"
        "from openretina_data.maheswaranathan_2023.responses import load_all_responses\n"
        f"load_all_stimuli({str(miniature)!r}, lazy=True); load_all_responses({str(miniature)!r})\n"
        "print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_openretinas_other_module_names_exist() -> None:
    from openretina_data.base_dataloader import NeuronDataSplit
    from openretina_data.maheswaranathan_2023.constants import CLIP_LENGTH
    from openretina_data.maheswaranathan_2023.responses import NeuronDataBaccus
    from openretina_data.maheswaranathan_2023.stimuli import CLIP_LENGTH as STIMULI_CLIP_LENGTH

    assert CLIP_LENGTH == STIMULI_CLIP_LENGTH == 90
    assert issubclass(NeuronDataBaccus, NeuronDataSplit)
