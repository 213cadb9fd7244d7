"""Presets for published retina datasets: one call from a downloaded archive to layout v1.

Entry point (what ``openretina-data convert --preset NAME ARCHIVE_DIR OUT`` and the
wizard's Start page call)::

    from openretina_data.datasets import PRESETS, get_preset

    preset = get_preset("maheswaranathan_2023")     # InvalidNameError lists the names
    for step in preset.convert(archive_dir, out_dir, overwrite=False):
        print(step.message)                          # convert.Progress: step, done, total, message

``Preset.convert`` is a generator: each ``yield`` is a progress step and a place to
stop. Closing it early (``close()``, Ctrl-C, an exception) leaves ``out_dir``
untouched, because the dataset is written by :class:`~openretina_data.layout.DatasetWriter`,
which renames a finished dataset into place. Every preset writes a dataset card whose
``citation`` holds the paper, DOIs, licence, download location, species and recording
method, and whose ``frame_rate_hz`` / ``response_unit`` say what one bin and one unit
are. Nothing is downloaded: the archive must already be on disk.

Each preset also names a factory in :mod:`openretina_data.testing` that writes a
miniature of its archive, so the preset is tested without the real data.
"""

from __future__ import annotations

from openretina_data.convert import Progress
from openretina_data.datasets.preset import Preset
from openretina_data.errors import InvalidNameError

__all__ = ["PRESETS", "Preset", "Progress", "get_preset"]


def _registry() -> dict[str, Preset]:
    from openretina_data.datasets import (
        goldin_2022,
        hoefling_2024,
        karamanlis_2024,
        maheswaranathan_2023,
    )

    presets = [
        *maheswaranathan_2023.PRESETS,
        *hoefling_2024.PRESETS,
        *karamanlis_2024.PRESETS,
        *goldin_2022.PRESETS,
    ]
    return {preset.name: preset for preset in presets}


#: Every preset by name, in the order menus list them.
PRESETS: dict[str, Preset] = _registry()


def get_preset(name: str) -> Preset:
    """The preset called ``name``; :class:`InvalidNameError` listing the known ones otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise InvalidNameError(
            f"no dataset preset called {name!r}",
            hint=f"Known presets: {', '.join(PRESETS)}.",
        ) from None
