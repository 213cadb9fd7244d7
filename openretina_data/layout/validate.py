"""What a writer checks before committing: the structure of everything it wrote.

These checks use the shapes the writer already knows (no second pass over the data);
they refuse to commit a dataset that openretina could not load.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from openretina_data.errors import LayoutError, ShapeError
from openretina_data.layout.names import STIMULI_DIR, STIMULUS_SUFFIX
from openretina_data.layout.reading import read_npy_header

if TYPE_CHECKING:
    from openretina_data.layout.session import SessionWriter
    from openretina_data.layout.writer import DatasetWriter


def _existing_stimulus_shapes(root: Path, skip: set[str]) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    folder = root / STIMULI_DIR
    if not folder.is_dir():
        return shapes
    for path in folder.iterdir():
        if (
            path.suffix == STIMULUS_SUFFIX
            and not path.name.startswith(".")
            and path.stem not in skip
        ):
            try:
                shapes[path.stem] = read_npy_header(path).shape
            except (OSError, ValueError):
                continue  # `check` reports broken files; a writer only needs the good ones
    return shapes


def validate_written(writer: DatasetWriter, root: Path) -> None:
    """Raise the first structural problem of what ``writer`` wrote into ``root``."""
    if not writer.sessions and not writer.append:
        raise LayoutError(
            "the dataset has no sessions",
            path=str(writer.target),
            hint="Write at least one session with responses before committing.",
        )
    for slabs in [
        *writer.stimuli.values(),
        *(s for w in writer.sessions.values() for s in w.all_slabs()),
    ]:
        if not slabs.complete:
            raise LayoutError(
                f"{slabs.label}: frames {slabs.missing()} were never written",
                key=slabs.label,
                hint="Write every time-slab before committing (or the array has zero frames).",
            )
    shared = {name: slabs.shape for name, slabs in writer.stimuli.items()}
    if writer.append:
        shared.update(_existing_stimulus_shapes(root, skip=set(shared)))
    frame_sizes: dict[tuple[int, int, int], str] = {}
    movies = [(f"stimuli/{n}.npy", s) for n, s in shared.items()]
    movies += [(sl.label, sl.shape) for w in writer.sessions.values() for sl in w.stimuli.values()]
    for label, shape in movies:
        frame_sizes.setdefault((shape[0], shape[2], shape[3]), label)
    if len(frame_sizes) > 1:
        described = "; ".join(
            f"{label}: (channels, h, w) = {size}" for size, label in frame_sizes.items()
        )
        raise ShapeError(
            f"stimuli differ in channels or frame size: {described}",
            hint="Resize or crop every stimulus to the same channels, height and width.",
        )
    tests = set(writer.card.test_stimuli)
    known = set(shared) | {n for w in writer.sessions.values() for n in w.stimuli}
    for name in sorted(tests - known):
        raise LayoutError(
            f"test stimulus {name!r} is not among the written stimuli {sorted(known)}",
            key=name,
            hint="Fix the name in the list of test stimuli, or write that stimulus.",
        )
    for session in writer.sessions.values():
        _validate_session(session, shared, tests)


def _validate_session(
    session: SessionWriter, shared: dict[str, tuple[int, ...]], tests: set[str]
) -> None:
    name = session.name
    if not session.responses:
        raise LayoutError(
            "the session has no responses",
            session=name,
            hint="Write responses_<stimulus> for at least one stimulus.",
        )
    if all(stim in tests for stim in session.responses):
        raise LayoutError(
            "every stimulus of this session is a test stimulus; training needs at least one other",
            session=name,
            hint="Mark fewer stimuli as test, or add a training stimulus to the session.",
        )
    neurons = {stim: slabs.shape[0] for stim, slabs in session.responses.items()}
    if len(set(neurons.values())) > 1:
        raise ShapeError(
            f"responses have different numbers of neurons: {neurons}",
            session=name,
            hint="Every stimulus of a session must list the same neurons in the same order.",
        )
    for stim, slabs in session.responses.items():
        movie = session.stimuli[stim].shape if stim in session.stimuli else shared.get(stim)
        if movie is None:
            raise LayoutError(
                f"responses to stimulus {stim!r}, which is neither in stimuli/ nor in the session file",
                session=name,
                key=slabs.label,
                hint="Write the stimulus movie, or fix the stimulus name of these responses.",
            )
        if movie[1] != slabs.shape[1]:
            raise ShapeError(
                f"stimulus {stim!r} has {movie[1]} frames but its responses have {slabs.shape[1]}",
                session=name,
                key=slabs.label,
                hint="Bin the responses on the stimulus frames so both have the same length.",
            )
    for stim, slabs in session.test_by_trial.items():
        responses = session.responses.get(stim)
        if responses is None or slabs.shape[1:] != responses.shape:
            expected = (
                f"(trials, {responses.shape[0]}, {responses.shape[1]})" if responses else "none"
            )
            raise ShapeError(
                f"test_by_trial of {stim!r} has shape {slabs.shape}; expected {expected} "
                "to match responses_" + stim,
                session=name,
                key=slabs.label,
                hint="Write the trial-averaged responses too; repeats are (trials, neurons, time).",
            )
