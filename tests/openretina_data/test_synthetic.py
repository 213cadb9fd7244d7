"""The seeded synthetic dataset factory (``openretina_data.testing.create_data``)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from openretina_data import errors
from openretina_data.layout import check, read_card
from openretina_data.testing import create_data, synthetic


def _arrays(root: Path) -> dict[str, np.ndarray]:
    """Every array of a dataset, keyed by file and key."""
    out = {f"stimuli/{p.name}": np.load(p) for p in sorted((root / "stimuli").glob("*.npy"))}
    for path in sorted(root.glob("*.hdf5")):
        with h5py.File(path) as handle:
            handle.visititems(
                lambda key, node, path=path: (
                    out.__setitem__(f"{path.name}/{key}", node[()])
                    if isinstance(node, h5py.Dataset)
                    else None
                )
            )
    return out


def _small(root: Path, **kwargs) -> Path:
    options = dict(num_colors=2, num_stimuli=3, num_sessions=2, frames=60, height=6, width=4)
    options.update(kwargs)
    return create_data(root, **options)


def test_same_seed_same_arrays_other_seed_other_arrays(tmp_path):
    first, second = _arrays(_small(tmp_path / "a", seed=7)), _arrays(_small(tmp_path / "b", seed=7))
    assert first.keys() == second.keys()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)
    other = _arrays(_small(tmp_path / "c", seed=8))
    assert not np.array_equal(
        first["stimuli/random_noise_0.npy"], other["stimuli/random_noise_0.npy"]
    )


def test_slab_size_does_not_change_the_data(tmp_path, monkeypatch):
    reference = _arrays(_small(tmp_path / "a", frames=300))
    monkeypatch.setattr(synthetic, "SLAB_FRAMES", 7)
    sliced = _arrays(_small(tmp_path / "b", frames=300))
    for key in reference:
        np.testing.assert_allclose(sliced[key], reference[key], rtol=1e-6, err_msg=key)


@pytest.mark.interop
def test_names_and_default_sizes_follow_openretina_create_data(tmp_path):
    # Fails (not skips) when openretina is missing: interop is a requirement.
    from openretina.cli.create_data import write_data_to_directory

    write_data_to_directory(
        str(tmp_path / "theirs"), num_colors=3, num_stimuli=2, num_sessions=2, clip_length=3
    )
    ours = create_data(
        tmp_path / "ours", num_colors=3, num_stimuli=2, num_sessions=2, clip_length=3
    )
    theirs_arrays, ours_arrays = _arrays(tmp_path / "theirs"), _arrays(ours)
    assert theirs_arrays.keys() == ours_arrays.keys()
    for key, theirs in theirs_arrays.items():
        if key.startswith("stimuli/"):
            assert ours_arrays[key].shape == theirs.shape, key  # (3, (70 + i) * 3, 16, 8)
        else:
            assert ours_arrays[key].ndim == theirs.ndim, key
    for key, array in ours_arrays.items():
        if "/responses_" in key:
            assert 10 <= array.shape[0] < 30 and array.dtype == np.float32


def test_dataset_is_valid_and_card_marks_the_last_stimulus_as_test(tmp_path):
    root = _small(tmp_path / "ds")
    report = check(root)
    assert report.ok and report.problems == [], report.to_text()
    card = read_card(root)
    assert card is not None and card.test_stimuli == ["random_noise_2"]
    assert card.frame_rate_hz == synthetic.FRAME_RATE_HZ
    single = read_card(_small(tmp_path / "one", num_stimuli=1))
    assert single is not None and single.test_stimuli == []


def test_responses_depend_on_the_stimulus(tmp_path):
    root = _small(tmp_path / "ds", frames=400, num_sessions=1)
    arrays = _arrays(root)
    responses = arrays["session_0.hdf5/responses_random_noise_0"]
    assert np.all(responses > 0) and np.all(np.isfinite(responses))
    movie = arrays["stimuli/random_noise_0.npy"]
    pixels = (
        movie.reshape(movie.shape[0], movie.shape[1], -1)
        .transpose(1, 0, 2)
        .reshape(movie.shape[1], -1)
    )
    best = []
    for trace in responses:
        correlations = [
            abs(np.corrcoef(trace[5:], pixels[5 - lag : len(trace) - lag, p])[0, 1])
            for lag in range(3)
            for p in range(pixels.shape[1])
        ]
        best.append(max(correlations))
    assert np.median(best) > 0.3  # white noise alone gives ~0.1 at 400 frames


def test_uint8_and_float64_stimuli(tmp_path):
    arrays = _arrays(_small(tmp_path / "u8", dtype="uint8"))
    assert arrays["stimuli/random_noise_0.npy"].dtype == np.uint8
    assert arrays["stimuli/random_noise_0.npy"].std() > 10
    arrays = _arrays(_small(tmp_path / "f64", dtype="float64"))
    assert arrays["stimuli/random_noise_0.npy"].dtype == np.float64


@pytest.mark.parametrize(
    "bad", [dict(num_stimuli=0), dict(frames=0), dict(height=0), dict(dtype="int16")]
)
def test_bad_arguments_raise_our_errors_and_write_nothing(tmp_path, bad):
    with pytest.raises(errors.DataValidationError) as info:
        _small(tmp_path / "ds", **bad)
    assert info.value.hint
    assert list(tmp_path.iterdir()) == []
