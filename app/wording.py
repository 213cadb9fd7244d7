"""The core's messages in the wizard's words: its recipe keys and CLI flags become the
controls a person uses here (what to click, on which page).

The core speaks to recipe writers and the command line (``fill_dropped: true``,
``--overwrite``); every line the wizard shows from it goes through :func:`gui_words`.
"""

from __future__ import annotations

import re

#: (pattern, replacement), applied in order; the first ones are the longest phrases.
_PHRASES: tuple[tuple[str, str], ...] = (
    # repairs of the frame times (Timing page, "Repair" box)
    (
        r"fill_dropped is false, so no missed trigger is filled in: set it to auto\.",
        "Repair is Off, so no missed trigger is filled in: set Repair to Auto on the Timing page.",
    ),
    (r"set fill_dropped: true", "set Repair to On (Timing page)"),
    (r"set fill_dropped: false", "set Repair to Off (Timing page)"),
    (
        r"pass fill_dropped=True to interpolate their times",
        "set Repair to On to interpolate their times",
    ),
    (r"fill_dropped=True makes them match", "Repair On makes them match"),
    (r"\(fill_dropped / drop_duplicates\)", "(Repair on the Timing page)"),
    (r"fill_dropped(?:=|: | )auto", "Repair Auto"),
    (r"fill_dropped(?:=|: | )(?:true|True)", "Repair On"),
    (r"fill_dropped(?:=|: | )(?:false|False)", "Repair Off"),
    (r"fill_dropped", "Repair"),
    (r"drop_duplicates(?:=True|: true)?", "dropping duplicate triggers"),
    (r"debounce_s", "the trigger's debounce"),
    (r"skip_frames", "frames to skip"),
    (r"frame_rate_hz", "the frame rate (Timing page)"),
    (r"sampling_rate_hz", "the sampling rate"),
    (r"lag_frames", "the lag (Preview page, Alignment check)"),
    # the output folder (Write page)
    (
        r"Choose a new folder, pass --overwrite to replace it, or --append to add sessions\.",
        "Choose a new Output folder, or tick 'Replace it if it exists'.",
    ),
    (
        r"Choose a new folder, or pass --overwrite to replace that dataset\.",
        "Choose a new Output folder, or tick 'Replace it if it exists'.",
    ),
    (r"pass --overwrite", "tick 'Replace it if it exists'"),
    (r"--overwrite", "'Replace it if it exists'"),
    (r" \(?without --append\)?", ""),
    # inspecting a file: the pages show what it holds
    (
        r"\(`openretina-data inspect FILE` lists them\)",
        "(the Array list on the page shows them)",
    ),
    (r"`?openretina-data inspect [^`\s]*`?", "the Array list on the page"),
    # recipe sections named as YAML keys
    (r"Add them to `stimuli`\.", "Add them on the Stimuli page."),
    (r"`stimuli`", "the Stimuli page"),
)


def gui_words(text: str) -> str:
    """``text`` with the core's recipe keys and command-line flags named as the wizard's controls."""
    for pattern, replacement in _PHRASES:
        text = re.sub(pattern, replacement, text)
    return text


def without_install_hint(text: str) -> str:
    """Drop a ``pip install …`` suggestion (shown after a file that loaded fine)."""
    return re.sub(r'\s*\(?(Install it with: )?pip install "[^"]*"\)?', "", text)


#: Words that belong to a command line or a recipe file, not to a window (for tests).
CLI_WORDS = ("pass ", "--", "=True", "=False", "openretina-data ", "fill_dropped", "pip install")
