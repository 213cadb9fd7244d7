"""Matching and naming, Qt-free: which session a file belongs to, which stimuli it saw.

Sessions are named from folders and file names (``rec/s0/phy`` → ``s0``); stimuli
are matched to sessions by the same names; a recipe's ``{session}`` templates are
expanded for display. Every check returns a plain sentence saying what to fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from openretina_data.recipe import (
    Epoch,
    Recipe,
    SessionSpec,
    StimulusSpec,
    fill_session,
    legal_name,
    matching_sessions,
)


def valid_name(name: str) -> str:
    """Return '' when ``name`` is a usable session/stimulus name, else why not (plain words)."""
    if not name:
        return "is empty"
    if name in {"train", "validation", "test"}:
        return f"'{name}' is reserved for a split; choose another name"
    if not legal_name(name):
        return (
            f"'{name}' must start with a letter or digit and use only letters, digits, '_' or '-'"
        )
    return ""


def axes_problem(axes: str, shape: Sequence[int]) -> str:
    """Return '' when ``axes`` describes an array of ``shape`` as a movie, else why not."""
    if not axes:
        return "choose the axis order"
    if len(axes) != len(shape):
        return f"axis order '{axes}' has {len(axes)} letters but the array has {len(shape)} axes {tuple(shape)}"
    if sorted(axes) != sorted(set(axes)) or not set(axes) <= set("cthw"):
        return f"axis order '{axes}' must use each of c, t, h, w at most once"
    if not {"t", "h", "w"} <= set(axes):
        return f"axis order '{axes}' needs t (time), h (height) and w (width)"
    return ""


_SORTER_FOLDERS = {
    "phy",
    "kilosort",
    "kilosort2",
    "kilosort3",
    "kilosort4",
    "sorted",
    "suite2p",
    "plane0",
}
_RESPONSE_WORDS = ("responses", "response", "spikes", "spike_times", "traces", "roi", "units")


def guess_session_name(path: str) -> str:
    """A session name from where a response file or folder sits.

    ``rec/s0/phy`` → ``s0``; ``rec/s1_responses.h5`` → ``s1``; ``rec/s2/suite2p/plane0`` → ``s2``.
    """
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    while len(parts) > 1 and parts[-1].lower() in _SORTER_FOLDERS:
        parts.pop()
    stem = parts[-1] if parts else path
    for suffix in (".hdf5", ".h5", ".npz", ".npy", ".mat", ".nwb", ".csv", ".tsv"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    lowered = stem.lower()
    for word in _RESPONSE_WORDS:
        for joiner in ("_", "-", "."):
            if lowered.endswith(joiner + word):
                return stem[: -len(word) - 1]
            if lowered.startswith(word + joiner):
                return stem[len(word) + 1 :]
    if lowered in _RESPONSE_WORDS and len(parts) > 1:
        return parts[-2]
    return stem


def match_epochs(response_path: str, session: str, stimuli: Sequence[StimulusSpec]) -> list[Epoch]:
    """The stimuli a session saw, guessed from names and folders.

    A stimulus whose path names the session (a folder, a file-name part, or the
    ``{session}`` template) is that session's own; shared stimuli go to every session.
    Train stimuli come first, then test stimuli (the usual order of an experiment).
    """
    chosen = [s for s in stimuli if s.shared or "{session}" in s.path or _mentions(s.path, session)]
    chosen.sort(key=lambda s: s.split != "train")
    return [Epoch(stimulus=s.name) for s in chosen]


def named_in_file(response_path: str, epochs: list[Epoch]) -> list[Epoch]:
    """The epochs whose stimulus the response file's name mentions (all if it names none).

    For a session saved in several files: ``s0_test.npy`` holds the ``test`` epochs.
    """
    named = [e for e in epochs if _mentions(response_path, e.stimulus)]
    return named or epochs


def _mentions(path: str, name: str) -> bool:
    """True when ``name`` is a folder of ``path`` or a ``_``/``-`` part of its file name."""
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    if name in parts[:-1]:
        return True
    stem = parts[-1].split(".")[0] if parts else ""
    return stem == name or name in stem.replace("-", "_").split("_")


@dataclass
class SessionView:
    """One concrete session as the pages show it.

    ``spec`` is the recipe's own entry (edits go there); for a ``{session}`` template it
    is shared by every session the pattern finds, and ``concrete`` has the name filled in.
    """

    name: str
    spec: SessionSpec
    concrete: SessionSpec

    @property
    def templated(self) -> bool:
        return "{session}" in self.spec.name


def session_views(recipe: Recipe) -> list[SessionView]:
    """Every session of ``recipe``, templates expanded over ``session_pattern`` matches."""
    views = []
    for spec in recipe.sessions:
        if "{session}" not in spec.name:
            views.append(SessionView(spec.name, spec, spec))
            continue
        names = matching_sessions(recipe) if recipe.session_pattern else []
        views.extend(SessionView(name, spec, fill_session(spec, name)) for name in names)
        if not names:
            views.append(SessionView(spec.name, spec, spec))
    return views


def session_problems(recipe: Recipe) -> list[tuple[str, str]]:
    """(session name, what is wrong and how to fix it) for every session row with a problem."""
    if not recipe.sessions:
        return [("-", "no sessions yet: add responses on the Responses page.")]
    names = [s.name for s in recipe.sessions]
    stimulus_names = [s.name for s in recipe.stimuli]
    problems = []
    for session in recipe.sessions:
        why = valid_name(session.name) if "{session}" not in session.name else ""
        if "{session}" in session.name and not (
            recipe.session_pattern and matching_sessions(recipe)
        ):
            problems.append(
                (session.name, f"no folder matches the session pattern {recipe.session_pattern!r}.")
            )
        if why:
            problems.append((session.name, f"the name {why}."))
        elif names.count(session.name) > 1:
            problems.append((session.name, "two sessions have this name; rename one."))
        for source in session.responses:
            shown = [e.stimulus for e in source.epochs]
            unknown = [s for s in shown if s not in stimulus_names]
            if not shown:
                problems.append((session.name, "no stimulus: type the stimuli it saw, in order."))
            elif unknown:
                problems.append(
                    (
                        session.name,
                        f"unknown stimulus {', '.join(unknown)}; use {', '.join(stimulus_names)}.",
                    )
                )
    return problems
