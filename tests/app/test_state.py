"""The wizard's Qt-free state: matching, naming, what blocks Next."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.sources_cache import probe_path
from app.state import WizardState
from openretina_data.recipe import load_recipe


def test_adding_responses_makes_auto_matched_sessions(tmp_path: Path) -> None:
    np.save(tmp_path / "natural.npy", np.zeros((40, 4, 5), np.float32))
    for session in ("s0", "s1"):
        np.save(tmp_path / f"{session}_responses.npy", np.zeros((3, 40), np.float32))
    state = WizardState()
    state.recipe.base_dir = tmp_path
    state.add_stimulus(str(tmp_path / "natural.npy"), probe_path(tmp_path / "natural.npy"))
    for session in ("s0", "s1"):
        path = str(tmp_path / f"{session}_responses.npy")
        state.add_responses(path, probe_path(path))
    assert [s.name for s in state.recipe.sessions] == ["s0", "s1"]
    assert all(
        [e.stimulus for e in s.responses[0].epochs] == ["natural"] for s in state.recipe.sessions
    )
    assert state.page_problems("sessions") == []
    assert state.recipe.stimuli[0].axes == "thw"  # the longest axis is time


def test_unconfirmed_units_block_the_responses_page(tmp_path: Path) -> None:
    path = tmp_path / "s0_responses.npy"
    np.save(path, np.zeros((3, 40), np.float32))
    state = WizardState()
    session = state.add_responses(str(path), probe_path(path))
    assert session is not None
    source = session.responses[0]
    assert any("confirm" in p for p in state.page_problems("responses"))
    state.confirmed.add(source.path)
    assert state.page_problems("responses") == []
    source.kind, source.unit = "traces", "dF/F"
    assert state.page_problems("responses") == [
        f"Responses '{tmp_path.name}/s0_responses.npy': give the sampling rate in Hz."
    ]


def test_every_test_stimulus_blocks_the_stimuli_page(tmp_path: Path) -> None:
    np.save(tmp_path / "clip_test.npy", np.zeros((40, 4, 5), np.float32))
    state = WizardState()
    state.add_stimulus(str(tmp_path / "clip_test.npy"), probe_path(tmp_path / "clip_test.npy"))
    assert state.recipe.stimuli[0].split == "test"  # guessed from the name
    assert any("training stimulus" in p for p in state.page_problems("stimuli"))


def test_validation_clips_are_fitted_to_the_training_frames(example_root: Path) -> None:
    state = WizardState(recipe=load_recipe(example_root / "recipe.yaml"))
    for key, path in state.probe_targets().items():
        state.probes[key] = probe_path(path)
    assert state.train_frames() == 600
    state.fit_validation()
    assert state.clip_length * (state.num_val_clips + 1) <= 600
    state.num_val_clips, state.validation_edited = 10, True
    state.fit_validation()  # the user's choice is kept, and explained
    assert state.num_val_clips == 10
    assert any("validation clips" in p for p in state.page_problems("normalisation"))


def test_the_example_files_added_by_hand_match_sessions_and_triggers(example_root: Path) -> None:
    state = WizardState()
    state.recipe.base_dir = example_root
    for name in ("natural.tif", "test_clip.npy"):
        path = str(example_root / "stimuli" / name)
        state.add_stimulus(path, probe_path(path))
    raw = example_root / "raw"
    for item in ("session_01/phy", "session_01/ttl.npy", "session_02/ttl.npy", "session_02/phy"):
        state.add_responses(str(raw / item), probe_path(raw / item))
    assert [s.split for s in state.recipe.stimuli] == ["train", "test"]
    assert [s.name for s in state.recipe.sessions] == ["session_01", "session_02"]
    for session in state.recipe.sessions:
        source = session.responses[0]
        assert (source.kind, source.unit, source.key) == ("spike_times", "samples", None)
        assert source.unit_filter == ["good"]  # the sorter labelled some units good
        assert source.frame_times.kind == "trigger"
        assert source.frame_times.path == str(raw / session.name / "ttl.npy")
        assert [e.stimulus for e in source.epochs] == ["natural", "test_clip"]
    assert state.page_problems("sessions") == []
    # What the files cannot say, the pages ask for: units, rates, repeats.
    assert any("sampling rate" in p for p in state.page_problems("timing"))


def test_moving_a_source_joins_and_splits_sessions(tmp_path: Path) -> None:
    state = WizardState()
    for name in ("s0_natural", "s0_test", "s1"):
        np.save(tmp_path / f"{name}.npy", np.zeros((3, 40), np.float32))
        state.add_responses(str(tmp_path / f"{name}.npy"), probe_path(tmp_path / f"{name}.npy"))
    assert [s.name for s in state.recipe.sessions] == ["s0_natural", "s0_test", "s1"]
    second = state.recipe.sessions[1].responses[0]
    joined = state.move_source(second, "s0_natural")
    assert [s.name for s in state.recipe.sessions] == ["s0_natural", "s1"]  # the empty one goes
    assert [Path(r.path).name for r in joined.responses] == ["s0_natural.npy", "s0_test.npy"]
    alone = state.move_source(second, None)
    assert alone.name == "s0_test" and alone.responses == [second]
    assert [s.name for s in state.recipe.sessions] == ["s0_natural", "s0_test", "s1"]
    state.move_source(state.recipe.sessions[2].responses[0], None)  # s1 alone already
    assert [s.name for s in state.recipe.sessions] == ["s0_natural", "s0_test", "s1"]
    state.move_source(second, "s0_natural")
    taken = state.move_source(state.recipe.sessions[0].responses[0], None)
    assert taken.name == "s0_natural_2"  # a new session never takes an existing name


def test_files_joined_into_one_session_keep_the_stimuli_their_names_mention(
    tmp_path: Path,
) -> None:
    state = WizardState()
    for name in ("natural", "test"):
        np.save(tmp_path / f"{name}.npy", np.zeros((40, 4, 5), np.float32))
        state.add_stimulus(str(tmp_path / f"{name}.npy"), probe_path(tmp_path / f"{name}.npy"))
    state.recipe.stimuli[1].split = "test"
    for name in ("s0_natural", "s0_test", "s0_extra"):
        np.save(tmp_path / f"{name}.npy", np.zeros((3, 40), np.float32))
        state.add_responses(str(tmp_path / f"{name}.npy"), probe_path(tmp_path / f"{name}.npy"))
    first, second, third = (s.responses[0] for s in state.recipe.sessions)
    assert [e.stimulus for e in second.epochs] == ["natural", "test"]  # before: every one
    state.move_source(second, "s0_natural")
    state.move_source(third, "s0_natural")
    assert [[e.stimulus for e in r.epochs] for r in (first, second, third)] == [
        ["natural"],
        ["test"],
        ["natural", "test"],  # a name that mentions no stimulus keeps them all
    ]
