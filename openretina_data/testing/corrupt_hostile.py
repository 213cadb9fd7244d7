"""Corpus cases from a hostile review of ``create-example`` (one change each).

Each case starts from the bundled example recording (two Phy-sorted sessions, a TTL
trigger, a TIFF and a ``.npy`` stimulus) or the small binned recording, changes one
thing, and lists the entry points that see it. They are the classes the review found
losing or silently corrupting data, crashing or hanging; see
:mod:`openretina_data.testing.corrupt` for what a case is. The process-level ones
(Ctrl-C, killed workers, crash reports) are tested in ``tests/reliability/test_hostile.py``.
"""

from __future__ import annotations

import math
import os
import shutil
import unicodedata
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import yaml

from openretina_data.example import create_example
from openretina_data.recipe import Recipe, fill_session, load_recipe
from openretina_data.testing.corrupt import (
    CONVERT,
    CONVERT_CLI,
    LOAD_RECIPE,
    PLAN,
    PLAN_CLI,
    READERS,
    RECIPE_RUN,
    Built,
    Case,
    finish,
    new_built,
    recording,
)

RECIPE_TEXT = (LOAD_RECIPE, PLAN, PLAN_CLI, CONVERT, CONVERT_CLI)
OVERWRITE = ("--overwrite",)


def _example(
    edit: Callable[[Built, Recipe], None], *, flags: tuple[str, ...] = ()
) -> Callable[[Path], Built]:
    """The example recording writing to ``outputs/dataset``, then ``edit(built, recipe)``."""

    def build(root: Path) -> Built:
        built = new_built(root)
        create_example(built.inputs)
        recipe = load_recipe(built.inputs / "recipe.yaml")
        recipe.output = "../outputs/dataset"
        built.flags = flags
        edit(built, recipe)
        return finish(built, recipe, name="recipe.yaml")

    return build


def _phy(built: Built, session: str = "session_01") -> Path:
    return built.inputs / "raw" / session / "phy"


# --- data loss: the output and the sources -----------------------------------------


def _triggers_in_output(built: Built, recipe: Recipe) -> None:
    """Trigger files as ``ttl/{session}.h5`` and ``output: ttl`` (the review's data loss)."""
    (built.inputs / "ttl").mkdir()
    for session in ("session_01", "session_02"):
        with h5py.File(built.inputs / "ttl" / f"{session}.h5", "w") as file:
            file["ttl"] = np.load(built.inputs / "raw" / session / "ttl.npy")
    timing = recipe.sessions[0].responses[0].frame_times
    timing.path, timing.key = "ttl/{session}.h5", "ttl"
    recipe.output = "ttl"


def _foreign_h5_in_output(built: Built, recipe: Recipe) -> None:
    """An output folder holding an ``.h5`` file of someone else's (no card of ours)."""
    folder = built.outputs / "dataset"
    folder.mkdir()
    with h5py.File(folder / "their_session.h5", "w") as file:
        file["responses_natural"] = np.ones((2, 3), np.float32)
    built.outside.append(folder / "their_session.h5")


def _reads_its_own_output(built: Built, recipe: Recipe) -> None:
    """A dataset of ours at the output, and a stimulus read from inside it (--overwrite)."""
    from openretina_data.convert import run

    first = load_recipe(built.inputs / "recipe.yaml")
    first.output = "../outputs/dataset"
    run(first)
    written = built.outputs / "dataset" / "stimuli" / "test_clip.npy"
    built.outside.append(written)
    test = next(spec for spec in recipe.stimuli if spec.name == "test_clip")
    test.path, test.axes = "../outputs/dataset/stimuli/test_clip.npy", "cthw"


def _output(text: str) -> Callable[[Built, Recipe], None]:
    def edit(built: Built, recipe: Recipe) -> None:
        recipe.output = text

    return edit


def _output_is_a_file(built: Built, recipe: Recipe) -> None:
    (built.outputs / "dataset").write_text("notes")
    built.outside.append(built.outputs / "dataset")


# --- silent wrong data in the recipe -----------------------------------------------


def _duplicate_key(suffix: str) -> Callable[[Path], Built]:
    """The example recipe with ``output`` given twice (YAML and JSON keep the last)."""

    def build(root: Path) -> Built:
        built = new_built(root)
        create_example(built.inputs)
        recipe_path = built.inputs / "recipe.yaml"
        data = yaml.safe_load(recipe_path.read_text())
        data["output"] = "../outputs/dataset"
        recipe_path.unlink()
        if suffix == ".json":
            import json

            text = json.dumps(data, indent=1)
            text = text.replace('\n "output"', '\n "output": "../outputs/other",\n "output"', 1)
        else:
            text = yaml.safe_dump(data, sort_keys=False) + "output: ../outputs/other\n"
        built.recipe = built.inputs / f"recipe{suffix}"
        built.recipe.write_text(text)
        return built

    return build


def _twin_sessions(built: Built, recipe: Recipe) -> None:
    """``raw/séance`` twice: once NFC, once NFD (macOS writes NFD; Linux keeps both)."""
    raw = built.inputs / "raw"
    for form in ("NFC", "NFD"):
        shutil.copytree(raw / "session_01", raw / unicodedata.normalize(form, "séance"))


def _session_folder(name: str) -> Callable[[Built, Recipe], None]:
    def edit(built: Built, recipe: Recipe) -> None:
        raw = built.inputs / "raw"
        shutil.copytree(raw / "session_01", raw / name)

    return edit


def _session_name(name: str) -> Callable[[Built, Recipe], None]:
    """session_01 listed explicitly (its paths filled in) under the name ``name``."""

    def edit(built: Built, recipe: Recipe) -> None:
        session = fill_session(recipe.sessions[0], "session_01")
        session.name = name
        recipe.sessions = [session]

    return edit


# --- tracebacks: stray files, missing files, broken tables -------------------------


def _ds_store(built: Built, recipe: Recipe) -> None:
    (built.inputs / "raw" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")


def _stray_file(built: Built, recipe: Recipe) -> None:
    (built.inputs / "raw" / "notes.txt").write_text("session_02 had a loose electrode")


def _absolute_pattern(built: Built, recipe: Recipe) -> None:
    recipe.session_pattern = os.fspath(built.inputs.resolve() / "raw" / "{session}")


def _no_cluster_info(built: Built, recipe: Recipe) -> None:
    (_phy(built) / "cluster_info.tsv").unlink()


def _edit_table(change: Callable[[list[str]], list[str]]) -> Callable[[Built, Recipe], None]:
    def edit(built: Built, recipe: Recipe) -> None:
        path = _phy(built) / "cluster_info.tsv"
        lines = path.read_text().splitlines()
        path.write_bytes(("\n".join(change(lines)) + "\n").encode("latin-1"))

    return edit


def _short_row(lines: list[str]) -> list[str]:
    lines[2] = lines[2].rsplit("\t", 1)[0]
    return lines


def _latin1(lines: list[str]) -> list[str]:
    return [lines[0] + "\tnote", *(f"{line}\tcaf\xe9" for line in lines[1:])]


def _huge_field(lines: list[str]) -> list[str]:
    cells = lines[2].split("\t")
    cells[-1] = "x" * 200_000
    lines[2] = "\t".join(cells)
    return lines


def _id_beyond_int64(lines: list[str]) -> list[str]:
    cells = lines[2].split("\t")
    cells[0] = "99999999999999999999999"
    lines[2] = "\t".join(cells)
    return lines


def _given_nan_mean(built: Built, recipe: Recipe) -> None:
    recipe.normalisation.mode, recipe.normalisation.mean = "given", math.nan
    recipe.normalisation.std = 1.0


def _lag_whole_movie(built: Built, recipe: Recipe) -> None:
    recipe.lag_frames = recipe_frames(built, recipe)


def recipe_frames(built: Built, recipe: Recipe) -> int:
    """Frames of the training movie of the small binned recording."""
    return int(np.load(built.inputs / recipe.stimuli[0].path, mmap_mode="r").shape[0])


def _lag_case(root: Path) -> Built:
    built, recipe = recording(root)
    _lag_whole_movie(built, recipe)
    return finish(built, recipe)


# --- hangs and endless reads -------------------------------------------------------


def _fifo_stimulus(built: Built, recipe: Recipe) -> None:
    path = built.inputs / "stimuli" / "test_clip.npy"
    path.unlink()
    os.mkfifo(path)
    built.target = path


def _special_recipe(kind: str) -> Callable[[Path], Built]:
    def build(root: Path) -> Built:
        built = new_built(root)
        path = built.inputs / "recipe.yaml"
        if kind == "fifo":
            os.mkfifo(path)
        else:
            path.symlink_to("/dev/zero")
        built.recipe = built.target = path
        return built

    return build


def hostile_cases() -> list[Case]:
    """The classes of the hostile review; each fails without its fix."""
    no_overwrite_hint = ("--overwrite",)
    return [
        Case("output-holds-sources-overwrite",
             "output: ttl with the trigger files in ttl/{session}.h5, --overwrite",
             _example(_triggers_in_output, flags=OVERWRITE), RECIPE_RUN,
             never_say=no_overwrite_hint),
        Case("output-holds-sources",
             "output: ttl with the trigger files in ttl/{session}.h5",
             _example(_triggers_in_output), RECIPE_RUN, never_say=no_overwrite_hint),
        Case("output-foreign-h5-overwrite",
             "--overwrite onto a folder holding an .h5 file we did not write",
             _example(_foreign_h5_in_output, flags=OVERWRITE), RECIPE_RUN,
             never_say=no_overwrite_hint),
        Case("output-read-by-the-recipe-overwrite",
             "--overwrite of a dataset of ours that the recipe reads a stimulus from",
             _example(_reads_its_own_output, flags=OVERWRITE), RECIPE_RUN,
             never_say=no_overwrite_hint),
        Case("output-inside-source-folder", "output inside a Kilosort folder the recipe reads",
             _example(_output("raw/session_01/phy/dataset")), RECIPE_RUN),
        Case("output-recipe-folder", "output: '.' (the folder holding the recipe and sources)",
             _example(_output("."), flags=OVERWRITE), RECIPE_RUN, never_say=no_overwrite_hint),
        Case("output-empty", "output: '' (empty)",
             _example(_output("")), RECIPE_RUN, never_say=("already exists", "--overwrite")),
        Case("output-dev-null", "output: /dev/null",
             _example(_output("/dev/null")), RECIPE_RUN,
             never_say=("already exists", "--overwrite")),
        Case("output-is-a-file", "the output path is a file",
             _example(_output_is_a_file), RECIPE_RUN,
             never_say=("already exists", "--overwrite")),
        Case("output-nul", "a NUL byte in output",
             _example(_output("data\x00set")), RECIPE_RUN),
        Case("yaml-duplicate-key", "a YAML recipe giving output twice",
             _duplicate_key(".yaml"), RECIPE_TEXT),
        Case("json-duplicate-key", "a JSON recipe giving output twice",
             _duplicate_key(".json"), RECIPE_TEXT),
        Case("sessions-nfc-nfd", "raw/séance in NFC and in NFD (one name, two folders)",
             _example(_twin_sessions), RECIPE_RUN),
        Case("session-folder-c1-control", "a session folder whose name holds U+009B (CSI)",
             _example(_session_folder("s\x9b2J")), RECIPE_RUN),
        Case("session-folder-bidi", "a session folder whose name holds U+202E (RLO)",
             _example(_session_folder("s\u202eab")), RECIPE_RUN),
        Case("session-name-bytes", "a session name of 130 'é' (260 bytes: ENAMETOOLONG)",
             _example(_session_name("é" * 130)), RECIPE_RUN, never_say=("disk space",)),
        Case("session-pattern-ds-store", "a stray raw/.DS_Store beside the session folders",
             _example(_ds_store), RECIPE_RUN, may_accept=RECIPE_RUN, must_accept=True),
        Case("session-pattern-stray-file", "a stray raw/notes.txt beside the session folders",
             _example(_stray_file), RECIPE_RUN, may_accept=RECIPE_RUN, must_accept=True),
        Case("session-pattern-absolute", "an absolute session_pattern",
             _example(_absolute_pattern), RECIPE_RUN, may_accept=RECIPE_RUN, must_accept=True),
        Case("kilosort-no-cluster-info", "a Phy folder without cluster_info.tsv",
             _example(_no_cluster_info), RECIPE_RUN),
        Case("tsv-short-row", "a cluster table with a short row",
             _example(_edit_table(_short_row)), RECIPE_RUN),
        Case("tsv-latin1", "a cluster table with a Latin-1 byte (é as 0xE9)",
             _example(_edit_table(_latin1)), RECIPE_RUN, may_accept=RECIPE_RUN, must_accept=True),
        Case("tsv-huge-field", "a cluster table with a 200 000-character field",
             _example(_edit_table(_huge_field)), RECIPE_RUN),
        Case("tsv-id-beyond-int64", "a cluster id beyond int64",
             _example(_edit_table(_id_beyond_int64)), RECIPE_RUN),
        Case("normalisation-mean-nan", "normalisation given with mean .nan",
             _example(_given_nan_mean), RECIPE_RUN),
        Case("lag-frames-whole-movie", "lag_frames as long as the training movie",
             _lag_case, RECIPE_RUN),
        Case("source-fifo", "a stimulus that is a FIFO (reading it would wait forever)",
             _example(_fifo_stimulus), READERS + RECIPE_RUN),
        Case("recipe-fifo", "a recipe that is a FIFO", _special_recipe("fifo"),
             (LOAD_RECIPE, PLAN_CLI, CONVERT_CLI)),
        Case("recipe-dev-zero", "a recipe that is /dev/zero (endless)",
             _special_recipe("zero"), (LOAD_RECIPE, PLAN_CLI, CONVERT_CLI)),
    ]  # fmt: skip
