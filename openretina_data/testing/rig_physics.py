"""The physics of a retina rig (display, clocks, TTL, spikes, calcium): the timing truth.

Nothing here uses the converter. The experiment is built the way it happens:

- **Display.** Refreshes at ``1 / refresh_hz`` on the display clock, each moved by an
  independent jitter in ``[-jitter_s, jitter_s]``. A schedule of :class:`Block`\\ s: each
  block's stimulus is shown ``repeats`` times; presentations are separated by a gray
  pause (no frames; ``pause_s`` between blocks, ``repeat_pause_s`` between repeats,
  rounded to whole refreshes; 0 = the next presentation starts at the next refresh).
  Every stimulus frame is on screen for one refresh, except **held** frames (the display
  hiccups and shows the frame for ``k`` refreshes; every later frame starts later).
  Frame ``i`` of a presentation owns ``[onset_i, offset_i)`` with ``offset_i`` the
  refresh at which it leaves the screen: the next frame's onset inside the
  presentation, ``onset + its display time`` for the last one.
- **Clocks.** Display, acquisition (ephys + TTL) and imaging clocks are affine in each
  other: ``t_clock = offset_s + (1 + drift_ppm * 1e-6) * t_display`` (:class:`Clock`).
  Spikes (Kilosort samples, NWB seconds) and the TTL are on the acquisition clock;
  calcium samples (``k / imaging_rate_hz``) and their frame timestamps on the imaging
  clock. Frame timestamps are the photodiode onsets as the recording system logged
  them: sampled at ``ttl_rate_hz`` (rounded up to the next sample), one per pulse.
- **TTL / photodiode.** One pulse per displayed frame at its onset (``pulse_fraction``
  of a period wide), none for the extra refreshes of a held frame, none for a
  **missed** frame (shown, but the rig emitted no pulse: no edge, no timestamp).
  Sampled at ``ttl_rate_hz`` on the acquisition clock as int16 with Gaussian noise.
- **Spikes.** Each unit has a rate (Hz) per stimulus frame from a random linear filter
  of the frame's pixels; the count in a displayed frame is Poisson(rate × duration);
  the spikes sit uniformly in the frame's interval at least ``edge_margin_s`` from both
  edges (margin > TTL/spike sample quantisation + twice the jitter, so the frame a spike
  belongs to is unambiguous for any correct converter). Pauses, the time before the
  first frame and after the last have spikes at a baseline rate: they belong to no frame.
- **Calcium.** Each ROI's signal is ``c + Σ A sin(2π f t + φ)`` (slow: f ≤ 0.15 Hz)
  of display time, sampled without noise at ``k / imaging_rate_hz`` on the imaging
  clock. The truth per frame is the signal's exact mean over the frame's interval.
  ``trace_tolerance`` (per ROI) is ``S · (dt + e)``: ``S = Σ 2π f |A|`` the maximum
  slope, ``dt`` the sample interval, ``e = 1/ttl_rate_hz + 2 jitter_s`` the error of a
  frame edge known only from timestamps; any resampler that reads the sample nearest
  to, before, or around a time is within it. ``trace_tolerance_linear`` is
  ``S2 · (dt²/8 + d²/24) + S · e`` (``S2 = Σ (2π f)² |A|``, ``d`` the longest frame):
  the bound for area-averaging (or centre-sampling) the linear interpolant.

Ambiguities a correct converter cannot resolve are refused by :class:`Schedule`: a held
or missed frame at a presentation's last frame (nothing after it to measure), missed
pulses next to each other or at a first frame, and held and missed frames in the same
run of frames (presentations with no gray refresh between them): a held frame and a
missed pulse both leave one two-period interval, and only a pause tells the counts apart.

:mod:`openretina_data.testing.rig` writes sessions from this and keeps their truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np


@dataclass(frozen=True)
class Clock:
    """``t = offset_s + (1 + drift_ppm * 1e-6) * t_display`` (seconds)."""

    offset_s: float = 0.0
    drift_ppm: float = 0.0

    @property
    def scale(self) -> float:
        return 1.0 + self.drift_ppm * 1e-6

    def at(self, display_s: Any) -> Any:
        """Display-clock seconds → this clock's seconds."""
        return self.offset_s + self.scale * np.asarray(display_s, dtype=np.float64)

    def display(self, clock_s: Any) -> Any:
        """This clock's seconds → display-clock seconds."""
        return (np.asarray(clock_s, dtype=np.float64) - self.offset_s) / self.scale

    @classmethod
    def starting(cls, lead_s: float, display_start_s: float, drift_ppm: float = 0.0) -> Clock:
        """The clock that reads ``lead_s`` at display time ``display_start_s``."""
        return cls(lead_s - (1.0 + drift_ppm * 1e-6) * display_start_s, drift_ppm)


@dataclass(frozen=True)
class Block:
    """One stimulus shown ``repeats`` times (one recipe epoch)."""

    stimulus: str
    frames: int
    repeats: int = 1
    split: Literal["train", "test"] = "train"


@dataclass(frozen=True)
class Schedule:
    """One session's experiment. ``held``: ``(presentation, frame, refreshes)``;
    ``missed``: ``(presentation, frame)``; presentations count every repeat of every
    block in order from 0."""

    blocks: tuple[Block, ...]
    refresh_hz: float = 30.0
    jitter_s: float = 2e-4
    pause_s: float = 2.0
    repeat_pause_s: float | None = None
    display_start_s: float = 10.0
    acquisition: Clock = Clock.starting(1.0, 10.0)
    imaging: Clock = Clock.starting(1.0, 10.0)
    tail_s: float = 1.0
    held: tuple[tuple[int, int, int], ...] = ()
    missed: tuple[tuple[int, int], ...] = ()
    ttl_rate_hz: float = 20_000.0
    spike_rate_hz: float = 20_000.0
    imaging_rate_hz: float = 7.5
    pulse_fraction: float = 0.5
    edge_margin_s: float = 1.5e-3

    def presentations(self) -> list[tuple[int, Block, int]]:
        """``(block index, block, repeat)`` of every presentation, in order."""
        return [(b, block, r) for b, block in enumerate(self.blocks) for r in range(block.repeats)]

    def pause_refreshes(self) -> list[int]:
        """Gray refreshes before each presentation (0 for the first: ``lead`` is on the clocks)."""
        period = 1.0 / self.refresh_hz
        between = self.pause_s if self.repeat_pause_s is None else self.repeat_pause_s
        pres = self.presentations()
        return [0] + [
            round((between if pres[p - 1][0] == pres[p][0] else self.pause_s) / period)
            for p in range(1, len(pres))
        ]

    def runs(self) -> list[int]:
        """The uninterrupted run (no gray refresh between) each presentation belongs to."""
        return [int(n) for n in np.cumsum([r > 0 for r in self.pause_refreshes()])]

    def check(self) -> None:
        """Refuse schedules whose truth a correct converter could not recover."""
        period = 1.0 / self.refresh_hz
        if not 0 <= self.jitter_s <= 0.05 * period:
            raise ValueError(f"jitter_s {self.jitter_s} must be in [0, 5 % of a period]")
        need = 2 * self.jitter_s + 1 / self.ttl_rate_hz + 1 / self.spike_rate_hz
        if not need < self.edge_margin_s < (period - 2 * self.jitter_s) / 3:
            raise ValueError(f"edge_margin_s {self.edge_margin_s} must exceed {need:.2e} s")
        pres = self.presentations()
        runs = self.runs()
        held_runs, missed_runs = set(), set()
        for p, frame, k in self.held:
            if not (0 <= p < len(pres) and 0 <= frame < pres[p][1].frames - 1 and k >= 2):
                raise ValueError(f"held frame {(p, frame, k)} is not inside a presentation")
            held_runs.add(runs[p])
        for p, frame in self.missed:
            if not (0 <= p < len(pres) and 1 <= frame < pres[p][1].frames - 1):
                raise ValueError(f"missed pulse {(p, frame)} at a first/last frame or outside")
            if (p, frame + 1) in self.missed:
                raise ValueError(f"missed pulses {(p, frame)} and {(p, frame + 1)} are adjacent")
            missed_runs.add(runs[p])
        if held_runs & missed_runs:
            raise ValueError("a run has both held frames and missed pulses: ambiguous")
        for name, clock in (("acquisition", self.acquisition), ("imaging", self.imaging)):
            if clock.at(self.display_start_s) < 4 * self.edge_margin_s:
                raise ValueError(f"the {name} clock starts after the first frame")


@dataclass(frozen=True)
class Presentation:
    """One showing of a stimulus on the display clock: (frames,) arrays, seconds."""

    stimulus: str
    repeat: int
    onsets: np.ndarray
    offsets: np.ndarray
    refreshes: np.ndarray  # (frames,) int: 1, or k for a held frame
    pulsed: np.ndarray  # (frames,) bool: False for a missed pulse


def display_timeline(schedule: Schedule, rng: np.random.Generator) -> list[Presentation]:
    """Every presentation's frame onsets and offsets on the display clock."""
    schedule.check()
    period = 1.0 / schedule.refresh_hz
    held = {(p, i): k for p, i, k in schedule.held}
    missed = set(schedule.missed)
    gray = schedule.pause_refreshes()
    plans, refresh = [], 0
    for p, (_, block, repeat) in enumerate(schedule.presentations()):
        refresh += gray[p]
        k = np.array([held.get((p, i), 1) for i in range(block.frames)], dtype=np.int64)
        first = refresh + np.concatenate([[0], np.cumsum(k)[:-1]])
        pulsed = np.array([(p, i) not in missed for i in range(block.frames)])
        plans.append((block.stimulus, repeat, first, k, pulsed))
        refresh = int(first[-1] + k[-1])
    jitter = rng.uniform(-schedule.jitter_s, schedule.jitter_s, refresh + 1)
    ticks = schedule.display_start_s + np.arange(refresh + 1) * period + jitter
    ticks -= jitter[0]  # the first onset is exactly display_start_s
    return [
        Presentation(stim, rep, ticks[first], ticks[first + k], k, pulsed)
        for stim, rep, first, k, pulsed in plans
    ]


def recording_span(
    schedule: Schedule, timeline: list[Presentation], clock: Clock
) -> tuple[float, float]:
    """Display-clock times at which ``clock`` reads 0 (recording start) and the end."""
    return float(clock.display(0.0)), float(timeline[-1].offsets[-1] + schedule.tail_s)


def gaps(
    schedule: Schedule, timeline: list[Presentation], clock: Clock
) -> list[tuple[float, float]]:
    """Stretches with no stimulus frame (display clock): before, between, after."""
    start, end = recording_span(schedule, timeline, clock)
    edges = [start] + [x for p in timeline for x in (p.onsets[0], p.offsets[-1])] + [end]
    return [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2)]


def ttl_trace(
    schedule: Schedule, timeline: list[Presentation], rng: np.random.Generator
) -> np.ndarray:
    """The sampled TTL channel, (samples,) int16, acquisition clock, ``ttl_rate_hz``."""
    clock, rate = schedule.acquisition, schedule.ttl_rate_hz
    edges = clock.at(np.concatenate([p.onsets[p.pulsed] for p in timeline]))
    width = clock.scale * schedule.pulse_fraction / schedule.refresh_hz
    n = int(np.ceil(clock.at(recording_span(schedule, timeline, clock)[1]) * rate)) + 1
    step = np.zeros(n + 1, dtype=np.int64)
    np.add.at(step, np.ceil(edges * rate).astype(np.int64), 1)
    np.add.at(step, np.ceil((edges + width) * rate).astype(np.int64), -1)
    level = np.cumsum(step[:n]) * 3000 + 200 + rng.normal(0.0, 30.0, n)
    return np.round(level).astype(np.int16)


def logged_onsets(schedule: Schedule, timeline: list[Presentation], clock: Clock) -> np.ndarray:
    """Frame timestamps a recording system logs: pulsed onsets on ``clock``, sampled up."""
    rate = schedule.ttl_rate_hz
    onsets = clock.at(np.concatenate([p.onsets[p.pulsed] for p in timeline]))
    return np.ceil(onsets * rate) / rate


def _uniform_inside(
    rng: np.random.Generator, a: np.ndarray, b: np.ndarray, counts: np.ndarray, m: float
) -> np.ndarray:
    a, b = np.repeat(a, counts), np.repeat(b, counts)
    return a + m + rng.random(a.size) * (b - a - 2 * m)


@dataclass
class SpikeTruth:
    times: list[np.ndarray]  # per unit, display clock s, sorted
    counts: list[np.ndarray]  # per presentation, (units, frames) int64
    outside: np.ndarray  # (units,) spikes in no frame


def draw_spikes(
    schedule: Schedule,
    timeline: list[Presentation],
    rates_hz: dict[str, np.ndarray],
    baseline_hz: np.ndarray,
    rng: np.random.Generator,
) -> SpikeTruth:
    """Poisson spikes per displayed frame (``rates_hz[stim]`` (units, frames)) and at
    ``baseline_hz`` (units,) in the gaps, each at least ``edge_margin_s`` from an edge."""
    m = schedule.edge_margin_s
    units = len(baseline_hz)
    times: list[list[np.ndarray]] = [[] for _ in range(units)]
    counts = []
    for pres in timeline:
        lam = rates_hz[pres.stimulus] * (pres.offsets - pres.onsets)[None, :]
        n = rng.poisson(lam)
        counts.append(n.astype(np.int64))
        for u in range(units):
            times[u].append(_uniform_inside(rng, pres.onsets, pres.offsets, n[u], m))
    outside = np.zeros(units, dtype=np.int64)
    for a, b in gaps(schedule, timeline, schedule.acquisition):
        if b - a > 2 * m:
            for u in range(units):
                k = int(rng.poisson(baseline_hz[u] * (b - a - 2 * m)))
                times[u].append(
                    _uniform_inside(rng, np.array([a]), np.array([b]), np.array([k]), m)
                )
                outside[u] += k
    return SpikeTruth([np.sort(np.concatenate(t)) for t in times], counts, outside)


@dataclass(frozen=True)
class Calcium:
    """ROI signals ``c + Σ_j A_j sin(2π f_j (t - t0) + φ_j)``, t display seconds."""

    c: np.ndarray  # (rois,)
    amplitude: np.ndarray  # (rois, components)
    freq_hz: np.ndarray
    phase: np.ndarray
    t0: float

    @classmethod
    def draw(cls, rng: np.random.Generator, rois: int, t0: float, components: int = 3) -> Calcium:
        shape = (rois, components)
        return cls(
            rng.uniform(-0.5, 0.5, rois),
            rng.uniform(0.2, 0.5, shape),
            rng.uniform(0.03, 0.15, shape),
            rng.uniform(0, 2 * np.pi, shape),
            t0,
        )

    def __call__(self, t: np.ndarray) -> np.ndarray:
        """(rois, len(t))."""
        w = 2 * np.pi * self.freq_hz[:, :, None]
        arg = w * (np.asarray(t)[None, None, :] - self.t0) + self.phase[:, :, None]
        return self.c[:, None] + (self.amplitude[:, :, None] * np.sin(arg)).sum(axis=1)

    def mean_over(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Exact mean over each ``[a_i, b_i)``: (rois, len(a))."""
        w = 2 * np.pi * self.freq_hz[:, :, None]
        pa = w * (a[None, None, :] - self.t0) + self.phase[:, :, None]
        pb = w * (b[None, None, :] - self.t0) + self.phase[:, :, None]
        part = self.amplitude[:, :, None] * (np.cos(pa) - np.cos(pb)) / (w * (b - a)[None, None, :])
        return self.c[:, None] + part.sum(axis=1)

    def slope_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(rois,) bounds on |s'| and |s''| (per display second)."""
        w = 2 * np.pi * self.freq_hz
        return (w * self.amplitude).sum(axis=1), (w**2 * self.amplitude).sum(axis=1)
