"""The recipe: lossless YAML/JSON round trip, errors that name the key and line, templates."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openretina_data.errors import RecipeError
from openretina_data.recipe import (
    MAX_RECIPE_BYTES,
    Binning,
    Epoch,
    FrameTimes,
    InfoSource,
    Loader,
    Normalisation,
    Recipe,
    Repeats,
    ResponseSource,
    SessionSpec,
    StimulusSpec,
    dumps_recipe,
    expand_sessions,
    from_dict,
    load_recipe,
    loads_recipe,
    save_recipe,
    to_dict,
)
from openretina_data.recipe_schema import SCHEMA_PATH, recipe_json_schema, schema_text


def every_field_set() -> Recipe:
    """A recipe in which every field differs from its default."""
    return Recipe(
        output="out/dataset",
        frame_rate_hz=29.97,
        stimuli=[
            StimulusSpec(
                name="movie",
                path="stim/{session}.h5",
                key="movie/frames",
                format="hdf5",
                axes="cthw",
                split="test",
                shared=False,
            )
        ],
        sessions=[
            SessionSpec(
                name="{session}",
                responses=[
                    ResponseSource(
                        path="raw/{session}/traces.mat",
                        kind="traces",
                        unit="dF/F",
                        epochs=[Epoch(stimulus="movie", repeats=3, skip_frames=7)],
                        key="dff",
                        format="mat-v7.3",
                        axes="tn",
                        sampling_rate_hz=7.8125,
                        unit_filter=["good", "mua"],
                        frame_times=FrameTimes(
                            kind="trigger",
                            path="raw/{session}/sync.h5",
                            key="ttl",
                            unit="samples",
                            sampling_rate_hz=10000.0,
                            threshold=2.5,
                            edge="falling",
                            start_s=0.5,
                            fill_dropped=False,
                            rate_tolerance=0.02,
                            drop_duplicates=True,
                            debounce_s=0.002,
                        ),
                    )
                ],
                session_info=[
                    InfoSource(name="cell_types", path="types.csv", key="type", format="table")
                ],
            )
        ],
        session_pattern="raw/{session}",
        dtype="uint8",
        lag_frames=2,
        normalisation=Normalisation(mode="given", mean=0.5, std=0.25),
        binning=Binning(trace_method="linear", spike_unit="Hz"),
        repeats=Repeats(store_trials=False),
        loader=Loader(train_chunk_size=20, batch_size=16, clip_length=40, num_val_clips=3, seed=7),
        description="all fields",
        stimulus_class="natural_movie",
        retina_pixel_size_um=12.5,
    )


def _defaults_of(cls: type) -> dict[str, Any]:
    values = {}
    for spec in dataclasses.fields(cls):
        if spec.default is not dataclasses.MISSING:
            values[spec.name] = spec.default
        elif spec.default_factory is not dataclasses.MISSING:
            values[spec.name] = spec.default_factory()
    return values


def _walk(value: Any) -> list[Any]:
    found = [value]
    if dataclasses.is_dataclass(value):
        for spec in dataclasses.fields(value):
            found.extend(_walk(getattr(value, spec.name)))
    elif isinstance(value, list):
        for item in value:
            found.extend(_walk(item))
    return found


def test_the_full_recipe_really_sets_every_field() -> None:
    for node in _walk(every_field_set()):
        if not dataclasses.is_dataclass(node):
            continue
        for name, default in _defaults_of(type(node)).items():
            if name == "base_dir":
                continue
            assert getattr(node, name) != default, (
                f"{type(node).__name__}.{name} is left at its default"
            )


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_every_field_round_trips_through_a_file(tmp_path: Path, suffix: str) -> None:
    recipe = every_field_set()
    path = save_recipe(recipe, tmp_path / f"recipe{suffix}")
    loaded = load_recipe(path)
    assert loaded == recipe
    assert loaded.base_dir == tmp_path.resolve()
    assert to_dict(loaded) == to_dict(recipe)


names = st.text(alphabet="abcdefghij_0123456789", min_size=1, max_size=8)
texts = st.text(max_size=20)
numbers = st.floats(allow_nan=False, allow_infinity=False, width=64)
rates = st.floats(min_value=1e-3, max_value=1e4, exclude_min=True)
sampling_rates = st.none() | st.floats(min_value=1e-3, max_value=1e9)
optional_text = st.none() | texts

frame_times = st.builds(
    FrameTimes,
    kind=st.sampled_from(["rate", "timestamps", "trigger"]),
    path=optional_text,
    key=optional_text,
    unit=st.sampled_from(["s", "ms", "samples"]),
    sampling_rate_hz=sampling_rates,
    threshold=st.none() | numbers,
    edge=st.sampled_from(["rising", "falling"]),
    start_s=numbers,
    fill_dropped=st.booleans() | st.just("auto"),
    rate_tolerance=st.none() | st.floats(min_value=0, max_value=1),
    drop_duplicates=st.booleans(),
    debounce_s=st.floats(min_value=0, max_value=1e3),
)
sources = st.builds(
    ResponseSource,
    path=texts,
    kind=st.sampled_from(["binned", "spike_times", "traces"]),
    unit=texts,
    epochs=st.lists(
        st.builds(Epoch, stimulus=names, repeats=st.integers(), skip_frames=st.integers()),
        max_size=3,
    ),
    key=optional_text,
    format=optional_text,
    axes=texts,
    sampling_rate_hz=sampling_rates,
    unit_filter=st.lists(texts, max_size=3),
    frame_times=frame_times,
)
recipes = st.builds(
    Recipe,
    output=texts,
    frame_rate_hz=rates,
    stimuli=st.lists(
        st.builds(
            StimulusSpec,
            name=names,
            path=texts,
            key=optional_text,
            format=optional_text,
            axes=texts,
            split=st.sampled_from(["train", "test"]),
            shared=st.booleans(),
        ),
        max_size=3,
    ),
    sessions=st.lists(
        st.builds(
            SessionSpec,
            name=names,
            responses=st.lists(sources, max_size=2),
            session_info=st.lists(
                st.builds(
                    InfoSource, name=names, path=texts, key=optional_text, format=optional_text
                ),
                max_size=2,
            ),
        ),
        max_size=2,
    ),
    session_pattern=optional_text,
    dtype=st.sampled_from(["float32", "uint8"]),
    lag_frames=st.integers(),
    normalisation=st.builds(
        Normalisation,
        mode=st.sampled_from(["compute", "given", "none"]),
        mean=st.none() | numbers,
        std=st.none() | numbers,
    ),
    binning=st.builds(
        Binning,
        trace_method=st.sampled_from(["linear", "area"]),
        spike_unit=st.sampled_from(["spikes/bin", "Hz"]),
    ),
    repeats=st.builds(Repeats, store_trials=st.booleans()),
    loader=st.builds(
        Loader,
        train_chunk_size=st.integers(),
        batch_size=st.integers(),
        clip_length=st.integers(),
        num_val_clips=st.integers(),
        seed=st.integers(),
    ),
    description=texts,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recipe=recipes, fmt=st.sampled_from(["yaml", "json"]))
def test_any_recipe_round_trips_losslessly(recipe: Recipe, fmt: str) -> None:
    text = dumps_recipe(recipe, fmt=fmt)  # type: ignore[arg-type]
    assert loads_recipe(text) == recipe


MINIMAL = """\
openretina_data_recipe: 1
output: out
frame_rate_hz: 30
stimuli:
  - name: natural
    path: natural.npy
sessions:
  - name: s0
    responses:
      - path: phy
        kind: spike_times
        unit: s
        epochs:
          - stimulus: natural
"""


def test_minimal_recipe_fills_defaults() -> None:
    recipe = loads_recipe(MINIMAL)
    assert recipe.stimuli[0].axes == "thw"
    assert recipe.sessions[0].responses[0].frame_times.kind == "rate"
    assert recipe.frame_rate_hz == 30.0 and isinstance(recipe.frame_rate_hz, float)


def _error(text: str) -> RecipeError:
    with pytest.raises(RecipeError) as caught:
        loads_recipe(text, source="r.yaml")
    return caught.value


def test_unknown_key_names_the_key_path_and_line() -> None:
    error = _error(
        MINIMAL.replace("        unit: s\n", "        unit: s\n        sampling_rat: 3\n")
    )
    assert error.key == "sessions[0].responses[0].sampling_rat"
    assert "line 13" in str(error)
    assert "sampling_rate_hz" in error.hint


def test_bad_type_names_the_key_and_line() -> None:
    error = _error(MINIMAL.replace("frame_rate_hz: 30", "frame_rate_hz: fast"))
    assert error.key == "frame_rate_hz"
    assert "line 3" in str(error)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (("kind: spike_times", "kind: spikes"), "sessions[0].responses[0].kind"),
        (
            ("stimulus: natural", "stimulus: [natural]"),
            "sessions[0].responses[0].epochs[0].stimulus",
        ),
        (("  - name: natural", "  - name: 5"), "stimuli[0].name"),
        (("frame_rate_hz: 30", "frame_rate_hz: true"), "frame_rate_hz"),
    ],
)
def test_wrong_values_are_refused(change: tuple[str, str], key: str) -> None:
    assert _error(MINIMAL.replace(*change)).key == key


def test_missing_required_key() -> None:
    error = _error(MINIMAL.replace("output: out\n", ""))
    assert error.key == "output"


@pytest.mark.parametrize("version", ["2", "'1'", "0"])
def test_wrong_version_is_refused(version: str) -> None:
    error = _error(
        MINIMAL.replace("openretina_data_recipe: 1", f"openretina_data_recipe: {version}")
    )
    assert "version" in error.message


def test_missing_version_is_refused() -> None:
    assert "version" in _error(MINIMAL.replace("openretina_data_recipe: 1\n", "")).message


def test_aliases_and_anchors_are_refused() -> None:
    bomb = MINIMAL + "description: &a [x, x]\n"
    assert "anchors" in _error(bomb).message
    assert "anchors" in _error("a: &x [1, 2]\nb: [*x, *x]\n").message


def test_python_tags_are_refused() -> None:
    error = _error(
        MINIMAL.replace("output: out", "output: !!python/object/apply:os.system [echo hi]")
    )
    assert "tag" in error.message


def test_oversized_recipe_is_refused() -> None:
    assert "larger" in _error(MINIMAL + "# " + "x" * 1_100_000 + "\n").message


def test_invalid_json_names_line(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text('{\n  "openretina_data_recipe": 1,\n  "output": "x"\n  "frame_rate_hz": 3\n}\n')
    with pytest.raises(RecipeError, match="line 4"):
        load_recipe(path)


def test_not_a_mapping_is_refused() -> None:
    assert "mapping" in _error("- 1\n- 2\n").message


def test_paths_resolve_from_the_recipe_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "recipe.yaml"
    path.write_text(MINIMAL)
    recipe = load_recipe(path)
    assert recipe.resolve("natural.npy") == tmp_path.resolve() / "sub" / "natural.npy"
    assert recipe.resolve("/abs/x.npy") == Path("/abs/x.npy")


def test_session_templates_expand_over_the_folder_pattern(tmp_path: Path) -> None:
    for name in ("2024-05-01", "2024-05-08"):
        (tmp_path / "raw" / name).mkdir(parents=True)
    (tmp_path / "raw" / "notes.txt").write_text("not a session folder, but matches the glob")
    recipe = from_dict(
        {
            **to_dict(loads_recipe(MINIMAL)),
            "session_pattern": "raw/{session}/",
            "sessions": [
                {
                    "name": "{session}",
                    "responses": [
                        {
                            "path": "raw/{session}/phy",
                            "kind": "spike_times",
                            "unit": "s",
                            "epochs": [{"stimulus": "natural"}],
                        }
                    ],
                }
            ],
        },
        base_dir=tmp_path,
    )
    sessions = expand_sessions(recipe)
    assert [s.name for s in sessions] == ["2024-05-01", "2024-05-08"]
    assert sessions[1].responses[0].path == "raw/2024-05-08/phy"
    (tmp_path / "raw" / "2024-05-15").mkdir()  # next week's session
    assert [s.name for s in expand_sessions(recipe)][-1] == "2024-05-15"


def test_template_without_pattern_is_refused() -> None:
    recipe = loads_recipe(MINIMAL.replace("name: s0", "name: '{session}'"))
    with pytest.raises(RecipeError, match="session_pattern"):
        expand_sessions(recipe)


def test_committed_schema_is_up_to_date() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "run `python -m openretina_data.recipe_schema` and commit the result"
    )


def test_schema_describes_every_field() -> None:
    schema = recipe_json_schema()
    defs = schema["$defs"]
    for cls in (
        StimulusSpec,
        ResponseSource,
        FrameTimes,
        Epoch,
        SessionSpec,
        InfoSource,
        Normalisation,
        Binning,
        Repeats,
    ):
        properties = defs[cls.__name__]["properties"]
        assert set(properties) == {f.name for f in dataclasses.fields(cls)}
        assert all(p.get("description") for p in properties.values())
    assert "base_dir" not in schema["properties"]
    assert schema["properties"]["openretina_data_recipe"]["const"] == 1


def test_example_recipe_in_resources_loads() -> None:
    path = SCHEMA_PATH.parent / "example-recipe.yaml"
    recipe = load_recipe(path)
    assert recipe.sessions and recipe.stimuli
    assert json.loads(json.dumps(to_dict(recipe)))  # plain data only


def test_deeply_nested_input_is_refused() -> None:
    assert "nested" in _error("a: " + "[" * 200 + "]" * 200 + "\n").message
    assert "nested" in _error('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}").message


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("frame_rate_hz: 1.0e308", "frame_rate_hz"),
        ("frame_rate_hz: .nan", "frame_rate_hz"),
        ("frame_rate_hz: 0", "frame_rate_hz"),
        ("frame_rate_hz: -30", "frame_rate_hz"),
        ("frame_rate_hz: .inf", "frame_rate_hz"),
    ],
)
def test_absurd_numbers_are_refused_where_they_enter(line: str, key: str) -> None:
    text = f"openretina_data_recipe: 1\noutput: out\n{line}\nstimuli: []\nsessions: []\n"
    with pytest.raises(RecipeError) as raised:
        loads_recipe(text)
    assert raised.value.key == key and "line 3" in str(raised.value)


def test_a_sampling_rate_of_zero_is_refused_naming_its_key() -> None:
    text = (
        "openretina_data_recipe: 1\noutput: out\nframe_rate_hz: 30\nstimuli: []\n"
        "sessions:\n  - name: a\n    responses:\n      - path: p\n        kind: spike_times\n"
        "        unit: samples\n        epochs: []\n        sampling_rate_hz: 0\n"
    )
    with pytest.raises(RecipeError, match="out of range") as raised:
        loads_recipe(text)
    assert raised.value.key is not None and raised.value.key.endswith("sampling_rate_hz")


@pytest.mark.parametrize(
    ("value", "expected"), [("auto", "auto"), ("true", True), ("false", False)]
)
def test_fill_dropped_reads_auto_true_and_false(value: str, expected: object) -> None:
    text = (
        "openretina_data_recipe: 1\noutput: out\nframe_rate_hz: 30\nstimuli: []\n"
        "sessions:\n  - name: a\n    responses:\n      - path: p\n        kind: spike_times\n"
        "        unit: s\n        epochs: []\n        frame_times:\n"
        f"          fill_dropped: {value}\n"
    )
    assert loads_recipe(text).sessions[0].responses[0].frame_times.fill_dropped == expected


@settings(max_examples=100, deadline=None)
@given(
    key=st.sampled_from(["output", "frame_rate_hz", "description", "lag_frames"]),
    gap=st.integers(min_value=0, max_value=5),
)
def test_a_key_given_twice_is_refused_naming_it_and_both_lines(key: str, gap: int) -> None:
    """YAML and JSON keep the last of two equal keys silently; a recipe refuses them."""
    lines = ["openretina_data_recipe: 1", f"{key}: 1"] + ["# note"] * gap + [f"{key}: 2"]
    with pytest.raises(RecipeError) as caught:
        loads_recipe("\n".join(lines) + "\n")
    assert f"key {key!r} is given twice at line {3 + gap} (first at line 2)" in str(caught.value)
    as_json = (
        "{\n" + ",\n".join(['"openretina_data_recipe": 1', f'"{key}": 1', f'"{key}": 2']) + "\n}"
    )
    with pytest.raises(RecipeError, match=f"key '{key}' is given twice at line 4"):
        loads_recipe(as_json)


def test_a_nested_key_given_twice_names_its_path() -> None:
    text = "openretina_data_recipe: 1\nstimuli:\n- name: a\n  path: x.npy\n  name: b\n"
    with pytest.raises(RecipeError, match=r"key 'stimuli\[0\]\.name' is given twice at line 5"):
        loads_recipe(text)


def test_a_recipe_that_is_not_a_regular_file_is_refused_before_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "recipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(RecipeError, match=r"named pipe \(FIFO\)"):
        load_recipe(fifo)  # opening it would wait for a writer forever
    with pytest.raises(RecipeError, match="character device"):
        load_recipe("/dev/zero")
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_RECIPE_BYTES + 1))
    with pytest.raises(RecipeError, match="larger than"):
        load_recipe(big)
