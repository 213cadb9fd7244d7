"""Qt-free state of the wizard and the viewer: plain dataclasses that tests can drive.

The wizard edits one :class:`WizardState`; each page owns one part of it and asks
:meth:`WizardState.page_problems` whether it is complete. Nothing here touches files:
arrays arrive already opened (lazily) by ``openretina_data``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from app.matching import (
    _mentions,
    axes_problem,
    guess_session_name,
    match_epochs,
    named_in_file,
    session_problems,
    session_views,
    valid_name,
)
from openretina_data.recipe import (
    RESPONSE_UNITS,
    FrameTimes,
    Loader,
    Recipe,
    ResponseSource,
    SessionSpec,
    StimulusSpec,
)
from openretina_data.sources.base import Role, SourceInfo, Variable

PAGES = (
    "start",
    "stimuli",
    "responses",
    "sessions",
    "timing",
    "normalisation",
    "preview",
    "write",
    "use",
)
"""Page ids in wizard order (also the screenshot file names)."""


class LazyArray(Protocol):
    """Anything with a shape that can be sliced without loading the rest (memmap, h5py)."""

    @property
    def shape(self) -> tuple[int, ...]: ...

    def __getitem__(self, index: Any) -> Any: ...


@dataclass
class PreviewData:
    """What the linked preview plots show; arrays are lazy and read one window at a time.

    Parameters
    ----------
    movie
        (channels, time, height, width) stimulus, any dtype.
    responses
        (neurons, time) responses on the same frames, or None.
    frame_rate_hz
        Frames per second (for the time axis in seconds).
    trials
        (trials, neurons, time) repeats of a test stimulus, or None.
    title
        What is shown, e.g. ``"session s0 · stimulus natural (train)"``.
    unit
        Response unit, for the axis label.
    """

    movie: LazyArray
    responses: LazyArray | None
    frame_rate_hz: float
    trials: LazyArray | None = None
    title: str = ""
    unit: str = "a.u."

    @property
    def n_frames(self) -> int:
        """Number of stimulus frames."""
        return int(self.movie.shape[1])

    @property
    def n_neurons(self) -> int:
        """Number of neurons (0 without responses)."""
        return 0 if self.responses is None else int(self.responses.shape[0])


def new_recipe(base_dir: str | Path = ".") -> Recipe:
    """An empty recipe for a new conversion, relative to ``base_dir``."""
    recipe = Recipe(output="dataset", frame_rate_hz=30.0, stimuli=[], sessions=[])
    recipe.base_dir = Path(base_dir).resolve()
    return recipe


@dataclass
class Probed:
    """What ``sources.probe`` said about one path (or why it could not)."""

    path: str
    info: SourceInfo | None = None
    error: str = ""

    def variable(self, key: str | None) -> Variable | None:
        """The probed variable ``key`` (the only one when ``key`` is None), or None."""
        if self.info is None:
            return None
        variables = self.info.variables
        if key is None:
            return variables[0] if len(variables) == 1 else None
        return next((v for v in variables if v.key == key), None)


class _LoaderSetting:
    """A :class:`WizardState` attribute that is the recipe's loader setting of the same name."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, state: WizardState | None, owner: type | None = None) -> int:
        if state is None:  # looked up on the class: the default
            return int(getattr(Loader(), self.name))
        return int(getattr(state.recipe.loader, self.name))

    def __set__(self, state: WizardState, value: int) -> None:
        setattr(state.recipe.loader, self.name, value)


@dataclass
class WizardState:
    """Everything the wizard edits: one Recipe, plus what probing found and what was confirmed."""

    recipe: Recipe = field(default_factory=new_recipe)
    mode: str = "new"  # "new" | "recipe" | "dataset" | "preset" (a published dataset)
    recipe_path: str = ""
    dataset_path: str = ""
    probes: dict[str, Probed] = field(default_factory=dict)
    confirmed: set[str] = field(default_factory=set)
    triggers: list[str] = field(default_factory=list)
    written_dir: str = ""
    validation_edited: bool = False
    #: Response sources whose frame times are a guess nobody looked at on Timing yet.
    guessed_timing: set[str] = field(default_factory=set)

    # The dataloader settings are the recipe's (``recipe.loader``), which the card keeps.
    clip_length = _LoaderSetting()
    num_val_clips = _LoaderSetting()
    train_chunk_size = _LoaderSetting()
    batch_size = _LoaderSetting()

    def stimulus_lengths(self) -> dict[str, int]:
        """Frames of each stimulus whose probed shape and axis order agree."""
        lengths = {}
        for spec in self.recipe.stimuli:
            probed = self.probes.get(spec.path)
            variable = probed.variable(spec.key) if probed else None
            if variable is not None and not axes_problem(spec.axes, variable.shape):
                lengths[spec.name] = int(variable.shape[spec.axes.index("t")])
        return lengths

    def probe_targets(self) -> dict[str, Path]:
        """Recipe paths not probed yet → the file to probe (templates: the first session's)."""
        recipe = self.recipe
        first = next((v.name for v in session_views(recipe) if v.templated), None)
        paths = [s.path for s in recipe.stimuli]
        paths += [r.path for s in recipe.sessions for r in s.responses]
        targets = {}
        for path in paths:
            if path in self.probes:
                continue
            concrete = path.replace("{session}", first) if first and "{session}" in path else path
            if "{session}" not in concrete:
                targets[path] = recipe.resolve(concrete)
        return targets

    # --- edits shared by the pages and the tests ----------------------------------

    def add_stimulus(self, path: str, probed: Probed) -> StimulusSpec:
        """Add a stimulus file, guessing its name, key, axis order and train/test split."""
        self.probes[path] = probed
        stem = Path(path).name.split(".")[0]
        names = {s.name for s in self.recipe.stimuli}
        name, n = stem, 2
        while name in names:
            name, n = f"{stem}_{n}", n + 1
        movies = probed.info.by_role("stimulus") if probed.info else []
        key = movies[0].key if movies else None
        variable = probed.variable(key)
        spec = StimulusSpec(
            name=name,
            path=path,
            key=key if probed.info and len(probed.info.variables) > 1 else None,
            axes=guess_axes(variable.shape) if variable else "thw",
            split="test" if "test" in stem.lower() else "train",
        )
        self.recipe.stimuli.append(spec)
        return spec

    def add_responses(self, path: str, probed: Probed) -> SessionSpec | None:
        """Add a response source as a new session, auto-matched to stimuli and a trigger.

        A file that holds only a trigger channel is not a session: it becomes the frame
        times of the session whose name it mentions (returns None).
        """
        self.probes[path] = probed
        info = probed.info
        kinds: tuple[tuple[Role, str], ...] = (
            ("spike_times", "spike_times"),
            ("binned_responses", "binned"),
            ("traces", "traces"),
        )
        if (
            info is not None
            and info.by_role("triggers")
            and not any(info.by_role(r) for r, _ in kinds)
        ):
            self.add_trigger(
                path, info.by_role("triggers")[0].key if len(info.variables) > 1 else None
            )
            return None
        kind, unit, key = "binned", "spikes/bin", None
        for role, as_kind in kinds:
            found = info.by_role(role) if info is not None else []
            if found:
                kind, key = as_kind, found[0].key
                unit = found[0].unit or RESPONSE_UNITS[as_kind][0]
                if unit not in RESPONSE_UNITS[as_kind]:
                    unit = RESPONSE_UNITS[as_kind][0]
                break
        folder = info is not None and info.format in {"kilosort", "suite2p"}
        rate = info.attrs.get("sample_rate") if info is not None else None
        labels = info.attrs.get("label_counts", {}) if info is not None else {}
        name = guess_session_name(path)
        source = ResponseSource(
            path=path,
            kind=kind,  # type: ignore[arg-type]
            unit=unit,
            epochs=match_epochs(path, name, self.recipe.stimuli),
            key=key if info is not None and len(info.variables) > 1 and not folder else None,
            sampling_rate_hz=float(rate) if isinstance(rate, int | float) and rate > 0 else None,
            unit_filter=["good"] if labels.get("good") else [],
            frame_times=FrameTimes(),
        )
        session = SessionSpec(name=name, responses=[source])
        self.recipe.sessions.append(session)
        if folder and info is not None and info.format == "kilosort":
            source.frame_times = guess_trigger(path, source.sampling_rate_hz)
        for trigger in self.triggers:
            if _mentions(trigger, name):
                source.frame_times = FrameTimes(kind="trigger", path=trigger)
        if kind != "binned":
            self.guessed_timing.add(path)
        return session

    def move_source(self, source: ResponseSource, session_name: str | None) -> SessionSpec:
        """Move ``source`` into the session ``session_name``, or into a new session when None.

        A session may read several sources (e.g. one file per stimulus epoch, recorded
        one after the other); a session left without sources is removed. Returns the
        session that now holds ``source``.
        """
        sessions = self.recipe.sessions
        old = next(s for s in sessions if any(r is source for r in s.responses))
        target = next((s for s in sessions if s.name == session_name), None)
        if target is old or (target is None and len(old.responses) == 1):
            return old  # already there, or already alone in its session
        if target is None:
            taken = {s.name for s in sessions}
            name = session_name or guess_session_name(source.path)
            base, number = name, 2
            while name in taken:
                name, number = f"{base}_{number}", number + 1
            target = SessionSpec(name=name, responses=[])
            sessions.insert(sessions.index(old) + 1, target)
        old.responses = [r for r in old.responses if r is not source]
        target.responses.append(source)
        if not old.responses:
            sessions.remove(old)
        if len(target.responses) > 1:  # one file per stimulus, if the file names say so
            for part in target.responses:
                part.epochs = named_in_file(part.path, part.epochs)
        return target

    def add_trigger(self, path: str, key: str | None = None) -> None:
        """A trigger channel: the frame times of every session whose name it mentions."""
        if path not in self.triggers:
            self.triggers.append(path)
        for session in self.recipe.sessions:
            if _mentions(path, session.name):
                for source in session.responses:
                    source.frame_times = FrameTimes(kind="trigger", path=path, key=key)

    def rematch(self) -> None:
        """Give every response source without epochs the stimuli its names suggest."""
        for session in self.recipe.sessions:
            for source in session.responses:
                if not source.epochs:
                    source.epochs = match_epochs(source.path, session.name, self.recipe.stimuli)

    # --- what blocks Next ---------------------------------------------------------

    def page_problems(self, page: str) -> list[str]:
        """Why the page ``page`` (one of :data:`PAGES`) is not complete yet; [] when it is."""
        check = getattr(self, f"_problems_{page}", None)
        return list(check()) if check is not None else []

    def _problems_start(self) -> list[str]:
        if self.mode == "recipe" and not self.recipe_path:
            return ["Choose a recipe file to open, or start a new conversion."]
        if self.mode == "dataset" and not self.dataset_path:
            return ["Choose a dataset folder to view, or start a new conversion."]
        return []

    def _problems_stimuli(self) -> list[str]:
        stimuli = self.recipe.stimuli
        if not stimuli:
            return ["Add at least one stimulus movie (Add files…, or drop files here)."]
        problems = []
        names = [s.name for s in stimuli]
        for spec in stimuli:
            label = f"Stimulus '{spec.name}'"
            probed = self.probes.get(spec.path)
            if probed is not None and probed.error:
                problems.append(f"{label}: {probed.error}")
                continue
            why = valid_name(spec.name)
            if why:
                problems.append(f"{label}: the name {why}.")
            elif names.count(spec.name) > 1:
                problems.append(f"{label}: two stimuli have this name; rename one.")
            variable = probed.variable(spec.key) if probed is not None else None
            if probed is not None and probed.info is not None and variable is None:
                problems.append(f"{label}: pick which array in the file is the movie.")
            elif variable is not None and axes_problem(spec.axes, variable.shape):
                problems.append(f"{label}: {axes_problem(spec.axes, variable.shape)}.")
        if all(s.split == "test" for s in stimuli):
            problems.append(
                "Every stimulus is marked test: openretina needs one training stimulus."
            )
        return problems

    def _problems_responses(self) -> list[str]:
        sources = [(s, r) for s in self.recipe.sessions for r in s.responses]
        if not sources:
            return ["Add the responses: a spike-sorter folder, a trace file or binned arrays."]
        problems = []
        for _session, source in sources:
            parts = Path(source.path).parts
            label = f"Responses '{'/'.join(parts[-2:])}'"
            probed = self.probes.get(source.path)
            if probed is not None and probed.error:
                problems.append(f"{label}: {probed.error}")
            elif source.unit not in RESPONSE_UNITS[source.kind]:
                allowed = ", ".join(RESPONSE_UNITS[source.kind])
                problems.append(
                    f"{label}: unit '{source.unit}' does not fit {source.kind}; use {allowed}."
                )
            elif source.path not in self.confirmed:
                problems.append(f"{label}: confirm that these are {source.kind} in {source.unit}.")
            elif needs_rate(source) and not source.sampling_rate_hz:
                problems.append(f"{label}: give the sampling rate in Hz.")
        units = self.units()
        if len(units) > 1:
            listed = "; ".join(
                f"{unit}: {', '.join(sorted(names))}" for unit, names in sorted(units.items())
            )
            problems.append(
                f"The responses are in different units ({listed}), and one dataset holds one "
                "unit. Press 'Convert these as a second dataset…' to move the sessions of one "
                "unit into a recipe of their own."
            )
        return problems

    def units(self) -> dict[str, list[str]]:
        """Stored response unit → the sessions whose responses are in it (table order)."""
        found: dict[str, list[str]] = {}
        for session in self.recipe.sessions:
            for source in session.responses:
                names = found.setdefault(self.recipe.response_unit(source), [])
                if session.name not in names:
                    names.append(session.name)
        return found

    def split_off(self, unit: str) -> Recipe:
        """Take the sessions whose responses are in ``unit`` out of the recipe, into a new
        recipe with the same stimuli, timing and loader settings (a second dataset)."""
        import copy

        moved = [
            s
            for s in self.recipe.sessions
            if any(self.recipe.response_unit(r) == unit for r in s.responses)
        ]
        other = copy.deepcopy(self.recipe)
        other.sessions = copy.deepcopy(moved)
        other.output = f"{self.recipe.output}_{unit.replace('/', '_per_')}"
        self.recipe.sessions = [s for s in self.recipe.sessions if s not in moved]
        return other

    def _problems_sessions(self) -> list[str]:
        return [f"Session '{name}': {hint}" for name, hint in session_problems(self.recipe)]

    def _problems_timing(self) -> list[str]:
        problems = []
        if not self.recipe.frame_rate_hz > 0:
            problems.append("The frame rate must be a positive number of frames per second.")
        for session in self.recipe.sessions:
            for source in session.responses:
                times = source.frame_times
                if source.kind == "binned" or times.kind == "rate":
                    continue
                if not times.path:
                    what = "trigger channel" if times.kind == "trigger" else "timestamp file"
                    problems.append(f"Session '{session.name}': choose the {what}.")
                elif times.kind == "trigger" and not times.sampling_rate_hz:
                    problems.append(
                        f"Session '{session.name}': give the trigger channel's sampling rate."
                    )
        return problems

    def train_frames(self) -> int | None:
        """Frames of training stimuli (None until every one was probed)."""
        lengths = self.stimulus_lengths()
        train = [s.name for s in self.recipe.stimuli if s.split == "train"]
        if not train or not all(name in lengths for name in train):
            return None
        return sum(lengths[name] for name in train)

    def fit_validation(self) -> None:
        """Unless the user chose them, shrink the loader settings to fit the training frames.

        openretina cuts the training stimuli into clips of ``clip_length`` and holds
        ``num_val_clips`` of them out (:meth:`openretina_data.recipe.Loader.fitted`).
        """
        frames = self.train_frames()
        if self.validation_edited or frames is None:
            return
        self.recipe.loader = self.recipe.loader.fitted(frames)

    def _problems_normalisation(self) -> list[str]:
        norm = self.recipe.normalisation
        problems = []
        if norm.mode == "given":
            if norm.mean is None or norm.std is None:
                problems.append(
                    "Give both the mean and the standard deviation, or let them be computed."
                )
            elif not norm.std > 0:
                problems.append("The standard deviation must be greater than zero.")
        frames = self.train_frames()
        if frames is not None:
            problems.extend(f"{p[0].upper()}{p[1:]}." for p in self.recipe.loader.problems(frames))
        return problems


TRIGGER_WORDS = ("ttl", "trigger", "sync", "frame")


def guess_trigger(folder: str, sample_rate_hz: float | None) -> FrameTimes:
    """Frame times guessed for a spike-sorter folder: a TTL-looking ``.npy`` inside it
    (sampled at ``params.py``'s rate, the same acquisition) or beside it (rate unknown);
    a fixed frame rate when there is none.
    """
    place = Path(folder)
    for where, rate in ((place, sample_rate_hz), (place.parent, None)):
        try:
            files = sorted(p for p in where.iterdir() if p.suffix.lower() == ".npy")
        except OSError:
            continue
        for candidate in files:
            stem = candidate.stem.lower()
            if any(word in stem for word in TRIGGER_WORDS):
                return FrameTimes(kind="trigger", path=str(candidate), sampling_rate_hz=rate)
    return FrameTimes()


def timing_words(source: ResponseSource, frame_rate_hz: float) -> str:
    """Where a source's frame times come from, as the Sessions table says it."""
    times = source.frame_times
    if source.kind == "binned":
        return "already per frame"
    if times.kind != "rate" and times.path:
        rate = f" at {times.sampling_rate_hz:g} Hz" if times.sampling_rate_hz else ""
        return f"{times.kind}: {Path(times.path).name}{rate}"
    return f"fixed rate, {frame_rate_hz:g} Hz"


def needs_rate(source: ResponseSource) -> bool:
    """True when a response source's numbers mean nothing without a sampling rate."""
    return source.kind == "traces" or (source.kind == "spike_times" and source.unit == "samples")


def guess_axes(shape: Sequence[int]) -> str:
    """A first guess of a movie's axis order: the longest axis is time, a 1-4 axis is colour."""
    if len(shape) == 3:
        return "thw" if shape[0] >= max(shape[1:]) else "hwt"
    if len(shape) == 4:
        return "cthw" if shape[0] <= 4 else "thwc"
    return "thw"
