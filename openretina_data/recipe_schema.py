"""JSON Schema of the recipe, generated from the :mod:`openretina_data.recipe` dataclasses.

The committed ``openretina_data/resources/recipe.schema.json`` is the output of
:func:`recipe_json_schema`; a test fails when the two drift apart. Regenerate with::

    python -m openretina_data.recipe_schema
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, Literal

from openretina_data import recipe as recipe_module

SCHEMA_PATH = Path(__file__).parent / "resources" / "recipe.schema.json"


def recipe_json_schema() -> dict[str, Any]:
    """A draft 2020-12 JSON Schema describing every recipe key, with its documentation."""
    definitions: dict[str, Any] = {}
    root = _object_schema(recipe_module.Recipe, definitions)
    root["properties"] = {
        recipe_module.VERSION_KEY: {
            "const": recipe_module.RECIPE_VERSION,
            "description": "Recipe format version.",
        },
        **root["properties"],
    }
    root["required"] = [recipe_module.VERSION_KEY, *root["required"]]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://openretina-data/recipe.schema.json",
        "title": "openretina-data conversion recipe",
        **root,
        "$defs": dict(sorted(definitions.items())),
    }


def _object_schema(cls: type, definitions: dict[str, Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for spec in dataclasses.fields(cls):
        if not spec.metadata.get("serialise", True):
            continue
        schema = _type_schema(hints[spec.name], definitions)
        doc = spec.metadata.get("doc")
        if doc:
            schema = {**schema, "description": doc}
        for key, keyword in (
            ("minimum", "minimum"),
            ("above", "exclusiveMinimum"),
            ("maximum", "maximum"),
        ):
            if spec.metadata.get(key) is not None:
                schema[keyword] = spec.metadata[key]
        if spec.default is not dataclasses.MISSING:
            schema["default"] = spec.default
        if spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
            required.append(spec.name)
        properties[spec.name] = schema
    return {
        "type": "object",
        "description": (cls.__doc__ or "").strip().splitlines()[0],
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _type_schema(tp: Any, definitions: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [_type_schema(arg, definitions) for arg in typing.get_args(tp)]
        return {"anyOf": options}
    if origin is Literal:
        return {"enum": list(typing.get_args(tp))}
    if origin is list:
        (item,) = typing.get_args(tp)
        return {"type": "array", "items": _type_schema(item, definitions)}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if tp.__name__ not in definitions:
            definitions[tp.__name__] = {}  # placeholder against recursion
            definitions[tp.__name__] = _object_schema(tp, definitions)
        return {"$ref": f"#/$defs/{tp.__name__}"}
    simple = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}
    if tp in simple:
        return {"type": simple[tp]}
    raise TypeError(f"no JSON Schema for {tp!r}")


def schema_text() -> str:
    """The schema as the committed file holds it."""
    return json.dumps(recipe_json_schema(), indent=2) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    """Regenerate the committed schema file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(schema_text(), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write_schema())
