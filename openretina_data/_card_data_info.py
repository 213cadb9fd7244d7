"""openretina's ``data_info`` config entry for a dataset, from its card (no torch here:
``convert`` records it and must not pay for torch)."""

from __future__ import annotations

from typing import Any

import numpy as np


def card_data_info(
    card: Any,
    stimulus_class: str | None = None,
    retina_pixel_size_um: float | None = None,
) -> dict[str, Any]:
    """openretina's ``data_info`` config entry for a dataset, from its card.

    Parameters
    ----------
    card
        The :class:`~openretina_data.layout.card.DatasetCard`.
    stimulus_class, retina_pixel_size_um
        What the recipe or preset knows; None keeps what the card's own ``data_info`` says.

    Returns
    -------
    dict
        ``response_rate_hz`` and ``stimulus_rate_hz`` as numbers (Hz): responses are binned
        on the stimulus frames, so both are the frame rate, measured from the frame times
        where the sessions' timing reports have it (their median), else the card's
        ``frame_rate_hz``; None when the dataset's rate is unknown (flashed images, an
        imported folder without a rate), never a guess. ``stimulus_class`` and
        ``retina_pixel_size_um`` only where known.
    """
    known = dict(getattr(card, "data_info", None) or {})
    measured = [
        float(report["measured_rate_hz"])
        for reports in (card.extra.get("timing") or {}).values()
        for report in (reports if isinstance(reports, list) else [reports])
        if isinstance(report, dict) and report.get("measured_rate_hz")
    ]
    rate = float(np.median(measured)) if measured else card.frame_rate_hz
    rate = None if rate is None else float(rate)
    info: dict[str, Any] = {"response_rate_hz": rate, "stimulus_rate_hz": rate}
    for key, value in (
        ("stimulus_class", stimulus_class),
        ("retina_pixel_size_um", retina_pixel_size_um),
    ):
        value = known.get(key) if value is None else value
        if value is not None:
            info[key] = float(value) if key == "retina_pixel_size_um" else str(value)
    return info
