"""Property tests: random recipes and random file bytes meet our errors, never anything else.

The recipe loader gets random JSON/YAML structures (with the recipe's own keys mixed
in, so many get past the header) and random text; the source readers get random bytes
behind each format's magic number and suffix. Each must give a valid result or one of
:mod:`openretina_data.errors`' classes, and no pickle payload may ever run.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openretina_data.errors import OpenRetinaDataError, RecipeError
from openretina_data.recipe import Recipe, loads_recipe
from openretina_data.sources import open_source, probe
from openretina_data.testing.corrupt import MARKER, npy_header, payload_pickle

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RECIPE_KEYS = [
    "openretina_data_recipe", "output", "frame_rate_hz", "stimuli", "sessions", "name", "path",
    "key", "axes", "split", "responses", "kind", "unit", "epochs", "stimulus", "repeats",
    "frame_times", "normalisation", "mode", "binning", "lag_frames", "dtype", "shared",
]  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["train", "test", "binned", "thw", "../x", "{session}", "s", "1"])
)
keys = st.sampled_from(RECIPE_KEYS) | st.text(max_size=8)
structures = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=6),
    max_leaves=30,
)


def _load(text: str) -> None:
    try:
        result = loads_recipe(text, base_dir=".", source="fuzz.yaml")
    except RecipeError as error:
        assert error.hint, str(error)
        return
    assert isinstance(result, Recipe)


@FUZZ
@given(
    body=st.dictionaries(keys, structures, max_size=8), header=st.sampled_from([1, 2, "1", None])
)
def test_random_recipe_structures_give_a_recipe_or_a_recipe_error(
    body: dict[str, Any], header: Any
) -> None:
    data = {"openretina_data_recipe": header, **body}
    _load(json.dumps(data))
    _load(yaml.safe_dump(data))


@FUZZ
@given(text=st.text(max_size=300))
def test_random_text_gives_a_recipe_or_a_recipe_error(text: str) -> None:
    _load(text)


MAGIC = {
    ".npy": [b"", b"\x93NUMPY\x01\x00", npy_header("<f4", (3, 4))],
    ".h5": [b"", b"\x89HDF\r\n\x1a\n"],
    ".mat": [b"", b"MATLAB 5.0 MAT-file" + b" " * 97 + b"\x00\x00\x00\x00\x00\x01IM"],
    ".tif": [b"", b"II*\x00", b"MM\x00*"],
}


@FUZZ
@given(
    suffix=st.sampled_from(sorted(MAGIC)),
    choice=st.integers(0, 2),
    tail=st.binary(max_size=2048),
    pickled=st.booleans(),
)
def test_random_bytes_give_a_probe_or_our_error(
    suffix: str, choice: int, tail: bytes, pickled: bool
) -> None:
    magics = MAGIC[suffix]
    with tempfile.TemporaryDirectory() as folder:
        marker = Path(folder) / MARKER
        path = Path(folder) / f"data{suffix}"
        middle = payload_pickle(marker) if pickled else b""
        path.write_bytes(magics[choice % len(magics)] + middle + tail)
        try:
            info = probe(path)
        except OpenRetinaDataError as error:
            assert error.path and error.hint, str(error)
        else:
            with open_source(path) as reader:  # a valid probe reads back, a little
                for variable in info.variables[:3]:
                    array = reader.array(variable.key)
                    if array.ndim and 0 < array.shape[0] and np.prod(array.shape) < 10**6:
                        try:
                            np.asarray(array[:1])
                        except OpenRetinaDataError:
                            pass
        assert not marker.exists()
