"""Corpus cases in the recipe: hostile YAML/JSON, bad names, mismatched lengths, bad timing.

See :mod:`openretina_data.testing.corrupt` for what a case is.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from openretina_data.example import create_example
from openretina_data.recipe import Recipe, SessionSpec, load_recipe
from openretina_data.testing.corrupt import (
    CONVERT,
    CONVERT_CLI,
    LOAD_RECIPE,
    MARKER,
    PLAN,
    PLAN_CLI,
    RECIPE_RUN,
    Built,
    Case,
    finish,
    new_built,
    recording,
)

RECIPE_TEXT = (LOAD_RECIPE, PLAN_CLI, CONVERT_CLI)


def _text_recipe(name: str, text: str | bytes) -> Callable[[Path], Built]:
    def build(root: Path) -> Built:
        built = new_built(root)
        path = built.inputs / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        built.recipe = built.target = path
        return built

    return build


def _billion_laughs() -> str:
    lines = ["openretina_data_recipe: 1", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 10):
        refs = ",".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    lines.append("output: *a9")
    return "\n".join(lines) + "\n"


def _unknown_tags(root: Path) -> str:
    marker = str(root / MARKER)
    return (
        "openretina_data_recipe: 1\n"
        f"output: !!python/object/apply:builtins.exec [\"open({marker!r}, 'w').close()\"]\n"
        "description: !lab/secret-tag value\n"
    )


def _tagged(root: Path) -> Built:
    return _text_recipe("recipe.yaml", _unknown_tags(root))(root)


def _edit(
    edit: Callable[[Built, Recipe], None], *, train_frames: int = 60
) -> Callable[[Path], Built]:
    """A good recording whose recipe ``edit(built, recipe)`` then breaks (saved as JSON)."""

    def build(root: Path) -> Built:
        built, recipe = recording(root, train_frames=train_frames)
        edit(built, recipe)
        return finish(built, recipe)

    return build


def _session_name(name: str) -> Callable[[Built, Recipe], None]:
    def edit(built: Built, recipe: Recipe) -> None:
        recipe.sessions[0].name = name

    return edit


def _stimulus_name(name: str) -> Callable[[Built, Recipe], None]:
    def edit(built: Built, recipe: Recipe) -> None:
        old = recipe.stimuli[0].name
        recipe.stimuli[0].name = name
        for epoch in recipe.sessions[0].responses[0].epochs:
            if epoch.stimulus == old:
                epoch.stimulus = name

    return edit


def _clashing_sessions(other: str) -> Callable[[Built, Recipe], None]:
    def edit(built: Built, recipe: Recipe) -> None:
        first: SessionSpec = recipe.sessions[0]
        copy = SessionSpec(name=other, responses=list(first.responses))
        recipe.sessions.append(copy)

    return edit


def _responses_frames(frames: int) -> Callable[[Built, Recipe], None]:
    def edit(built: Built, recipe: Recipe) -> None:
        source = recipe.sessions[0].responses[0]
        path = built.inputs / source.path
        np.save(path, np.ones((5, frames), np.float32))

    return edit


def _symlinked_stimulus(built: Built, recipe: Recipe) -> None:
    elsewhere = built.root / "elsewhere"
    elsewhere.mkdir()
    real = built.inputs / "stimuli" / "train.npy"
    moved = real.rename(elsewhere / "train.npy")
    real.symlink_to(moved)
    built.outside.append(moved)


def _output_through_symlink(built: Built, recipe: Recipe) -> None:
    elsewhere = built.root / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("precious")
    built.outside.append(elsewhere / "keep.txt")
    (built.outputs / "dataset").symlink_to(elsewhere)


def _example(edit: Callable[[Built, Recipe], None]) -> Callable[[Path], Built]:
    """The bundled example recording (Kilosort spikes + TTL triggers), then ``edit``."""

    def build(root: Path) -> Built:
        built = new_built(root)
        create_example(built.inputs)
        recipe = load_recipe(built.inputs / "recipe.yaml")
        recipe.output = "../outputs/dataset"
        edit(built, recipe)
        return finish(built, recipe, name="recipe.yaml")

    return build


def _spikes_unit_seconds(built: Built, recipe: Recipe) -> None:
    recipe.sessions[0].responses[0].unit = "s"  # the files hold samples at 20 kHz


def _trigger_gap(built: Built, recipe: Recipe) -> None:
    ttl_path = built.inputs / "raw" / "session_01" / "ttl.npy"
    ttl = np.load(ttl_path)
    middle = ttl.shape[-1] // 2
    ttl[..., middle : middle + 4000] = ttl.min()  # 2 s at 2 kHz: 60 frames without a pulse
    np.save(ttl_path, ttl)


def recipe_cases() -> list[Case]:
    """Recipes that are hostile as text, or ask for something impossible or unsafe."""
    deep = "[" * 20_000 + "]" * 20_000
    return [
        Case("yaml-billion-laughs", "YAML anchors/aliases that expand to 10^9 items",
             _text_recipe("recipe.yaml", _billion_laughs()), RECIPE_TEXT),
        Case("yaml-unknown-tags", "YAML with python/object tags (would run code) and unknown tags",
             _tagged, RECIPE_TEXT),
        Case("yaml-deep-nesting", "YAML nested 20 000 levels deep",
             _text_recipe("recipe.yaml", deep), RECIPE_TEXT),
        Case("json-deep-nesting", "JSON nested 20 000 levels deep",
             _text_recipe("recipe.json", deep), RECIPE_TEXT),
        Case("yaml-huge", "a 5 MB recipe",
             _text_recipe("recipe.yaml", "openretina_data_recipe: 1\n" + "#" * 5_000_000 + "\n"),
             RECIPE_TEXT),
        Case("recipe-not-utf8", "a recipe file of binary junk",
             _text_recipe("recipe.yaml", b"\xff\xfe\x00junk\x9c"), RECIPE_TEXT),
        Case("session-name-dotdot", "a session named ../../escaped (writes outside the output)",
             _edit(_session_name("../../escaped")), RECIPE_RUN),
        Case("session-name-slash", "a session named a/b",
             _edit(_session_name("a/b")), RECIPE_RUN),
        Case("session-name-absolute", "a session named /tmp/abs",
             _edit(_session_name("/tmp/abs")), RECIPE_RUN),
        Case("session-name-nul", "a session name with a NUL character",
             _edit(_session_name("s\x00x")), RECIPE_RUN),
        Case("session-name-control", "a session name with terminal escape codes",
             _edit(_session_name("s\x1b[2J\n")), RECIPE_RUN),
        Case("stimulus-name-dotdot", "a stimulus named ../../x",
             _edit(_stimulus_name("../../x")), RECIPE_RUN),
        Case("sessions-same-name", "two sessions called s",
             _edit(_clashing_sessions("s0")), RECIPE_RUN),
        Case("sessions-differ-in-case", "sessions s0 and S0 (one file on macOS/Windows)",
             _edit(_clashing_sessions("S0")), RECIPE_RUN),
        Case("responses-short-by-one", "responses one frame shorter than the epochs need",
             _edit(_responses_frames(79)), RECIPE_RUN),
        Case("responses-short-by-thousands", "responses 3 000 frames shorter than the epochs need",
             _edit(_responses_frames(80), train_frames=3060), RECIPE_RUN),
        Case("spikes-wrong-unit", "spike times in samples declared as seconds",
             _example(_spikes_unit_seconds), RECIPE_RUN),
        Case("trigger-gap", "a trigger channel with a 2 s gap (60 frames without a pulse)",
             _example(_trigger_gap), RECIPE_RUN),
        Case("source-symlink-outside", "a stimulus that is a symlink to a file outside the inputs",
             _edit(_symlinked_stimulus), RECIPE_RUN, may_accept=RECIPE_RUN),
        Case("output-symlink-outside", "an output folder that is a symlink to another folder",
             _edit(_output_through_symlink), (PLAN, PLAN_CLI, CONVERT, CONVERT_CLI)),
    ]  # fmt: skip
