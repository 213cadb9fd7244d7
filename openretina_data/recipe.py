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

Paths are relative to the recipe file's folder (``Recipe.base_dir``). A session whose
name contains ``{session}`` is a template: :func:`expand_sessions` repeats it for every
match of ``session_pattern`` (e.g. ``raw/{session}``), so one recipe converts next
week's sessions as well. A stimulus with ``shared: false`` is session-specific; its
path contains ``{session}`` and it is written into each session file.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from openretina_data._recipe_parse import (
    ErrorContext,
    Lines,
    build,
    parse_json,
    parse_yaml,
    serialised_fields,
)
from openretina_data.errors import RecipeError

RECIPE_VERSION = 1
VERSION_KEY = "openretina_data_recipe"
MAX_RECIPE_BYTES = 1_000_000  # a recipe is a page of text; anything bigger is refused

Split = Literal["train", "test"]
ResponseKind = Literal["binned", "spike_times", "traces"]
FrameTimesKind = Literal["rate", "timestamps", "trigger"]
TimeUnit = Literal["s", "ms", "samples"]

#: Units allowed for each response kind (spike times state their clock unit).
RESPONSE_UNITS: dict[str, tuple[str, ...]] = {
    "binned": ("spikes/bin", "Hz", "dF/F", "a.u."),
    "spike_times": ("s", "ms", "samples"),
    "traces": ("dF/F", "a.u.", "Hz", "mV"),
}
AXIS_LETTERS = frozenset("cthw")
SESSION_TOKEN = "{session}"


def _doc(text: str, **extra: Any) -> dict[str, Any]:
    return {"doc": text, **extra}


@dataclass
class StimulusSpec:
    """One stimulus movie, written to ``stimuli/<name>.npy`` (or into session files)."""

    name: str = field(
        metadata=_doc("Stimulus name; becomes stimuli/<name>.npy and responses_<name>.")
    )
    path: str = field(metadata=_doc("Movie file, relative to the recipe; may contain {session}."))
    key: str | None = field(
        default=None, metadata=_doc("Dataset / variable inside the file (HDF5, MAT, NPZ, NWB).")
    )
    format: str | None = field(
        default=None, metadata=_doc("Source reader name (npy, hdf5, mat, tiff, …); null guesses.")
    )
    axes: str = field(
        default="thw",
        metadata=_doc(
            "Axis order of the stored array, letters from c,t,h,w (e.g. thw, cthw, twh)."
        ),
    )
    split: Split = field(default="train", metadata=_doc("train or test."))
    shared: bool = field(
        default=True,
        metadata=_doc(
            "true: one movie for all sessions; false: a per-session movie ({session} path)."
        ),
    )


@dataclass
class FrameTimes:
    """When each stimulus frame was shown, in the response recording's clock."""

    kind: FrameTimesKind = field(
        default="rate",
        metadata=_doc(
            "rate (frames at frame_rate_hz from start_s), timestamps (an array), or trigger (a TTL channel)."
        ),
    )
    path: str | None = field(
        default=None, metadata=_doc("File holding timestamps or the trigger channel.")
    )
    key: str | None = field(default=None, metadata=_doc("Dataset / variable inside that file."))
    unit: TimeUnit = field(default="s", metadata=_doc("Unit of timestamps: s, ms or samples."))
    sampling_rate_hz: float | None = field(
        default=None,
        metadata=_doc("Sampling rate of the trigger channel, or of timestamps in samples."),
    )
    threshold: float | None = field(
        default=None,
        metadata=_doc("Trigger threshold; null = halfway between the channel's min and max."),
    )
    edge: Literal["rising", "falling"] = field(
        default="rising", metadata=_doc("Trigger edge that marks a frame.")
    )
    start_s: float = field(
        default=0.0, metadata=_doc("kind=rate: time of the first frame, in seconds.")
    )
    fill_dropped: bool = field(
        default=True, metadata=_doc("Interpolate frames whose trigger is missing (reported).")
    )
    drop_duplicates: bool = field(
        default=False,
        metadata=_doc("Drop triggers that come much sooner than one frame (reported)."),
    )
    debounce_s: float = field(
        default=0.0, metadata=_doc("Ignore trigger edges closer than this, in seconds.")
    )


@dataclass
class Epoch:
    """A stretch of a recording during which one stimulus was shown ``repeats`` times."""

    stimulus: str = field(metadata=_doc("Name of a stimulus in `stimuli`."))
    repeats: int = field(default=1, metadata=_doc("Back-to-back presentations (test repeats)."))
    skip_frames: int = field(
        default=0, metadata=_doc("Frames (triggers / bins) to skip before this epoch starts.")
    )


@dataclass
class ResponseSource:
    """One response recording of a session, cut into epochs of stimuli."""

    path: str = field(
        metadata=_doc(
            "Response file or folder (Phy/Kilosort folder, NWB file with Units), relative to the recipe."
        )
    )
    kind: ResponseKind = field(
        metadata=_doc("binned (per frame), spike_times, or traces (calcium / voltage).")
    )
    unit: str = field(
        metadata=_doc(
            "binned: spikes/bin, Hz, dF/F, a.u.; spike_times: s, ms, samples; traces: dF/F, a.u., Hz, mV."
        )
    )
    epochs: list[Epoch] = field(metadata=_doc("Stimuli shown during this recording, in order."))
    key: str | None = field(default=None, metadata=_doc("Dataset / variable inside the file."))
    format: str | None = field(
        default=None, metadata=_doc("Source reader name (phy, npy, hdf5, …); null guesses.")
    )
    axes: str = field(
        default="nt", metadata=_doc("binned/traces array axis order: nt (neurons, time) or tn.")
    )
    sampling_rate_hz: float | None = field(
        default=None,
        metadata=_doc(
            "Sample rate of traces, or of spike times given in samples "
            "(a Kilosort folder's params.py gives it when empty)."
        ),
    )
    unit_filter: list[str] = field(
        default_factory=list,
        metadata=_doc(
            "Keep only units with these labels: Kilosort/Phy group or KSLabel (e.g. [good]), "
            "suite2p iscell as cell / not_cell (e.g. [cell]); empty keeps all."
        ),
    )
    frame_times: FrameTimes = field(
        default_factory=FrameTimes, metadata=_doc("How frame times are found (ignored for binned).")
    )


@dataclass
class InfoSource:
    """One per-neuron metadata column for the session file's ``session_info`` group."""

    name: str = field(metadata=_doc("Key under session_info/ (e.g. cell_types)."))
    path: str = field(
        metadata=_doc("File holding it (npy, TSV such as Phy cluster_info.tsv, HDF5).")
    )
    key: str | None = field(default=None, metadata=_doc("Column or dataset inside the file."))
    format: str | None = field(default=None, metadata=_doc("Source reader name; null guesses."))


@dataclass
class SessionSpec:
    """One recording session: becomes ``<name>.hdf5``."""

    name: str = field(metadata=_doc("Session name (file stem); may be the template {session}."))
    responses: list[ResponseSource] = field(
        metadata=_doc("Response recordings covering the stimuli.")
    )
    session_info: list[InfoSource] = field(
        default_factory=list, metadata=_doc("Per-neuron metadata.")
    )


@dataclass
class Normalisation:
    """Stimulus normalisation statistics stored in the card (norm_mean / norm_std)."""

    mode: Literal["compute", "given", "none"] = field(
        default="compute",
        metadata=_doc(
            "compute (streaming pass over training stimuli), given (mean/std below), none."
        ),
    )
    mean: float | None = field(default=None, metadata=_doc("mode=given: norm_mean."))
    std: float | None = field(default=None, metadata=_doc("mode=given: norm_std (> 0)."))


@dataclass
class Binning:
    """How spike times and traces become one value per stimulus frame."""

    trace_method: Literal["linear", "area"] = field(
        default="area",
        metadata=_doc("Traces onto frames: linear (at frame centres) or area (mean over frame)."),
    )
    spike_unit: Literal["spikes/bin", "Hz"] = field(
        default="spikes/bin", metadata=_doc("Spike counts per frame, or rate in Hz.")
    )


@dataclass
class Repeats:
    """What to do with repeated presentations of a test stimulus."""

    store_trials: bool = field(
        default=True,
        metadata=_doc("Write test_by_trial_<stim> (trials, neurons, time) besides the mean."),
    )


@dataclass
class Recipe:
    """A whole conversion: stimuli × sessions → one native dataset folder."""

    output: str = field(metadata=_doc("Dataset folder to create, relative to the recipe."))
    frame_rate_hz: float = field(metadata=_doc("Stimulus frame rate in Hz."))
    stimuli: list[StimulusSpec] = field(metadata=_doc("Stimulus movies."))
    sessions: list[SessionSpec] = field(
        metadata=_doc("Sessions (templates with {session} allowed).")
    )
    session_pattern: str | None = field(
        default=None,
        metadata=_doc(
            "Folder pattern with {session} (e.g. raw/{session}) that template sessions expand over."
        ),
    )
    dtype: Literal["float32", "uint8"] = field(
        default="float32", metadata=_doc("Stimulus dtype written.")
    )
    lag_frames: int = field(
        default=0,
        metadata=_doc(
            "Responses lag the stimulus by this many frames: drop that many from the response start and stimulus end."
        ),
    )
    normalisation: Normalisation = field(
        default_factory=Normalisation, metadata=_doc("norm_mean/norm_std.")
    )
    binning: Binning = field(
        default_factory=Binning, metadata=_doc("Binning / resampling choices.")
    )
    repeats: Repeats = field(default_factory=Repeats, metadata=_doc("Test repeats handling."))
    description: str = field(default="", metadata=_doc("Free text for the dataset card."))
    base_dir: Path = field(
        default_factory=Path, compare=False, repr=False, metadata=_doc("", serialise=False)
    )

    def resolve(self, path: str) -> Path:
        """A recipe path made absolute against the recipe's folder."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else (self.base_dir / candidate)

    def response_unit(self, source: ResponseSource | None = None) -> str:
        """Unit of the stored responses of ``source`` (default: the first one; ``a.u.`` without)."""
        if source is None:
            source = next((r for s in self.sessions for r in s.responses), None)
            if source is None:
                return "a.u."
        return self.binning.spike_unit if source.kind == "spike_times" else source.unit

    def stimulus(self, name: str) -> StimulusSpec:
        """The stimulus called ``name``."""
        for spec in self.stimuli:
            if spec.name == name:
                return spec
        raise RecipeError(
            f"no stimulus named {name!r}",
            key="stimuli",
            hint="Add it to `stimuli` or fix the name.",
        )


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
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        from openretina_data.errors import SourceNotFoundError

        raise SourceNotFoundError(f"recipe not found: {path}", path=path) from error
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
            expanded.append(fill_session(template, name))
    return expanded


def matching_sessions(recipe: Recipe) -> list[str]:
    """Session names found by globbing ``session_pattern``."""
    pattern = recipe.session_pattern or ""
    folders_only = pattern.endswith("/")
    pattern = pattern.rstrip("/")
    prefix, _, suffix = pattern.partition(SESSION_TOKEN)
    regex = re.compile(re.escape(prefix) + r"(?P<session>[^/]+)" + re.escape(suffix) + "$")
    names = set()
    for match in recipe.base_dir.glob(pattern.replace(SESSION_TOKEN, "*")):
        if folders_only and not match.is_dir():
            continue
        found = regex.search(match.relative_to(recipe.base_dir).as_posix())
        if found:
            names.add(found.group("session"))
    return sorted(names)


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
