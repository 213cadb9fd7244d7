"""The :class:`Preset` record and its progress steps (see :mod:`openretina_data.datasets`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PresetStep:
    """One progress report of a preset conversion.

    Attributes
    ----------
    message
        What just happened, for a log line (``"session 15-10-07: wrote responses"``).
    done, total
        Steps finished and steps planned (``total`` may grow while scanning).
    """

    message: str
    done: int
    total: int

    @property
    def fraction(self) -> float:
        """``done / total`` in [0, 1] (1 when nothing is planned)."""
        return 1.0 if self.total <= 0 else min(1.0, self.done / self.total)


#: ``convert(archive_dir, out_dir, *, overwrite) -> Iterator[PresetStep]``
ConvertFunction = Callable[..., Iterator[PresetStep]]


@dataclass(frozen=True)
class Preset:
    """A published dataset and how to convert its archive.

    Attributes
    ----------
    name
        Preset name used on the command line (``maheswaranathan_2023``).
    title
        One line for menus: authors, year, what was recorded.
    citation
        Paper, DOIs, licence, download location, species, recording method: copied
        into every dataset card's ``citation``.
    archive_layout
        What ``ARCHIVE_DIR`` must contain, in one or two lines (shown in ``--help``).
    run
        The conversion generator; call :meth:`convert` rather than this.
    """

    name: str
    title: str
    citation: dict[str, str]
    archive_layout: str
    run: ConvertFunction = field(repr=False)

    def convert(
        self,
        archive_dir: str | os.PathLike[str],
        out_dir: str | os.PathLike[str],
        *,
        overwrite: bool = False,
    ) -> Iterator[PresetStep]:
        """Convert the archive in ``archive_dir`` into a layout-v1 dataset at ``out_dir``."""
        return self.run(archive_dir, out_dir, overwrite=overwrite)
