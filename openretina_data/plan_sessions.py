"""Plan one session: its response sources, epochs, frame times and ``session_info``.

Every response source is opened (headers, and the trigger channel or spike times
searched only), its neuron count, frame coverage and timing report collected into a
:class:`~openretina_data.plan_report.SessionPlan`; problems go to the collector.
"""

from __future__ import annotations

from functools import partial

from openretina_data.layout.names import validate_name
from openretina_data.plan_report import Collector, SessionPlan
from openretina_data.recipe import Recipe, SessionSpec
from openretina_data.responses_io import (
    SourceTiming,
    SpikeReader,
    frames_needed,
    open_response_reader,
    read_info_column,
)


def plan_session(
    recipe: Recipe, session: SessionSpec, movie_frames: dict[str, int], found: Collector
) -> SessionPlan:
    """Check one session's responses, epochs, frame times and session_info; its plan."""
    name = session.name
    found.attempt(lambda: validate_name(name, kind="session"), session=name)
    result = SessionPlan(name, None, {}, {})
    neurons: set[int] = set()
    unit_ids = rows = None
    for source in session.responses:
        unknown = [
            e.stimulus for e in source.epochs if e.stimulus not in {s.name for s in recipe.stimuli}
        ]
        if unknown:
            found.add(
                "error",
                f"epochs name unknown stimuli {unknown}",
                "Add them to `stimuli`.",
                session=name,
            )
            continue
        for epoch in source.epochs:
            if epoch.stimulus in result.stimuli:
                found.add(
                    "error",
                    f"stimulus {epoch.stimulus!r} is shown twice",
                    "List it once, with repeats.",
                    session=name,
                )
            if epoch.repeats < 1 or epoch.skip_frames < 0:
                found.add(
                    "error",
                    "repeats must be ≥ 1 and skip_frames ≥ 0",
                    "",
                    session=name,
                    key=epoch.stimulus,
                )
            if epoch.repeats > 1 and recipe.stimulus(epoch.stimulus).split != "test":
                found.add(
                    "warning",
                    f"training stimulus {epoch.stimulus!r} has repeats; they are averaged",
                    "",
                    session=name,
                )
            result.stimuli[epoch.stimulus] = epoch.repeats
            if epoch.stimulus in movie_frames:
                result.frames[epoch.stimulus] = movie_frames[epoch.stimulus] - recipe.lag_frames
        if any(e.stimulus not in movie_frames for e in source.epochs):
            continue  # the stimulus problem is already listed
        opened = found.attempt(
            partial(open_response_reader, source, recipe, movie_frames, session=name),
            session=name,
        )
        if opened is None:
            continue
        reader, frames = opened
        timing: list[str] = []  # this source's lines, named by its file below
        try:
            neurons.add(reader.n_neurons)
            if reader.unit_ids is not None or reader.rows is not None:
                unit_ids, rows = reader.unit_ids, reader.rows
            if isinstance(reader, SpikeReader) and frames is not None:
                _check_spike_coverage(reader, frames, found, name, source.path)
            needed = frames_needed(source, movie_frames)
            if reader.frames_available is not None:
                _compare_frames(reader.frames_available, needed, found, name, source.path)
            if frames is not None:
                timing.extend(frames.report.lines())
                for warning in frames.report.warnings:
                    found.add(
                        "warning",
                        warning,
                        "See the session's timing report; look at the alignment check in the "
                        "wizard if this was not expected.",
                        session=name,
                        path=source.frame_times.path or source.path,
                    )
                result.reports.append(frames.report)
        finally:
            reader.close()
        result.timing.extend(f"{source.path}: {line}" for line in timing)
    if len(neurons) > 1:
        found.add(
            "error",
            f"response sources give different neuron counts {sorted(neurons)}",
            "",
            session=name,
        )
    result.neurons = neurons.pop() if len(neurons) == 1 else None
    for info in session.session_info:
        column = found.attempt(
            partial(
                read_info_column,
                recipe.resolve(info.path),
                info.key,
                info.format,
                session=name,
                unit_ids=unit_ids,
                rows=rows,
            ),
            session=name,
        )
        if column is not None and result.neurons is not None and len(column) != result.neurons:
            found.add(
                "error",
                f"session_info {info.name!r} has {len(column)} rows for {result.neurons} neurons",
                "",
                session=name,
                path=info.path,
            )
    if not any(source.epochs for source in session.responses):
        found.add(
            "error", "the session shows no stimuli", "Add epochs to its responses.", session=name
        )
    elif result.stimuli and all(recipe.stimulus(s).split == "test" for s in result.stimuli):
        found.add(
            "error",
            "every stimulus of the session is a test stimulus",
            "Add a training stimulus.",
            session=name,
        )
    return result


def _check_spike_coverage(
    reader: SpikeReader, frames: SourceTiming, found: Collector, session: str, path: str
) -> None:
    """Do the spike times fall on the frames? A wrong unit or rate shows up here."""
    trains = reader.trains
    span = trains.span_s()
    if span is None:
        found.add("warning", "the spike sorting holds no spikes", "", session=session, path=path)
        return
    first, last = span
    start, stop = float(frames.frames.starts[0]), float(frames.frames.stops[-1])
    outside = frames.report.outside
    inside = trains.n_spikes - outside["before"] - outside["in_pauses"] - outside["after"]
    share = inside / trains.n_spikes
    if inside == 0:
        found.add(
            "error",
            f"no spike falls on a stimulus frame: spikes span {first:.3f}..{last:.3f} s, "
            f"frames {start:.3f}..{stop:.3f} s",
            "Check the spike time unit and sampling_rate_hz, and the frame times (trigger, start_s).",
            session=session,
            path=path,
        )
    elif share < 0.1:
        found.add(
            "warning",
            f"only {share:.1%} of the spikes fall on stimulus frames "
            f"(spikes {first:.3f}..{last:.3f} s, frames {start:.3f}..{stop:.3f} s)",
            "Check the spike time unit and sampling_rate_hz if this is not expected.",
            session=session,
            path=path,
        )


def _compare_frames(available: int, needed: int, found: Collector, session: str, path: str) -> None:
    if available < needed:
        found.add(
            "error",
            f"the responses have {available} frames but the epochs need {needed}",
            "Check the epochs (repeats, skip_frames) and the stimulus lengths.",
            session=session,
            path=path,
        )
    elif available > needed:
        found.add(
            "warning",
            f"the responses have {available - needed} frames more than the epochs use; they are ignored",
            "",
            session=session,
            path=path,
        )
