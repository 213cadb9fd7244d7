"""MkDocs hooks: pages that are generated from the code, so they cannot drift from it.

A page asks for generated text with a marker line:

``<!-- generated: errors -->``          every error class in ``openretina_data.errors``, the
                                        builtins it is catchable as, its default hint and the
                                        hints the code raises it with (read from the source)
``<!-- generated: recipe-schema -->``   the recipe's fields, from the JSON Schema
``<!-- generated: example-recipe -->``  the commented example recipe, verbatim
``<!-- readme: TITLE -->``              README.md's section ``## TITLE`` (or ``### TITLE``),
                                        its links rewritten for the site

Each marker that finds nothing is an error, so ``mkdocs build --strict`` fails rather
than ship an empty page.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "openretina_data"
MARKER = re.compile(r"^<!-- (generated|readme): (.+?) -->$", re.MULTILINE)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    return MARKER.sub(lambda match: _expand(match.group(1), match.group(2).strip()), markdown)


def _expand(kind: str, name: str) -> str:
    if kind == "readme":
        return readme_section(name)
    makers = {
        "errors": errors_page,
        "recipe-schema": schema_page,
        "example-recipe": example_recipe,
    }
    if name not in makers:
        raise ValueError(f"docs: no generated section {name!r} (one of {sorted(makers)})")
    return makers[name]()


# --- README sections -------------------------------------------------------------------


def readme_section(title: str) -> str:
    """The body of README's section ``title``, down to the next heading of its level."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"^(#{{2,3}}) {re.escape(title)}\n", text, re.MULTILINE)
    if match is None:
        raise ValueError(f"docs: README.md has no section {title!r}")
    level = len(match.group(1))
    rest = text[match.end() :]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.MULTILINE)
    body = rest[: end.start()] if end else rest
    # README links are relative to the repository root; the site is built from docs/.
    body = body.replace("](docs/", "](")
    body = re.sub(r"^(#{3,6}) ", lambda m: "#" * (len(m.group(1)) - 1) + " ", body, flags=re.M)
    return body.strip() + "\n"


# --- errors ----------------------------------------------------------------------------


def errors_page() -> str:
    from openretina_data import errors

    classes = [
        value
        for value in vars(errors).values()
        if inspect.isclass(value)
        and issubclass(value, errors.OpenRetinaDataError)
        and value.__module__ == errors.__name__
        and not value.__name__.startswith("_")
    ]
    raised = hints_raised()
    lines: list[str] = []
    for cls in sorted(classes, key=lambda c: (len(c.__mro__), c.__name__)):
        ours = [b.__name__ for b in cls.__mro__[1:] if b.__module__ == errors.__name__]
        builtins = [b.__name__ for b in cls.__mro__[1:] if b.__module__ == "builtins"]
        builtins = [b for b in builtins if b not in {"object", "BaseException", "Exception"}]
        lines.append(f"## `{cls.__name__}`\n")
        doc = inspect.getdoc(cls) or ""
        if doc and cls is not errors.OpenRetinaDataError:
            lines.append(doc.split("\n\n")[0].replace("\n", " ") + "\n")
        catch = ", ".join(f"`{name}`" for name in [*ours[:1], *builtins])
        if catch:
            lines.append(f"Catchable as {catch}.\n")
        if cls.default_hint:
            lines.append(f"**Hint:** {cls.default_hint}\n")
        hints = raised.get(cls.__name__, [])
        if hints:
            lines.append("What the message tells you to do, where it is raised:\n")
            lines += [f"- {hint}" for hint in hints]
            lines.append("")
    return "\n".join(lines)


def hints_raised() -> dict[str, list[str]]:
    """``{error class: [hint, ...]}`` for every ``raise Error(..., hint="...")`` in the package
    whose hint is a plain string (f-strings keep their literal parts)."""
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "testing" in path.relative_to(PACKAGE).parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            name = _called_name(node.exc.func)
            for keyword in node.exc.keywords:
                hint = _text(keyword.value) if keyword.arg == "hint" else None
                if hint and hint not in found.setdefault(name, []):
                    found[name].append(hint)
    return {name: sorted(hints) for name, hints in found.items()}


def _called_name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _text(node: ast.expr) -> str | None:
    """A string expression's text; the values of f-string fields shown as ``…``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) else "…" for part in node.values
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left), _text(node.right)
        return None if left is None or right is None else left + right
    return None


# --- the recipe ------------------------------------------------------------------------


def schema_page() -> str:
    schema = json.loads((PACKAGE / "resources" / "recipe.schema.json").read_text())
    out = [_table("The recipe (top level)", schema)]
    for name, definition in schema.get("$defs", {}).items():
        out.append(_table(f"`{name}`", definition))
    return "\n".join(out)


def _table(title: str, schema: dict[str, Any]) -> str:
    required = set(schema.get("required", []))
    rows = [
        f"### {title}\n",
        (schema.get("description") or "").strip() + "\n",
        "| field | type | default | what it is |",
        "|---|---|---|---|",
    ]
    for field, spec in schema.get("properties", {}).items():
        name = f"`{field}`" + (" (required)" if field in required else "")
        default = f"`{json.dumps(spec['default'])}`" if "default" in spec else ""
        description = (spec.get("description") or "").replace("|", "\\|").replace("\n", " ")
        rows.append(f"| {name} | {_type(spec)} | {default} | {description} |")
    return "\n".join(rows) + "\n"


def _type(spec: dict[str, Any]) -> str:
    if "$ref" in spec:
        name = spec["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    if "const" in spec:
        return f"`{json.dumps(spec['const'])}`"
    if "enum" in spec:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in spec["enum"])
    for key in ("anyOf", "oneOf"):
        if key in spec:
            return " or ".join(_type(option) for option in spec[key])
    kind = spec.get("type", "any")
    if kind == "array":
        return f"list of {_type(spec.get('items', {}))}"
    if (
        kind == "object"
        and "additionalProperties" in spec
        and isinstance(spec["additionalProperties"], dict)
    ):
        return f"map to {_type(spec['additionalProperties'])}"
    return kind if isinstance(kind, str) else " or ".join(kind)


def example_recipe() -> str:
    text = (PACKAGE / "resources" / "example-recipe.yaml").read_text(encoding="utf-8")
    return f"```yaml\n{text.rstrip()}\n```\n"
