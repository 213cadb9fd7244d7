"""Our Maheswaranathan 2023 loaders against openretina 1.1.1's, on the miniature archive.

Also runs the Maheswaranathan snippets of openretina's Data I/O page ("Loading Stimuli",
"Loading Neural Responses", "Composing Complete Dataloaders") verbatim but for the import
prefix and the ``base_data_path=...`` placeholder, which points at the miniature's
``ganglion_cell_data`` folder, as the page says.
Without openretina installed these tests fail at import, on purpose.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from openretina.data_io.maheswaranathan_2023 import responses as reference_responses
from openretina.data_io.maheswaranathan_2023 import stimuli as reference_stimuli

from openretina_data.maheswaranathan_2023.responses import load_all_responses
from openretina_data.maheswaranathan_2023.stimuli import load_all_stimuli
from openretina_data.testing.maheswaranathan import write_maheswaranathan_archive

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def miniature(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_maheswaranathan_archive(tmp_path_factory.mktemp("neural_code_data"))


@pytest.mark.parametrize("stim_type", ["naturalscene", "whitenoise"])
@pytest.mark.parametrize("normalize", [True, False])
def test_stimuli_match_openretina(miniature: Path, stim_type: str, normalize: bool) -> None:
    ours = load_all_stimuli(miniature, stim_type=stim_type, normalize_stimuli=normalize)  # type: ignore[arg-type]
    theirs = reference_stimuli.load_all_stimuli(
        str(miniature), stim_type=stim_type, normalize_stimuli=normalize
    )
    assert sorted(ours) == sorted(theirs)
    for session, split in ours.items():
        reference = theirs[session]
        assert split.stim_id == reference.stim_id == stim_type
        assert split.train.shape == reference.train.shape
        assert split.train.dtype == reference.train.dtype
        assert split.test_shape == reference.test_shape
        assert list(split.test_dict) == list(reference.test_dict) == ["test"]
        if normalize:
            assert split.norm_mean == pytest.approx(reference.norm_mean, rel=1e-6)
            assert split.norm_std == pytest.approx(reference.norm_std, rel=1e-6)
        else:
            assert split.norm_mean is reference.norm_mean is None
        np.testing.assert_allclose(split.train, reference.train, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(split.test_movie, reference.test_movie, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "response_type", ["firing_rate_5ms", "firing_rate_10ms", "firing_rate_20ms"]
)
def test_untrimmed_responses_equal_openretinas(miniature: Path, response_type: str) -> None:
    ours = load_all_responses(miniature, response_type=response_type, trim_to_stimulus=False)  # type: ignore[arg-type]
    theirs = reference_responses.load_all_responses(str(miniature), response_type=response_type)
    assert sorted(ours) == sorted(theirs)
    for session, split in ours.items():
        reference = theirs[session]
        assert split.stim_id == reference.stim_id == "naturalscene"
        np.testing.assert_array_equal(split.train, reference.train)
        np.testing.assert_array_equal(split.test_response, reference.test_response)
        np.testing.assert_array_equal(split.get_test_by_trial(), reference.get_test_by_trial())
        assert split.session_kwargs == reference.session_kwargs == {}


def test_deliberate_fix_trimmed_test_responses_are_openretinas_cut_to_the_movie(
    miniature: Path,
) -> None:
    ours = load_all_responses(miniature)
    theirs = reference_responses.load_all_responses(str(miniature))
    movies = reference_stimuli.load_all_stimuli(str(miniature), normalize_stimuli=False)
    for session, split in ours.items():
        n_frames = movies[session].test_shape[1]
        assert theirs[session].test_response.shape[1] == n_frames + 1  # the archive's extra bin
        np.testing.assert_array_equal(
            split.test_response, theirs[session].test_response[:, :n_frames]
        )
        np.testing.assert_array_equal(
            split.get_test_by_trial(), theirs[session].get_test_by_trial()[..., :n_frames]
        )
        np.testing.assert_array_equal(split.train, theirs[session].train)


def test_deliberate_fix_fr_normalization_applies_to_repeats_stored_per_response_type(
    tmp_path: Path,
) -> None:
    root = write_maheswaranathan_archive(
        tmp_path, sessions=("s1",), n_cells=(4,), repeats_layout="by_response_type"
    )
    ours = load_all_responses(root, fr_normalization=5.0, trim_to_stimulus=False)["s1"]
    theirs = reference_responses.load_all_responses(str(root), fr_normalization=5.0)["s1"]
    np.testing.assert_array_equal(ours.test_response, theirs.test_response)
    # openretina leaves these repeats undivided; ours are divided like every other response
    np.testing.assert_allclose(
        ours.get_test_by_trial() * 5.0, theirs.get_test_by_trial(), rtol=1e-12
    )


def _one_session_archive(root: Path) -> Path:
    """Long enough for the page's 50 validation clips of 90 frames and a batch of 64 train chunks."""
    return write_maheswaranathan_archive(
        root,
        sessions=("15-10-07",),
        n_cells=(9,),
        stim_types=("naturalscene",),
        train_frames=90 * 100,
    )


def test_data_io_page_snippets_run_unchanged_and_feed_the_dataloaders(tmp_path: Path) -> None:
    # The page points base_data_path at "ganglion_cell_data" (openretina 1.1.1 itself wants its parent)
    archive = _one_session_archive(tmp_path) / "ganglion_cell_data"
    # --- verbatim snippets (import prefix swapped, `...` -> the miniature) ---
    # fmt: off
    from openretina_data.maheswaranathan_2023.stimuli import load_all_stimuli

    # Primary download: https://doi.org/10.25740/rk663dm5577
    # Mirror: OpenRetina HuggingFace hub

    movies_dictionary = load_all_stimuli(
        base_data_path=archive,          # Path to the "ganglion_cell_data" folder in the archive
        stim_type="naturalscene",   # "whitenoise" is also available
        normalize_stimuli=True,      # Recommended for stable training
    )

    from openretina_data.maheswaranathan_2023.responses import load_all_responses

    responses_dictionary = load_all_responses(
        base_data_path=archive,              # Same root used for stimuli
        response_type="firing_rate_20ms",  # 5 ms and 10 ms binning also available
        stim_type="naturalscene",
    )

    from openretina_data.base_dataloader import multiple_movies_dataloaders

    dataloaders = multiple_movies_dataloaders(
        neuron_data_dictionary=responses_dictionary,
        movies_dictionary=movies_dictionary,
        train_chunk_size=50,
        batch_size=64,
        seed=42,
        clip_length=90,
        num_val_clips=50,
        allow_over_boundaries=True,
    )
    # fmt: on
    # --- end of snippets ---
    movies = movies_dictionary["15-10-07"]
    assert movies.train.shape == (1, 9000, 50, 50) and movies.test_shape == (1, 120, 50, 50)
    assert movies.stim_id == "naturalscene" and movies.random_sequences is None
    assert isinstance(movies.norm_mean, float) and isinstance(movies.norm_std, float)
    responses = responses_dictionary["15-10-07"]
    assert responses.train.shape == (9, 9000) and responses.test_response.shape == (9, 120)
    assert responses.stim_id == "naturalscene" and responses.session_kwargs == {}
    assert set(dataloaders) == {"train", "validation", "test"}
    shapes = {
        split: [tuple(b.targets.shape) for b in loaders["15-10-07"]]
        for split, loaders in dataloaders.items()
    }
    assert shapes["train"] and all(s[1:] == (50, 9) for s in shapes["train"])
    assert shapes["validation"] and all(s[1:] == (90, 9) for s in shapes["validation"])
    assert shapes["test"] == [(1, 120, 9)]


def test_our_splits_feed_openretinas_dataloaders_too(tmp_path: Path) -> None:
    from openretina.data_io.base_dataloader import multiple_movies_dataloaders

    archive = _one_session_archive(tmp_path)
    loaders = multiple_movies_dataloaders(
        neuron_data_dictionary=load_all_responses(archive),
        movies_dictionary=load_all_stimuli(archive),
        train_chunk_size=50,
        batch_size=64,
        seed=42,
        clip_length=90,
        num_val_clips=50,
        allow_over_boundaries=True,
    )
    batch = next(iter(loaders["train"]["15-10-07"]))
    assert tuple(batch.inputs.shape) == (64, 1, 50, 50, 50) and tuple(batch.targets.shape) == (
        64,
        50,
        9,
    )
    assert [tuple(b.targets.shape) for b in loaders["test"]["15-10-07"]] == [(1, 120, 9)]


def test_lazy_movies_give_the_same_samples_as_eager_ones(tmp_path: Path) -> None:
    from openretina_data.base_dataloader import multiple_movies_dataloaders

    archive = _one_session_archive(tmp_path)
    responses = load_all_responses(archive)
    datasets = {}
    for lazy in (False, True):
        loaders = multiple_movies_dataloaders(
            neuron_data_dictionary=responses,
            movies_dictionary=load_all_stimuli(archive, lazy=lazy),
            train_chunk_size=50,
            batch_size=64,
            seed=42,
            clip_length=90,
            num_val_clips=50,
            allow_over_boundaries=True,
        )
        datasets[lazy] = {
            split: loaders[split]["15-10-07"].dataset for split in ("train", "validation", "test")
        }
    for split, eager in datasets[False].items():
        lazy_set = datasets[True][split]
        assert len(lazy_set) == len(eager) > 0
        for index in range(
            len(eager)
        ):  # sample order is the sampler's business; the samples must agree
            np.testing.assert_array_equal(
                np.asarray(lazy_set[index].inputs), np.asarray(eager[index].inputs)
            )
            np.testing.assert_array_equal(
                np.asarray(lazy_set[index].targets), np.asarray(eager[index].targets)
            )
