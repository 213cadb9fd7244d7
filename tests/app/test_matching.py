"""Session naming and matching, name and axis-order checks, epoch text (Qt-free)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.matching import (
    axes_problem,
    guess_session_name,
    match_epochs,
    session_views,
    valid_name,
)
from app.pages.sessions import epochs_text, parse_epochs
from openretina_data.recipe import StimulusSpec, load_recipe


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("rec/s0/phy", "s0"),
        ("rec/s1_responses.h5", "s1"),
        ("rec/s2/suite2p/plane0", "s2"),
        ("rec/day3/kilosort4", "day3"),
        ("rec/spikes-retina7.npz", "retina7"),
    ],
)
def test_session_names_come_from_folders_and_file_names(path: str, name: str) -> None:
    assert guess_session_name(path) == name


def test_stimuli_are_matched_to_sessions_by_name_shared_ones_to_all() -> None:
    stimuli = [
        StimulusSpec(name="chirp_test", path="stim/chirp.npy", split="test"),
        StimulusSpec(name="natural", path="stim/natural.npy"),
        StimulusSpec(name="s1_noise", path="s1/noise.npy", shared=False),
        StimulusSpec(name="s2_noise", path="s2/noise.npy", shared=False),
    ]
    epochs = match_epochs("s1/phy", "s1", stimuli)
    assert [e.stimulus for e in epochs] == ["natural", "s1_noise", "chirp_test"]  # train first


def test_bad_names_and_axis_orders_are_explained() -> None:
    assert "reserved" in valid_name("train")
    assert valid_name("s 1")
    assert valid_name("s-1_a") == ""
    assert "3 letters but the array has 4 axes" in axes_problem("thw", (2, 10, 4, 5))
    assert axes_problem("cthw", (2, 10, 4, 5)) == ""
    assert "t (time)" in axes_problem("chw", (2, 4, 5))


def test_template_sessions_expand_over_the_pattern(example_root: Path) -> None:
    recipe = load_recipe(example_root / "recipe.yaml")
    views = session_views(recipe)
    assert [v.name for v in views] == ["session_01", "session_02"]
    assert views[1].concrete.responses[0].path == "raw/session_02/phy"
    assert all(v.templated for v in views)


def test_epochs_round_trip_through_their_text() -> None:
    epochs = parse_epochs("natural, test_clip×3, chirp * 2")
    assert [(e.stimulus, e.repeats) for e in epochs] == [
        ("natural", 1),
        ("test_clip", 3),
        ("chirp", 2),
    ]
    assert epochs_text(epochs) == "natural, test_clip×3, chirp×2"
