"""The conversion recipe: what to read, how to align it, where to write it.

A :class:`Recipe` is plain data (typed dataclasses), saved as YAML or JSON with the
header ``openretina_data_recipe: 1`` and loaded back losslessly. The wizard edits a
Recipe, the CLI runs one, and every written dataset carries the Recipe that made it.
Nothing in a recipe is ever executed.

Structure (field names are stable; the wizard binds to them)::

    Recipe
      output, frame_rate_hz, dtype, lag_frames, session_pattern, description
      stimuli:  [StimulusSpec(name, path, key, format, axes, split, shared)]
      sessions: [SessionSpec(name,
                   responses: [ResponseSource(path, key, format, kind, unit, axes,
                                sampling_rate_hz, unit_filter,
                                epochs: [Epoch(stimulus, repeats, skip_frames)],
                                frame_times: FrameTimes(kind, path, key, unit,
                                  sampling_rate_hz, threshold, edge, start_s,
                                  fill_dropped, drop_duplicates, debounce_s))],
                   session_info: [InfoSource(name, path, key, format)])]
      normalisation: Normalisation(mode, mean, std)
      binning: Binning(trace_method, spike_unit)
      repeats: Repeats(store_trials)
      loader: Loader(train_chunk_size, batch_size, clip_length, num_val_clips, seed)

Paths are relative to the recipe file's folder (``Recipe.base_dir``). A session whose
name contains ``{session}`` is a template: :func:`expand_sessions` repeats it for every
match of ``session_pattern`` (e.g. ``raw/{session}``), so one recipe converts next
week's sessions as well. A stimulus with ``shared: false`` is session-specific; its
path contains ``{session}`` and it is written into each session file.

The types are defined in :mod:`openretina_data.recipe_model` and re-exported here;
this module loads, saves and expands them.

Examples
--------
>>> recipe = load_recipe("recipe.yaml")            # doctest: +SKIP
>>> save_recipe(recipe, "copy.json")               # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import unicodedata
from pathlib import Path
from typing import Any, Literal

import yaml

from openretina_data._files import read_bounded, require_regular
from openretina_data._recipe_parse import (
    ErrorContext,
    Lines,
    build,
    parse_json,
    parse_yaml,
    serialised_fields,
)
from openretina_data.errors import RecipeError, SourceNotFoundError, UnreadableSourceError
from openretina_data.recipe_model import (
    AXIS_LETTERS,
    MAX_RECIPE_BYTES,
    RECIPE_VERSION,
    RESPONSE_UNITS,
    SESSION_TOKEN,
    VERSION_KEY,
    Binning,
    Epoch,
    FrameTimes,
    FrameTimesKind,
    InfoSource,
    Loader,
    Normalisation,
    Recipe,
    Repeats,
    ResponseKind,
    ResponseSource,
    SessionSpec,
    Split,
    StimulusSpec,
    TimeUnit,
)

__all__ = [
    "AXIS_LETTERS",
    "Binning",
    "Epoch",
    "FrameTimes",
    "FrameTimesKind",
    "InfoSource",
    "MAX_RECIPE_BYTES",
    "Normalisation",
    "RECIPE_VERSION",
    "RESPONSE_UNITS",
    "Recipe",
    "Loader",
    "Repeats",
    "ResponseKind",
    "ResponseSource",
    "SESSION_TOKEN",
    "SessionSpec",
    "Split",
    "StimulusSpec",
    "TimeUnit",
    "VERSION_KEY",
    "dumps_recipe",
    "expand_sessions",
    "fill_session",
    "from_dict",
    "legal_name",
    "load_recipe",
    "loads_recipe",
    "matching_sessions",
    "recipe_text_and_hash",
    "save_recipe",
    "to_dict",
]


# --- dict conversion ---------------------------------------------------------------


def to_dict(recipe: Recipe) -> dict[str, Any]:
    """Plain JSON-ready dict, version header first; every field is written."""
    return {VERSION_KEY: RECIPE_VERSION, **_dump(recipe)}


def _dump(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _dump(getattr(value, f.name)) for f in serialised_fields(type(value))}
    if isinstance(value, list):
        return [_dump(item) for item in value]
    return value


def from_dict(
    data: Any,
    *,
    base_dir: str | Path = ".",
    lines: Lines | None = None,
    source: str | None = None,
) -> Recipe:
    """Build a :class:`Recipe` from a plain dict, checking version, keys and types.

    Raises
    ------
    RecipeError
        Naming the key path (``sessions[0].responses[1].kind``) and the line when known.
    """
    context = ErrorContext(lines or {}, source)
    if not isinstance(data, dict):
        raise context.error(
            (),
            "a recipe must be a mapping of keys",
            "Start the file with `openretina_data_recipe: 1`.",
        )
    data = dict(data)
    version = data.pop(VERSION_KEY, None)
    if version is None:
        raise context.error(
            (VERSION_KEY,),
            "missing version header",
            f"Add `{VERSION_KEY}: {RECIPE_VERSION}` at the top.",
        )
    if version != RECIPE_VERSION or isinstance(version, bool):
        raise context.error(
            (VERSION_KEY,),
            f"unsupported recipe version {version!r}",
            f"This openretina-data reads version {RECIPE_VERSION}; upgrade the package or re-save the recipe.",
        )
    recipe = build(Recipe, data, (), context)
    recipe.base_dir = Path(base_dir)
    return recipe


# --- files -------------------------------------------------------------------------


def loads_recipe(text: str, *, base_dir: str | Path = ".", source: str | None = None) -> Recipe:
    """Parse recipe text: JSON when it starts with ``{``, YAML otherwise."""
    if len(text.encode("utf-8", errors="replace")) > MAX_RECIPE_BYTES:
        raise RecipeError(
            f"recipe is larger than {MAX_RECIPE_BYTES} bytes",
            path=source,
            hint="A recipe is a short text file; is this the right file?",
        )
    if text.lstrip().startswith("{"):
        data = parse_json(text, source)
        try:  # line numbers for messages only; JSON is (nearly) YAML
            lines = parse_yaml(text, source)[1]
        except RecipeError:
            lines = {}
    else:
        data, lines = parse_yaml(text, source)
    return from_dict(data, base_dir=base_dir, lines=lines, source=source)


def load_recipe(path: str | Path) -> Recipe:
    """Read a recipe from a ``.yaml``/``.yml``/``.json`` file; paths resolve from its folder."""
    path = Path(path)
    try:
        require_regular(path, what="recipe", folders=False, error=RecipeError)
        text = read_bounded(path, MAX_RECIPE_BYTES).decode("utf-8")
    except SourceNotFoundError as error:
        raise SourceNotFoundError(
            f"recipe not found: {path}", path=path, hint="Check the recipe's path."
        ) from error
    except UnreadableSourceError as error:
        raise RecipeError(
            f"recipe is larger than {MAX_RECIPE_BYTES} bytes",
            path=path,
            hint="A recipe is a short text file; is this the right file?",
        ) from error
    except (OSError, UnicodeDecodeError) as error:
        raise RecipeError(
            f"cannot read recipe: {error}", path=path, hint="Save the recipe as UTF-8 text."
        ) from error
    if path.suffix.lower() == ".json":
        parse_json(text, str(path))
    return loads_recipe(text, base_dir=path.resolve().parent, source=str(path))


def dumps_recipe(recipe: Recipe, *, fmt: Literal["yaml", "json"] = "yaml") -> str:
    """Recipe as YAML or JSON text."""
    data = to_dict(recipe)
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    # allow_unicode=False: PyYAML would write some code points (U+0085) that it reads back changed.
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=False, default_flow_style=False)


def recipe_text_and_hash(recipe: Recipe) -> tuple[str, str]:
    """The recipe as stored in a dataset (YAML), and its SHA-256."""
    text = dumps_recipe(recipe, fmt="yaml")
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()


def save_recipe(recipe: Recipe, path: str | Path) -> Path:
    """Write the recipe; JSON if the suffix is ``.json``, YAML otherwise."""
    path = Path(path)
    fmt: Literal["yaml", "json"] = "json" if path.suffix.lower() == ".json" else "yaml"
    path.write_text(dumps_recipe(recipe, fmt=fmt), encoding="utf-8")
    return path


# --- meaning -----------------------------------------------------------------------

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")


def expand_sessions(recipe: Recipe) -> list[SessionSpec]:
    """Sessions with every ``{session}`` template repeated over ``session_pattern`` matches.

    The pattern (relative to the recipe) has ``{session}`` in one path component; each
    existing path that fits gives one session, named by the part matched (a pattern
    ending in ``/`` matches folders only). Sessions are
    returned sorted by name after the explicitly listed ones.
    """
    explicit = [s for s in recipe.sessions if SESSION_TOKEN not in s.name]
    templates = [s for s in recipe.sessions if SESSION_TOKEN in s.name]
    if not templates:
        return explicit
    if not recipe.session_pattern or SESSION_TOKEN not in recipe.session_pattern:
        raise RecipeError(
            "a session name uses {session} but session_pattern has no {session}",
            key="session_pattern",
            hint="Set session_pattern, e.g. raw/{session}, to the folder pattern holding the sessions.",
        )
    names = matching_sessions(recipe)
    expanded: list[SessionSpec] = list(explicit)
    for template in templates:
        for name in names:
            session = fill_session(template, name)
            # One name however the file system spells it (macOS writes NFD): two folders
            # whose names differ only in Unicode form become two sessions of one name,
            # which plan refuses; the paths keep the spelling on disk.
            session.name = unicodedata.normalize("NFC", session.name)
            expanded.append(session)
    return expanded


def matching_sessions(recipe: Recipe) -> list[str]:
    """Session names found by globbing ``session_pattern``.

    Hidden entries (``.DS_Store``, ``.git``) are never sessions. A pattern means folders,
    and matches folders only, when it ends in ``/`` or a session path continues below
    it (``raw/{session}`` with responses in ``raw/{session}/phy``). An absolute pattern
    is globbed from its root.
    """
    pattern = recipe.session_pattern or ""
    folders_only = pattern.endswith("/") or _continues_below(recipe, pattern.rstrip("/"))
    pattern = pattern.rstrip("/")
    prefix, _, suffix = pattern.partition(SESSION_TOKEN)
    regex = re.compile(re.escape(prefix) + r"(?P<session>[^/]+)" + re.escape(suffix) + "$")
    root = recipe.base_dir
    glob = pattern.replace(SESSION_TOKEN, "*")
    if Path(pattern).is_absolute():
        root = Path(Path(pattern).anchor)
        glob = Path(glob).relative_to(root).as_posix()
        relative = prefix[len(root.anchor) :]
        regex = re.compile(
            "^" + re.escape(relative) + r"(?P<session>[^/]+)" + re.escape(suffix) + "$"
        )
    names = set()
    for match in root.glob(glob):
        if folders_only and not match.is_dir():
            continue
        found = regex.search(match.relative_to(root).as_posix())
        if found and not found.group("session").startswith("."):
            names.add(found.group("session"))
    return sorted(names)


def _continues_below(recipe: Recipe, pattern: str) -> bool:
    """True when a template session reads a path below the pattern (``pattern/...``)."""
    below = pattern + "/"
    for session in recipe.sessions:
        if SESSION_TOKEN not in session.name:
            continue
        paths = [source.path for source in session.responses]
        paths += [s.frame_times.path or "" for s in session.responses]
        paths += [info.path for info in session.session_info]
        paths += [spec.path for spec in recipe.stimuli if not spec.shared]
        if any(path.startswith(below) for path in paths):
            return True
    return False


def fill_session(template: Any, name: str) -> Any:
    """A copy of a dataclass tree with ``{session}`` replaced by ``name`` in every string."""
    if dataclasses.is_dataclass(template) and not isinstance(template, type):
        return dataclasses.replace(
            template,
            **{
                f.name: fill_session(getattr(template, f.name), name)
                for f in serialised_fields(type(template))
            },
        )
    if isinstance(template, list):
        return [fill_session(item, name) for item in template]
    if isinstance(template, str):
        return template.replace(SESSION_TOKEN, name)
    return template


def legal_name(name: str) -> bool:
    """True for names usable as file stems and HDF5 keys (letters, digits, _ and -)."""
    return bool(_NAME.match(name))
