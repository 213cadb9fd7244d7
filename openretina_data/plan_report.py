"""What :func:`openretina_data.plan.plan` returns: problems, and what would be written."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from openretina_data.errors import OpenRetinaDataError
from openretina_data.recipe import Recipe
from openretina_data.timing.report import TimingReport

Severity = Literal["error", "warning"]
ASSUMED_BYTES_PER_S = 100e6  # conservative: convert measured 120-170 MB/s on a busy 2-core box
T = TypeVar("T")


@dataclass
class Problem:
    """One thing wrong (``error``: convert refuses) or worth a look (``warning``)."""

    severity: Severity
    message: str
    hint: str = ""
    session: str | None = None
    path: str | None = None
    key: str | None = None

    def __str__(self) -> str:
        where = ", ".join(
            f"{label} {value!r}"
            for label, value in (("session", self.session), ("file", self.path), ("key", self.key))
            if value
        )
        text = f"{self.severity}: {self.message}" + (f" [{where}]" if where else "")
        return text + (f"\n  hint: {self.hint}" if self.hint else "")


@dataclass
class StimulusPlan:
    """A stimulus as it will be written: ``shape`` is ``(channels, time, height, width)``."""

    name: str
    split: str
    shared: bool
    shape: tuple[int, int, int, int] | None
    source: str | None


@dataclass
class SessionPlan:
    """A session as it will be written."""

    name: str
    neurons: int | None
    stimuli: dict[str, int]  # stimulus -> repeats
    frames: dict[str, int]  # stimulus -> frames written (after the lag)
    timing: list[str] = field(default_factory=list)  # frame-time reports, "<source path>: …"
    reports: list[TimingReport] = field(default_factory=list)  # one per timed response source


@dataclass
class ConversionPlan:
    """Everything :func:`plan` found; ``ok`` when there is no error."""

    recipe: Recipe
    output: Path
    stimuli: list[StimulusPlan]
    sessions: list[SessionPlan]
    problems: list[Problem]
    bytes_to_write: int = 0
    bytes_to_read: int = 0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def seconds_estimate(self) -> float:
        return (self.bytes_to_write + self.bytes_to_read) / ASSUMED_BYTES_PER_S

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "output": os.fspath(self.output),
            "problems": [asdict(p) for p in self.problems],
            "stimuli": [asdict(s) for s in self.stimuli],
            "sessions": [asdict(s) for s in self.sessions],
            "bytes_to_write": self.bytes_to_write,
            "bytes_to_read": self.bytes_to_read,
            "seconds_estimate": round(self.seconds_estimate, 1),
        }

    def summary(self) -> str:
        """The sessions × stimuli table and totals, as plain text."""
        names = [s.name for s in self.stimuli]
        width = max([len("session"), *(len(s.name) for s in self.sessions)]) + 2
        lines = [f"output: {self.output}"]
        header = "session".ljust(width) + "neurons  " + "  ".join(names)
        lines.append(header)
        for session in self.sessions:
            cells = []
            for name in names:
                if name not in session.frames:
                    cell = "-"
                else:
                    repeats = session.stimuli[name]
                    cell = f"{session.frames[name]}" + (f"x{repeats}" if repeats > 1 else "")
                cells.append(cell.rjust(len(name)))
            neurons = "?" if session.neurons is None else str(session.neurons)
            lines.append(session.name.ljust(width) + neurons.rjust(7) + "  " + "  ".join(cells))
        for session in self.sessions:
            lines.extend(f"{session.name}, {line}" for line in session.timing)
        lines.append(
            f"{len(self.sessions)} sessions, {len(self.stimuli)} stimuli, "
            f"{self.bytes_to_write / 1e6:.1f} MB to write, about {self.seconds_estimate:.0f} s"
        )
        lines.extend(str(p) for p in self.problems)
        return "\n".join(lines)


class Collector:
    """Problems found so far; ``attempt`` turns our errors into problems."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, severity: Severity, message: str, hint: str = "", **where: Any) -> None:
        self.problems.append(
            Problem(severity, message, hint, **{k: _text(v) for k, v in where.items()})
        )

    def attempt(self, action: Callable[[], T], *, session: str | None = None) -> T | None:
        """Run ``action``; record our errors as problems and return ``None``."""
        try:
            return action()
        except OpenRetinaDataError as error:
            self.problems.append(
                Problem(
                    "error",
                    error.message,
                    error.hint,
                    error.session or session,
                    error.path,
                    error.key,
                )
            )
            return None


def _text(value: Any) -> str | None:
    return None if value is None else os.fspath(value) if isinstance(value, Path) else str(value)
