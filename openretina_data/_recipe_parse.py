"""Reading typed dataclasses from YAML/JSON text, with errors that name key and line.

Generic helpers behind :mod:`openretina_data.recipe`: ``parse_yaml`` (``safe_load``
plus a key-path → line map; refuses anchors/aliases, unusual tags, deep nesting),
``parse_json`` and ``build`` (a dataclass tree from plain data, checking every key
and type). Nothing here executes anything a file says.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import types
import typing
from typing import Any, Literal

import yaml

from openretina_data.errors import RecipeError

Lines = dict[tuple[str | int, ...], int]
MAX_YAML_NODES = 100_000
MAX_YAML_DEPTH = 50  # a recipe is about 6 levels deep; deeper input would exhaust the stack

_FLOAT_TEXT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def serialised_fields(cls: type) -> list[dataclasses.Field[Any]]:
    """The fields written to and read from files (``base_dir`` is not one)."""
    return [f for f in dataclasses.fields(cls) if f.metadata.get("serialise", True)]


def _path_text(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top level)"


class ErrorContext:
    """Turns a key path into an error that names the key and, when known, its line."""

    def __init__(self, lines: Lines, source: str | None) -> None:
        self.lines = lines
        self.source = source

    def error(self, path: tuple[str | int, ...], message: str, hint: str) -> RecipeError:
        line = None
        for cut in range(len(path), -1, -1):
            if path[:cut] in self.lines:
                line = self.lines[path[:cut]]
                break
        where = f" (line {line})" if line is not None else ""
        return RecipeError(
            f"{_path_text(path)}: {message}{where}",
            path=self.source,
            key=_path_text(path),
            hint=hint,
        )


def build(cls: type, data: Any, path: tuple[str | int, ...], context: ErrorContext) -> Any:
    if not isinstance(data, dict):
        raise context.error(
            path,
            f"expected a mapping for {cls.__name__}, got {type(data).__name__}",
            "Write key: value pairs here.",
        )
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in serialised_fields(cls)}
    for key in data:
        if key not in known:
            raise context.error(
                path + (str(key),), "unknown key", f"Known keys here: {', '.join(sorted(known))}."
            )
    kwargs: dict[str, Any] = {}
    for name, spec in known.items():
        if name not in data:
            if spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
                raise context.error(
                    path + (name,),
                    "required key is missing",
                    f"Add `{name}:` ({spec.metadata.get('doc', '')}).",
                )
            continue
        kwargs[name] = _convert(hints[name], data[name], path + (name,), context)
        _check_range(spec, kwargs[name], path + (name,), context)
    return cls(**kwargs)


def _check_range(
    spec: dataclasses.Field[Any], value: Any, path: tuple[str | int, ...], context: ErrorContext
) -> None:
    """Numbers within the field's stated bounds (``minimum``, ``above``, ``maximum``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    low, above, high = (spec.metadata.get(k) for k in ("minimum", "above", "maximum"))
    unit = spec.metadata.get("unit", "")
    bounds = []
    if low is not None:
        bounds.append(f"at least {low:g}{unit}")
    if above is not None:
        bounds.append(f"more than {above:g}{unit}")
    if high is not None:
        bounds.append(f"at most {high:g}{unit}")
    if (
        (low is not None and value < low)
        or (above is not None and value <= above)
        or (high is not None and value > high)
    ):
        raise context.error(
            path,
            f"{value!r} is out of range: must be {' and '.join(bounds)}",
            "Check the number and its unit.",
        )


def _convert(tp: Any, value: Any, path: tuple[str | int, ...], context: ErrorContext) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return None
        inner = [option for option in options if option is not type(None)]
        for option in inner[:-1]:  # e.g. bool | Literal["auto"]: the first that fits
            try:
                return _convert(option, value, path, context)
            except RecipeError:
                continue
        return _convert(inner[-1], value, path, context)
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed or isinstance(value, bool):
            raise context.error(
                path,
                f"{value!r} is not one of {', '.join(map(str, allowed))}",
                "Pick one of the listed values.",
            )
        return value
    if origin is list:
        if not isinstance(value, list):
            raise context.error(
                path,
                f"expected a list, got {type(value).__name__}",
                "Write a list (`- item` lines or [a, b]).",
            )
        (item_type,) = typing.get_args(tp)
        return [
            _convert(item_type, item, path + (index,), context) for index, item in enumerate(value)
        ]
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return build(tp, value, path, context)
    if tp is bool:
        if not isinstance(value, bool):
            raise context.error(
                path, f"expected true or false, got {value!r}", "Write true or false."
            )
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise context.error(
                path, f"expected a whole number, got {value!r}", "Write an integer such as 0 or 3."
            )
        return value
    if tp is float:
        if isinstance(value, str) and _FLOAT_TEXT.match(value.strip()):
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise context.error(
                path, f"expected a number, got {value!r}", "Write a number such as 30 or 29.97."
            )
        if not math.isfinite(value):
            raise context.error(
                path, f"expected a finite number, got {value!r}", "Write a number such as 30."
            )
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise context.error(
                path, f"expected text, got {value!r}", "Quote the value if it looks like a number."
            )
        return value
    raise context.error(
        path, f"cannot read a value of type {tp!r}", "This is a bug; please report it."
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a recipe may hold")


def duplicate_key(
    path: tuple[str | int, ...], line: int | None, first: int | None, source: str | None
) -> RecipeError:
    """A key given twice in one mapping (YAML and JSON would silently keep the last)."""
    where = _path_text(path)
    lines = f" at line {line} (first at line {first})" if line and first else ""
    return RecipeError(
        f"key {where!r} is given twice{lines}",
        path=source,
        key=where,
        hint="Keep one of the two; a recipe states every setting once.",
    )


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


class _DuplicateKey(ValueError):
    pass


def parse_json(text: str, source: str | None) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as error:
        parse_yaml(text, source)  # JSON is (nearly) YAML: this names the path and the lines
        raise duplicate_key((str(error),), None, None, source) from None
    except json.JSONDecodeError as error:
        raise RecipeError(
            f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}",
            path=source,
            hint="Fix the JSON syntax (a missing comma or quote?).",
        ) from error
    except ValueError as error:
        raise RecipeError(
            f"invalid JSON: {error}", path=source, hint="Write finite numbers."
        ) from error
    except RecursionError:
        raise RecipeError(
            "the JSON is nested too deeply", path=source, hint="Is this the right file?"
        ) from None


_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",  # an unquoted date; rejected later as "expected text"
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


def parse_yaml(text: str, source: str | None) -> tuple[Any, Lines]:
    """safe_load plus a map from key path to line; refuses aliases and unusual tags."""
    try:
        depth = 0
        for count, event in enumerate(yaml.parse(text, Loader=yaml.SafeLoader)):
            depth += isinstance(event, yaml.CollectionStartEvent)
            depth -= isinstance(event, yaml.CollectionEndEvent)
            if depth > MAX_YAML_DEPTH:
                raise RecipeError(
                    f"recipe is nested more than {MAX_YAML_DEPTH} levels deep",
                    path=source,
                    hint="Is this the right file?",
                )
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                line = event.start_mark.line + 1 if event.start_mark is not None else "?"
                raise RecipeError(
                    f"YAML anchors/aliases are not allowed (line {line})",
                    path=source,
                    hint="Write the values out in full; recipes stay plain data.",
                )
            if count > MAX_YAML_NODES:
                raise RecipeError(
                    "recipe has too many YAML nodes", path=source, hint="Is this the right file?"
                )
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                raise RecipeError(
                    "recipe is empty",
                    path=source,
                    hint="Start with `openretina_data_recipe: 1`.",
                )
            lines: Lines = {}
            record_lines(node, (), lines, source)
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise RecipeError(
            f"invalid YAML{line}: {error.problem}",
            path=source,
            hint="Fix the indentation or quoting there.",
        ) from error
    except yaml.YAMLError as error:
        raise RecipeError(f"invalid YAML: {error}", path=source, hint="Fix the syntax.") from error
    return data, lines


def record_lines(
    node: yaml.Node,
    path: tuple[str | int, ...],
    lines: Lines,
    source: str | None,
) -> None:
    if node.tag not in _PLAIN_TAGS:
        raise RecipeError(
            f"YAML tag {node.tag!r} is not allowed (line {node.start_mark.line + 1})",
            path=source,
            hint="Remove the !tag; recipes hold plain values only.",
        )
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            record_lines(key_node, path + ("<key>",), {}, source)
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in first_line:
                raise duplicate_key(path + (key,), line, first_line[key], source)
            first_line[key] = line
            key_path = path + (key,)
            lines[key_path] = key_node.start_mark.line + 1
            record_lines(value_node, key_path, lines, source)
            lines[key_path] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            record_lines(item, path + (index,), lines, source)
