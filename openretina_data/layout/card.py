"""The dataset card ``openretina_data.json``: what a dataset is, and the checks it passed.

openretina ignores the card; our loaders and ``check`` read it. A card records the
layout version, frame rate, response unit, which stimuli are test stimuli, the
normalisation statistics of the training stimuli, a size/mtime fingerprint of every
file (so a loader can trust the card only while the files are unchanged), per-array
check results (all finite, value range), provenance (package, recipe, source files)
and, for published-dataset presets, citation fields.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openretina_data.errors import LayoutError
from openretina_data.layout.names import CARD_NAME, LAYOUT_VERSION


@dataclass
class FileFingerprint:
    """Size in bytes and modification time in ns of one file, as written."""

    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: str | os.PathLike[str]) -> FileFingerprint:
        """Size (bytes) and modification time (ns) of ``path`` now."""
        stat = os.stat(path)
        return cls(size=stat.st_size, mtime_ns=stat.st_mtime_ns)


@dataclass
class ArrayCheck:
    """What a full pass over one array found (computed in float64)."""

    all_finite: bool
    min: float | None
    max: float | None
    mean: float | None
    std: float | None
    count: int


@dataclass
class SourceFile:
    """One input file a session was converted from."""

    name: str
    size: int
    sha256: str


@dataclass
class DatasetCard:
    """Contents of ``openretina_data.json``.

    Attributes
    ----------
    frame_rate_hz
        Stimulus frame rate; responses are binned on these frames.
    response_unit
        One of ``spikes/bin``, ``Hz``, ``dF/F``, ``a.u.``.
    test_stimuli
        Names of the stimuli held out for testing (the rest are training stimuli).
    norm_mean, norm_std
        Mean and standard deviation over all frames of the training stimuli.
    stimuli
        ``name -> {"shape": [c, t, h, w], "dtype": "float32"}`` of the shared stimuli.
    sessions
        ``name -> {"neurons": n, "stimuli": [...], "source_files": [SourceFile...]}``.
    files
        ``relative path -> FileFingerprint`` of every file of the dataset.
    checks
        ``"stimuli/x.npy"`` or ``"s0.hdf5/responses_x" -> ArrayCheck``.
    recipe_text, recipe_sha256
        The recipe that made the dataset (JSON/YAML text) and its SHA-256.
    citation
        For published datasets: ``title``, ``authors``, ``doi``, ``url``, ``license``.
    loader
        Dataloader settings from the recipe (``train_chunk_size``, ``batch_size``,
        ``clip_length``, ``num_val_clips``, ``seed``): ``loader-check`` and the wizard's
        Use page build ``multiple_movies_dataloaders`` with them.
    data_info
        openretina's ``data_info`` for the dataset: ``response_rate_hz``,
        ``stimulus_rate_hz`` (numbers, None when unknown), and ``stimulus_class``,
        ``retina_pixel_size_um`` when the recipe or preset knows them; ``export-config``
        writes it into the ``data_io`` config.
    extra
        Keys this version does not know, kept so a round trip loses nothing.
    """

    layout_version: int = LAYOUT_VERSION
    frame_rate_hz: float | None = None
    response_unit: str = "a.u."
    test_stimuli: list[str] = field(default_factory=list)
    norm_mean: float | None = None
    norm_std: float | None = None
    stimuli: dict[str, dict[str, Any]] = field(default_factory=dict)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, FileFingerprint] = field(default_factory=dict)
    checks: dict[str, ArrayCheck] = field(default_factory=dict)
    created_by: str = ""
    created_at: str = ""
    recipe_text: str | None = None
    recipe_sha256: str | None = None
    description: str = ""
    citation: dict[str, str] = field(default_factory=dict)
    loader: dict[str, int] = field(default_factory=dict)
    data_info: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (``extra`` merged back in at the top level)."""
        data = dataclasses.asdict(self)
        extra = data.pop("extra")
        return {**extra, **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, path: str | None = None) -> DatasetCard:
        """Build a card from parsed JSON; raise :class:`LayoutError` if it is malformed."""
        if not isinstance(data, dict):
            raise _bad(path, "the card is not a JSON object")
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        values = {k: v for k, v in data.items() if k in known}
        extra = {k: v for k, v in data.items() if k not in known}
        try:
            files = {str(k): FileFingerprint(**v) for k, v in values.pop("files", {}).items()}
            checks = {str(k): ArrayCheck(**v) for k, v in values.pop("checks", {}).items()}
            card = cls(**values, files=files, checks=checks, extra=extra)
        except (TypeError, AttributeError) as error:
            raise _bad(path, f"the card has a malformed field ({error})") from None
        if not isinstance(card.layout_version, int) or not isinstance(card.test_stimuli, list):
            raise _bad(path, "layout_version must be an integer and test_stimuli a list")
        if not isinstance(card.loader, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in card.loader.values()
        ):
            raise _bad(path, "loader must map setting names to integers")
        if not isinstance(card.data_info, dict):
            raise _bad(path, "data_info must be an object")
        return card

    def to_json(self) -> str:
        """The card as indented JSON text (NaN is refused: cards stay valid JSON)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=False, allow_nan=False) + "\n"

    @classmethod
    def from_json(cls, text: str, *, path: str | None = None) -> DatasetCard:
        """Parse a card; :class:`~openretina_data.errors.LayoutError` naming ``path`` if it is malformed."""
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise _bad(path, f"the card is not valid JSON ({error})") from None
        return cls.from_dict(data, path=path)

    def stale_files(self, folder: str | os.PathLike[str]) -> list[str]:
        """Relative paths whose size or mtime differ from the card, or that are gone."""
        return list(self.changed_files(folder))

    def changed_files(self, folder: str | os.PathLike[str]) -> dict[str, FileFingerprint | None]:
        """``{relative path: fingerprint now}`` of the listed files that changed (None: gone)."""
        changed: dict[str, FileFingerprint | None] = {}
        for relative, expected in self.files.items():
            try:
                actual = FileFingerprint.of(Path(folder) / relative)
            except OSError:
                changed[relative] = None
                continue
            if actual != expected:
                changed[relative] = actual
        return changed


def _bad(path: str | None, message: str) -> LayoutError:
    return LayoutError(
        message,
        path=path,
        hint="Delete the card and run `openretina-data check` on the folder, or re-convert.",
    )


def read_card(folder: str | os.PathLike[str]) -> DatasetCard | None:
    """The card of the dataset in ``folder``, or ``None`` if it has none.

    Raises
    ------
    LayoutError
        The card exists but is unreadable, not JSON or malformed.
    """
    path = Path(folder) / CARD_NAME
    if not path.exists():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise _bad(os.fspath(path), f"the card cannot be read ({error})") from None
    return DatasetCard.from_json(text, path=os.fspath(path))


def fingerprint_files(root: Path) -> dict[str, FileFingerprint]:
    """Fingerprints of every file under ``root`` by relative POSIX path, except the card and hidden files."""
    prints = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and relative != CARD_NAME and not path.name.startswith("."):
            prints[relative] = FileFingerprint.of(path)
    return prints


def merge_for_append(
    existing: DatasetCard,
    new: DatasetCard,
    *,
    unit_given: bool,
    card_path: str | os.PathLike[str],
) -> DatasetCard:
    """The existing card, with this writer's provenance noted for the appended sessions.

    Raises :class:`LayoutError` naming ``card_path`` when the new sessions do not fit the
    dataset (layout version, frame rate, or an explicitly given response unit differ).
    """
    if existing.layout_version != LAYOUT_VERSION:
        raise LayoutError(
            f"cannot append to a layout v{existing.layout_version} dataset",
            path=card_path,
            hint="Convert into a new folder instead.",
        )
    if new.frame_rate_hz is not None and existing.frame_rate_hz not in (None, new.frame_rate_hz):
        raise LayoutError(
            f"frame rate {new.frame_rate_hz} Hz differs from the dataset's {existing.frame_rate_hz} Hz",
            path=card_path,
            hint="Resample to the dataset's frame rate, or convert into a new folder.",
        )
    if unit_given and new.response_unit != existing.response_unit:
        raise LayoutError(
            f"response unit {new.response_unit!r} differs from the dataset's {existing.response_unit!r}",
            path=card_path,
            hint="Convert the responses to the dataset's unit, or convert into a new folder.",
        )
    if existing.frame_rate_hz is None:
        existing.frame_rate_hz = new.frame_rate_hz
    existing.recipe_text = new.recipe_text or existing.recipe_text
    existing.recipe_sha256 = new.recipe_sha256 or existing.recipe_sha256
    return existing
