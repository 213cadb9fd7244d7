"""The :class:`Preset` record (see :mod:`openretina_data.datasets`); steps are :class:`~openretina_data.convert.Progress`."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial

from openretina_data.convert import Progress

#: ``convert(archive_dir, out_dir, *, overwrite) -> Iterator[Progress]``
ConvertFunction = Callable[..., Iterator[Progress]]


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
    ) -> Iterator[Progress]:
        """Convert the archive in ``archive_dir`` into a layout-v1 dataset at ``out_dir``."""
        return self.run(archive_dir, out_dir, overwrite=overwrite)


def species_presets(
    *,
    name: str,
    title: str,
    archive_layout: str,
    citation: dict[str, str],
    species: Mapping[str, str],
    run: ConvertFunction,
) -> tuple[Preset, ...]:
    """One preset per species of an archive that holds several.

    Parameters
    ----------
    name, title, archive_layout
        Templates for the :class:`Preset` fields; ``{species}`` stands for the species
        key (``goldin_2022_{species}``).
    citation
        The paper's citation; each preset's copy adds ``"species"``: the species label.
    species
        Species key (``mouse``) to the label written into the citation
        (``mouse (Mus musculus)``).
    run
        The archive's conversion generator; each preset calls it with ``species=key``.
    """
    return tuple(
        Preset(
            name=name.format(species=key),
            title=title.format(species=key),
            citation={**citation, "species": label},
            archive_layout=archive_layout.format(species=key),
            run=partial(run, species=key),
        )
        for key, label in species.items()
    )
