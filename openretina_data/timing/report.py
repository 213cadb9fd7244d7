"""The timing report of one response source: what the frame times were and what was decided.

Built once, when the frame times are matched to the epochs, and then carried
everywhere a user looks: printed by ``plan`` and ``convert`` (text and ``--json``),
stored in the dataset card and in the session file's attrs, read back by ``check``
and shown by the wizard and the viewer. It is plain data (:meth:`TimingReport.as_dict`
round-trips through JSON) so it crosses processes and files unchanged.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from openretina_data.layout.names import CARD_NAME
from openretina_data.timing._report import count, listing, seconds
from openretina_data.timing.schedule import ScheduledFrames

#: Times listed in full in a report; longer lists keep their first entries and a count.
_LISTED = 50


@dataclass
class TimingReport:
    """Per response source: frames, runs, pauses, held / interpolated frames, rate, outside.

    Attributes
    ----------
    source : {"rate", "timestamps", "trigger"}
    path : str or None
        The trigger / timestamp file as the recipe names it.
    frames : int
        Frames the epochs need (skipped frames included).
    frame_rate_hz : float
        Declared in the recipe.
    measured_rate_hz : float or None
        From the frame times (None for a fixed rate).
    fill_dropped : str
        ``auto``, ``true`` or ``false`` as the recipe says.
    decision : str
        What the counts decided, and why.
    runs : list of dict
        ``first_frame, n_frames, start_s, stop_s, period_s`` per uninterrupted run.
    pauses : list of dict
        ``after_frame, start_s, duration_s`` per pause between runs.
    held_frames, interpolated_frames : list of dict
        ``frame, start_s, duration_s`` / ``frame, start_s`` (first :data:`_LISTED`).
    n_held, n_interpolated, duplicates_dropped : int
    outside : dict
        ``before, in_pauses, after`` spikes or samples not on any frame, and ``what``.
    warnings, notes : list of str
    """

    source: str
    path: str | None
    frames: int
    frame_rate_hz: float
    measured_rate_hz: float | None = None
    fill_dropped: str = "auto"
    decision: str = ""
    runs: list[dict[str, Any]] = field(default_factory=list)
    pauses: list[dict[str, Any]] = field(default_factory=list)
    held_frames: list[dict[str, Any]] = field(default_factory=list)
    interpolated_frames: list[dict[str, Any]] = field(default_factory=list)
    n_held: int = 0
    n_interpolated: int = 0
    duplicates_dropped: int = 0
    outside: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_frames(
        cls,
        frames: ScheduledFrames,
        *,
        source: str,
        path: str | None,
        frame_rate_hz: float,
        fill_dropped: bool | str,
        duplicates_dropped: int = 0,
        notes: tuple[str, ...] = (),
    ) -> TimingReport:
        """The report of matched frame times (before anything is binned on them)."""
        starts, stops = frames.starts, frames.stops
        measured = None if source == "rate" else frames.frame_rate_hz
        report = cls(
            source=source,
            path=path,
            frames=frames.n_frames,
            frame_rate_hz=float(frame_rate_hz),
            measured_rate_hz=measured,
            fill_dropped=str(fill_dropped).lower(),
            decision=frames.decision,
            runs=[run.as_dict() for run in frames.runs],
            pauses=[{"after_frame": a, "start_s": s, "duration_s": d} for a, s, d in frames.pauses],
            held_frames=[
                {
                    "frame": int(f),
                    "start_s": float(starts[f]),
                    "duration_s": float(stops[f] - starts[f]),
                }
                for f in frames.held_frames[:_LISTED]
            ],
            interpolated_frames=[
                {"frame": int(f), "start_s": float(starts[f])}
                for f in frames.interpolated_frames[:_LISTED]
            ],
            n_held=int(frames.held_frames.size),
            n_interpolated=int(frames.interpolated_frames.size),
            duplicates_dropped=duplicates_dropped,
            notes=list(notes),
        )
        if report.n_held:
            report.warnings.append(
                f"{count(report.n_held)} held frame(s): frame "
                f"{listing(frames.held_frames.tolist())} stayed on screen longer than one "
                "period, and its bin spans that time"
            )
        if report.n_interpolated:
            report.warnings.append(
                f"{count(report.n_interpolated)} dropped frame(s) had no frame time: frame "
                f"{listing(frames.interpolated_frames.tolist())}, its time interpolated"
            )
        if duplicates_dropped:
            report.warnings.append(
                f"{count(duplicates_dropped)} duplicate trigger(s) (less than 0.75 frame after "
                "the previous one) were ignored"
            )
        return report

    def count_outside(self, what: str, before: int, in_pauses: int, after: int) -> None:
        """Record the spikes / samples that fall on no frame."""
        self.outside = {"what": what, "before": before, "in_pauses": in_pauses, "after": after}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TimingReport:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)

    def lines(self) -> list[str]:
        """The report as a person reads it, one fact per line (warnings marked)."""
        rate = (
            f"{self.frame_rate_hz:.6g} Hz"
            if self.measured_rate_hz is None
            else f"measured {self.measured_rate_hz:.6g} Hz (recipe {self.frame_rate_hz:.6g} Hz)"
        )
        where = f" ({self.path})" if self.path else ""
        out = [f"frame times from {self.source}{where}: {count(self.frames)} frames, {rate}"]
        out.append(f"fill_dropped {self.fill_dropped}: {self.decision}")
        for pause in self.pauses[:_LISTED]:
            out.append(
                f"pause after frame {count(pause['after_frame'])}: {seconds(pause['start_s'])}, "
                f"lasting {seconds(pause['duration_s'])}"
            )
        for held in self.held_frames:
            out.append(
                f"held frame {count(held['frame'])} at {seconds(held['start_s'])}, "
                f"on screen {seconds(held['duration_s'])}"
            )
        for frame in self.interpolated_frames:
            out.append(f"interpolated frame {count(frame['frame'])} at {seconds(frame['start_s'])}")
        if self.outside:
            o = self.outside
            out.append(
                f"{o['what']} on no frame: {count(o['before'])} before the first frame, "
                f"{count(o['in_pauses'])} in pauses, {count(o['after'])} after the last"
            )
        out.extend(self.notes)
        out.extend(f"warning: {w}" for w in self.warnings)
        return out


def card_timing(dataset: str | os.PathLike[str]) -> dict[str, list[TimingReport]]:
    """The timing reports a dataset's card holds, per session (empty for datasets without)."""
    card = Path(dataset) / CARD_NAME
    try:
        data = json.loads(card.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    timing = data.get("timing") if isinstance(data, dict) else None
    if not isinstance(timing, dict):
        return {}
    return {
        str(name): [TimingReport.from_dict(r) for r in reports if isinstance(r, dict)]
        for name, reports in timing.items()
        if isinstance(reports, list)
    }


def timing_lines(reports: dict[str, list[TimingReport]]) -> list[str]:
    """``"<session>: <line>"`` for every line of every report."""
    return [f"{name}: {line}" for name, rs in reports.items() for r in rs for line in r.lines()]


def timing_warnings(reports: dict[str, list[TimingReport]]) -> list[str]:
    """``"<session>: <warning>"`` for every report warning."""
    return [f"{name}: {w}" for name, rs in reports.items() for r in rs for w in r.warnings]


__all__ = ["TimingReport", "card_timing", "timing_lines", "timing_warnings"]
