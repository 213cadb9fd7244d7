"""What ``check`` returns: a list of problems, each with a fix, and a summary."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")


@dataclass(frozen=True)
class Problem:
    """One finding of ``check``.

    Attributes
    ----------
    severity
        ``error`` (openretina would fail or load wrong data), ``warning`` (works, but
        likely a mistake), ``info`` (worth knowing).
    code
        Stable short identifier for machines, e.g. ``length-mismatch``.
    message
        What is wrong, naming the numbers involved.
    fix
        One sentence saying what to do.
    file, key
        Where: a path relative to the dataset folder, and a key inside it.
    """

    severity: Severity
    code: str
    message: str
    fix: str
    file: str | None = None
    key: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_text(self) -> str:
        where = ":".join(p for p in (self.file, self.key) if p)
        head = f"{self.severity.upper():7} {self.code}"
        text = (
            f"{head}  {where}\n        {self.message}"
            if where
            else f"{head}\n        {self.message}"
        )
        return f"{text}\n        fix: {self.fix}" if self.fix else text


@dataclass
class Summary:
    """What the dataset holds (as far as it could be read)."""

    stimuli: dict[str, list[int]] = field(default_factory=dict)
    neurons: dict[str, int | None] = field(default_factory=dict)
    session_stimuli: dict[str, list[str]] = field(default_factory=dict)
    test_stimuli: list[str] = field(default_factory=list)
    has_card: bool = False

    @property
    def frames(self) -> dict[str, int]:
        """Frames per shared stimulus."""
        return {name: shape[1] for name, shape in self.stimuli.items() if len(shape) == 4}

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["sessions"] = len(self.neurons)
        data["frames"] = self.frames
        return data

    def to_text(self) -> str:
        frames = self.frames
        total = sum(frames.values())
        test = sum(frames.get(name, 0) for name in self.test_stimuli)
        neurons = ", ".join(f"{s}={n if n is not None else '?'}" for s, n in self.neurons.items())
        split = (
            f"({total - test} train, {test} test)"
            if self.has_card
            else "(test stimuli not recorded: no card)"
        )
        lines = [
            f"{len(self.neurons)} session(s), {len(self.stimuli)} stimulus file(s), {total} frames {split}"
        ]
        if neurons:
            lines.append(f"neurons per session: {neurons}")
        return "\n".join(lines)


@dataclass
class Report:
    """Everything ``check`` found in one dataset folder."""

    path: str
    problems: list[Problem] = field(default_factory=list)
    summary: Summary = field(default_factory=Summary)

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings and infos are allowed)."""
        return not self.errors

    @property
    def errors(self) -> list[Problem]:
        """The problems of severity "error"."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """The problems of severity "warning"."""
        return [p for p in self.problems if p.severity == "warning"]

    def codes(self, severity: Severity | None = None) -> set[str]:
        """The problem codes found (optionally of one severity)."""
        return {p.code for p in self.problems if severity is None or p.severity == severity}

    def add(
        self,
        severity: Severity,
        code: str,
        message: str,
        fix: str,
        *,
        file: str | None = None,
        key: str | None = None,
    ) -> None:
        """Record one problem: ``message`` says what is wrong, ``fix`` what to do about it."""
        self.problems.append(Problem(severity, code, message, fix, file, key))

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "ok": self.ok,
            "counts": {s: sum(p.severity == s for p in self.problems) for s in SEVERITIES},
            "problems": [p.to_dict() for p in self.problems],
            "summary": self.summary.to_dict(),
        }

    def to_text(self) -> str:
        ordered = sorted(self.problems, key=lambda p: SEVERITIES.index(p.severity))
        lines = [p.to_text() for p in ordered]
        counts = ", ".join(
            f"{sum(p.severity == s for p in self.problems)} {s}(s)" for s in SEVERITIES
        )
        verdict = "OK" if self.ok else "PROBLEMS FOUND"
        lines.append(f"{self.path}: {verdict} — {counts}")
        lines.append(self.summary.to_text())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()
