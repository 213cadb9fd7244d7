"""Property test: a valid recipe with random values put into it plans, converts and checks
cleanly, or ends in one of our errors — never anything else, and never touching a source.

Starts from the bundled example (two Phy sessions with a TTL channel, a TIFF movie, a
test clip shown three times) and replaces one to three of its fields with values drawn
from what users get wrong: wrong types, zero, negative, huge, NaN text, empty, paths that
point elsewhere, unknown names.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openretina_data.convert import run
from openretina_data.errors import OpenRetinaDataError
from openretina_data.example import create_example
from openretina_data.layout import check
from openretina_data.plan import plan
from openretina_data.recipe import load_recipe

#: Where a value can be put: (path of keys / indices into the recipe dict).
FIELDS: list[tuple[Any, ...]] = [
    ("frame_rate_hz",),
    ("lag_frames",),
    ("dtype",),
    ("stimuli", 0, "path"),
    ("stimuli", 0, "axes"),
    ("stimuli", 0, "split"),
    ("stimuli", 1, "axes"),
    ("stimuli", 1, "name"),
    ("sessions", 0, "name"),
    ("sessions", 0, "responses", 0, "unit"),
    ("sessions", 0, "responses", 0, "kind"),
    ("sessions", 0, "responses", 0, "sampling_rate_hz"),
    ("sessions", 0, "responses", 0, "unit_filter"),
    ("sessions", 0, "responses", 0, "epochs", 0, "stimulus"),
    ("sessions", 0, "responses", 0, "epochs", 1, "repeats"),
    ("sessions", 0, "responses", 0, "epochs", 1, "skip_frames"),
    ("sessions", 0, "responses", 0, "frame_times", "kind"),
    ("sessions", 0, "responses", 0, "frame_times", "path"),
    ("sessions", 0, "responses", 0, "frame_times", "sampling_rate_hz"),
    ("sessions", 0, "responses", 0, "frame_times", "threshold"),
    ("sessions", 0, "responses", 0, "frame_times", "fill_dropped"),
    ("sessions", 0, "responses", 0, "frame_times", "rate_tolerance"),
    ("sessions", 0, "responses", 0, "frame_times", "debounce_s"),
    ("sessions", 0, "session_info", 0, "key"),
    ("normalisation", "mode"),
    ("normalisation", "mean"),
    ("normalisation", "std"),
    ("loader", "batch_size"),
    ("loader", "clip_length"),
]
VALUES = st.one_of(
    st.sampled_from(
        [None, 0, -1, 1, 3, 0.5, 1e308, -1e-9, "", "nan", "x", "test", "train", "auto", True]
        + [[], {}, ["good"], "tw", "thwc", "raw/{session}/ttl.npy", "stimuli/test_clip.npy"]
        + ["../outside.npy", "/dev/zero", "séance", 2_000.0, 20_000.0, 200_000.0, 30, 2**70]
    ),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.integers(-5, 2000),
)


def _digest(root: Path) -> dict[str, str]:
    """SHA-256 of every source file of the example (outputs and fuzz recipes left out)."""
    digests = {}
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if path.is_file() and not any(p.startswith(("fuzz", ".fuzz")) for p in parts):
            digests["/".join(parts)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("fuzz-example")
    recipe_path = create_example(root)
    return root, yaml.safe_load(recipe_path.read_text())


def _put(data: dict[str, Any], where: tuple[Any, ...], value: Any) -> None:
    node: Any = data
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    changes=st.lists(st.tuples(st.sampled_from(FIELDS), VALUES), min_size=1, max_size=3),
    also_convert=st.booleans(),
)
def test_a_recipe_with_wrong_values_converts_cleanly_or_says_why(
    example: tuple[Path, dict[str, Any]],
    changes: list[tuple[tuple[Any, ...], Any]],
    also_convert: bool,
) -> None:
    root, original = example
    before = _digest(root)
    data = copy.deepcopy(original)
    for where, value in changes:
        _put(data, where, value)
    name = hashlib.sha1(repr(changes).encode()).hexdigest()[:10]
    data["output"] = f"fuzz-out-{name}"
    recipe_path = root / f"fuzz-{name}.yaml"
    recipe_path.write_text(yaml.safe_dump(data, allow_unicode=True))
    try:
        recipe = load_recipe(recipe_path)
        result = plan(recipe, overwrite=True)
        if result.ok and also_convert:
            output = run(recipe, overwrite=True)
            assert check(output).ok, check(output).to_text()
    except OpenRetinaDataError as error:
        assert error.message, repr(error)
    finally:
        recipe_path.unlink()
    assert _digest(root) == before  # no source changed, moved or removed
