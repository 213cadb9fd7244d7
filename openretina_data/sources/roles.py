"""Guess what an array is for from its name, shape and dtype — never from its values.

The guesses only pre-fill choices in the wizard and ``inspect``; the recipe always
says what each array is. Each guess comes with a confidence and a one-line reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from openretina_data.sources.base import Role, Variable


@dataclass(frozen=True)
class _Rule:
    role: Role
    words: tuple[str, ...]
    ndims: tuple[int, ...]
    confidence: float
    unit: str | None = None


# Checked in order; the first rule whose word is in the name and whose ndim fits wins.
_RULES: tuple[_Rule, ...] = (
    _Rule(
        "spike_times",
        ("spike_times", "spiketimes", "spike_time", "spiketime", "spk_t"),
        (1, 2),
        0.85,
    ),
    _Rule(
        "triggers",
        (
            "trigger",
            "ttl",
            "sync",
            "photodiode",
            "frame_times",
            "frametimes",
            "vsync",
            "event",
            "onset",
        ),
        (1, 2),
        0.75,
        "s",
    ),
    _Rule("binned_responses", ("firing_rate", "rates", "rate"), (2, 3), 0.8, "Hz"),
    _Rule(
        "binned_responses",
        ("response", "counts", "binned", "psth", "spike_count", "repeats"),
        (2, 3),
        0.75,
        "spikes/bin",
    ),
    _Rule(
        "traces",
        ("dff", "df_f", "deltaf", "fneu", "trace", "fluo", "calcium", "spks", "roi_response"),
        (1, 2),
        0.75,
        "dF/F",
    ),
    _Rule("traces", ("f",), (2,), 0.55, "a.u."),
    _Rule(
        "stimulus",
        ("stimulus", "stim", "movie", "frames", "noise", "image", "video", "scene"),
        (2, 3, 4, 5),
        0.8,
    ),
    _Rule("timestamps", ("timestamps", "times", "time", "t"), (1,), 0.6, "s"),
    _Rule(
        "cell_metadata",
        (
            "iscell",
            "cluster",
            "unit",
            "label",
            "cell_type",
            "celltype",
            "type",
            "group",
            "roi",
            "id",
            "depth",
            "amplitude",
            "position",
            "channel",
        ),
        (1, 2),
        0.6,
    ),
)


def _tokens(name: str) -> tuple[str, str]:
    """The name lower-cased and with separators as ``_`` (whole name, last path part)."""
    clean = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    last = re.sub(r"[^a-z0-9]+", "_", name.rsplit("/", 1)[-1].lower()).strip("_")
    return clean, last


def _has_word(text: str, word: str) -> bool:
    if len(word) <= 2:  # short words ("t", "f", "id") must be a whole token
        return word in text.split("_")
    return word in text


def unit_from_name(name: str) -> str | None:
    """A unit written in the name: ``spike_times_ms`` → ``ms``, ``t_samples`` → ``samples``."""
    parts = _tokens(name)[1].split("_")
    for unit in ("samples", "ms", "us", "s", "hz"):
        if unit in parts:
            return "Hz" if unit == "hz" else unit
    return None


def guess_variable(
    key: str,
    shape: tuple[int, ...],
    dtype: Any,
    *,
    attrs: dict[str, Any] | None = None,
    hint: str = "",
) -> Variable:
    """A :class:`Variable` with a role guessed from ``key``, ``shape`` and ``dtype``.

    Parameters
    ----------
    key
        The variable's name or path (``"train/response/firing_rate_10ms"``).
    hint
        Extra words from the format (an NWB ``neurodata_type``, a column header)
        that are matched like the name but not shown as the key.
    """
    dt = np.dtype(dtype)
    ndim = len(shape)
    whole, last = _tokens(f"{key} {hint}".strip())
    named_unit = unit_from_name(key)
    is_number = dt.kind in "biuf"
    for rule in _RULES:
        word = next((w for w in rule.words if _has_word(last, w)), None) or next(
            (w for w in rule.words if _has_word(whole, w)), None
        )
        if word is None:
            continue
        if ndim not in rule.ndims or (rule.role != "cell_metadata" and not is_number):
            continue
        confidence = rule.confidence if _has_word(last, word) else rule.confidence - 0.15
        unit = named_unit or rule.unit
        if rule.role == "spike_times" and named_unit is None:
            unit = "samples" if dt.kind in "iu" else "s"
        return Variable(
            key, tuple(shape), dt.str, rule.role, round(confidence, 2), unit,
            f"name contains {word!r}, {ndim}-D {dt.name}", dict(attrs or {}),
        )  # fmt: skip
    return _by_shape(key, tuple(shape), dt, attrs or {})


def _by_shape(
    key: str, shape: tuple[int, ...], dt: np.dtype[Any], attrs: dict[str, Any]
) -> Variable:
    ndim = len(shape)
    if dt.kind in "biuf" and ndim in (3, 4) and min(shape[1:3]) >= 4:
        reason = f"{ndim}-D {dt.name}, looks like (time, height, width{', channels' if ndim == 4 else ''})"
        return Variable(key, shape, dt.str, "stimulus", 0.4, None, reason, attrs)
    if dt.kind in "iuf" and ndim == 2 and min(shape) >= 2:
        reason = f"2-D {dt.name}, looks like (neurons, time) or (time, neurons)"
        return Variable(key, shape, dt.str, "binned_responses", 0.3, None, reason, attrs)
    if dt.kind in "SUO" or ndim == 1 and dt.kind in "iub":
        reason = f"{ndim}-D {dt.name}, could be a per-cell label or id"
        return Variable(key, shape, dt.str, "cell_metadata", 0.2, None, reason, attrs)
    return Variable(
        key, shape, dt.str, "unknown", 0.1, None, f"{ndim}-D {dt.name}, no telling name", attrs
    )
