"""The native layout both ways: our create-data in openretina 1.1.1's reader, theirs in ours.

openretina is imported at module level: without it these tests fail (collection
error); they are never skipped.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from openretina.cli import create_data as reference_create_data
from openretina.data_io import h5_dataset_reader as reference

from openretina_data import h5_dataset_reader as ours
from openretina_data.layout import read_card
from openretina_data.testing.synthetic import create_data

pytestmark = pytest.mark.interop

COLORS, HEIGHT, WIDTH = 2, 16, 8


def assert_same_stimuli(mine: dict, theirs: dict) -> None:
    assert mine.keys() == theirs.keys() and len(theirs) > 0
    for session, split in theirs.items():
        np.testing.assert_array_equal(np.asarray(mine[session].train), split.train)
        assert mine[session].test_dict.keys() == split.test_dict.keys()
        for name, movie in split.test_dict.items():
            np.testing.assert_array_equal(np.asarray(mine[session].test_dict[name]), movie)
        assert (mine[session].norm_mean, mine[session].norm_std) == (
            split.norm_mean,
            split.norm_std,
        )


def assert_same_responses(mine: dict, theirs: dict) -> None:
    assert mine.keys() == theirs.keys() and len(theirs) > 0
    for session, split in theirs.items():
        np.testing.assert_array_equal(mine[session].train, split.train)
        assert mine[session].test_dict.keys() == split.test_dict.keys()
        for name, values in split.test_dict.items():
            np.testing.assert_array_equal(mine[session].test_dict[name], values)
        assert mine[session].session_kwargs.keys() == split.session_kwargs.keys()
        for key, value in split.session_kwargs.items():
            np.testing.assert_array_equal(mine[session].session_kwargs[key], value)


def load_both_ways(path: Path, test_names: list[str], mean: float, std: float) -> None:
    size = [COLORS, HEIGHT, WIDTH]
    theirs = reference.load_stimuli(str(path), test_names, size, mean, std)
    assert_same_stimuli(ours.load_stimuli(path, test_names, size, mean, std), theirs)
    assert_same_stimuli(ours.load_stimuli(path, test_names, size, mean, std, mmap=True), theirs)
    assert_same_responses(
        ours.load_responses(path, test_names), reference.load_responses(str(path), test_names)
    )


@pytest.mark.parametrize("dtype", ["float32", "float64", "uint8"])
def test_our_create_data_loads_in_openretina_with_equal_arrays(tmp_path: Path, dtype: str) -> None:
    path = create_data(
        tmp_path / "ours", num_colors=COLORS, num_stimuli=3, num_sessions=2, seed=3,
        clip_length=2, dtype=dtype,
    )  # fmt: skip
    card = read_card(path)
    assert card is not None and card.test_stimuli == ["random_noise_2"]
    load_both_ways(path, list(card.test_stimuli), mean=0.25, std=1.5)


def test_our_create_data_cli_output_loads_in_openretina(tmp_path: Path) -> None:
    path = tmp_path / "cli"
    command = [
        sys.executable, "-m", "openretina_data.cli", "create-data", str(path),
        "--num-colors", str(COLORS), "--num-stimuli", "2", "--num-sessions", "3",
        "--frames", "90", "--seed", "5",
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)
    load_both_ways(path, ["random_noise_1"], mean=0.0, std=1.0)


@pytest.fixture
def seeded_global_numpy() -> Iterator[None]:
    """openretina's create-data draws from numpy's global RNG: seed it, then put it back."""
    state = np.random.get_state()
    np.random.seed(11)
    yield
    np.random.set_state(state)


@pytest.mark.usefixtures("seeded_global_numpy")
@pytest.mark.parametrize("test_names", [["random_noise_1"], ["random_noise_0", "random_noise_2"]])
def test_openretina_create_data_loads_in_ours_with_equal_arrays(
    tmp_path: Path, test_names: list[str]
) -> None:
    # `openretina create-data` runs this function; the console script itself needs hydra,
    # which the reference environment does not install.
    reference_create_data.write_data_to_directory(
        str(tmp_path), num_colors=COLORS, num_stimuli=3, num_sessions=2, clip_length=1
    )
    assert sorted(p.name for p in tmp_path.glob("*.hdf5")) == ["session_0.hdf5", "session_1.hdf5"]
    load_both_ways(tmp_path, test_names, mean=0.1, std=0.9)
