"""The dataset card's part of ``check``: is the card readable, and does it still fit the files."""

from __future__ import annotations

from pathlib import Path

from openretina_data.errors import LayoutError
from openretina_data.layout.card import DatasetCard, read_card
from openretina_data.layout.check_session import SessionContents
from openretina_data.layout.names import CARD_NAME, LAYOUT_VERSION, RESERVED_TEST_NAMES, STIMULI_DIR
from openretina_data.layout.report import Report


def check_card_file(root: Path, report: Report) -> DatasetCard | None:
    """Read ``root``'s card into ``report``'s terms: missing is an info, unreadable or too new an error."""
    if not (root / CARD_NAME).exists():
        report.add(
            "info",
            "card-missing",
            f"no dataset card ({CARD_NAME})",
            "Nothing needs doing for datasets made elsewhere; test stimuli must then be named when loading.",
        )
        return None
    try:
        card = read_card(root)
    except LayoutError as error:
        report.add("error", "card-invalid", error.message, error.hint, file=CARD_NAME)
        return None
    if card is not None and card.layout_version > LAYOUT_VERSION:
        report.add(
            "error",
            "card-invalid",
            f"the card says layout v{card.layout_version}; this version reads v{LAYOUT_VERSION}",
            "Update openretina-data.",
            file=CARD_NAME,
        )
    return card


def check_card(
    root: Path,
    report: Report,
    card: DatasetCard,
    shared: dict[str, tuple[int, ...]],
    contents: dict[str, SessionContents],
) -> None:
    """Whether ``card`` still describes ``root``: file fingerprints, unlisted files, test stimuli.

    Parameters
    ----------
    shared
        Shapes of the readable ``stimuli/*.npy`` by stimulus name.
    contents
        What :func:`~openretina_data.layout.check_session.check_session` found, by session file.
    """
    fix = "Re-run the conversion, or delete the card if the files were changed on purpose."
    touched: list[str] = []
    for relative, actual in card.changed_files(root).items():
        expected = card.files[relative]
        if actual is None:
            report.add(
                "error", "card-stale", "a file listed in the card is missing", fix, file=relative
            )
        elif actual.size != expected.size:
            report.add(
                "error",
                "card-stale",
                f"file size {actual.size} differs from the card's {expected.size}",
                fix,
                file=relative,
            )
        elif actual.mtime_ns != expected.mtime_ns:
            touched.append(relative)
    if touched:
        # A copy (cp -r, a download) changes every mtime: one warning, not one per file.
        report.add(
            "warning",
            "card-stale",
            f"{len(touched)} file(s) changed modification time since the card was written"
            + (
                ""
                if len(touched) == 1
                else f": {', '.join(touched[:3])}{' ...' if len(touched) > 3 else ''}"
            ),
            "Nothing is wrong if the dataset was copied; loaders re-check such files (re-convert to refresh the card).",
            file=touched[0] if len(touched) == 1 else None,
        )
    present = [f"{STIMULI_DIR}/{n}.npy" for n in shared] + list(contents)
    for relative in sorted(set(present) - set(card.files)):
        report.add(
            "warning",
            "card-unlisted-file",
            "file is not listed in the dataset card",
            "Re-convert, or append sessions with openretina-data so the card stays complete.",
            file=relative,
        )
    known = set(shared) | {m for c in contents.values() for m in c.movies}
    for name in card.test_stimuli:
        if name.casefold() in RESERVED_TEST_NAMES:
            report.add(
                "error",
                "reserved-name",
                f"test stimulus {name!r} has the name of a data split",
                "Rename the stimulus; 'train' and 'validation' are split names.",
                file=CARD_NAME,
            )
        elif name not in known:
            report.add(
                "error",
                "card-unknown-test-stimulus",
                f"the card names test stimulus {name!r}, which is not in the dataset",
                "Fix test_stimuli in the card or add the stimulus.",
                file=CARD_NAME,
            )
