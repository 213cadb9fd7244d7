"""``openretina-data recipe DIR``: print the recipe that made a dataset."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from openretina_data.errors import LayoutError
from openretina_data.layout.card import read_card
from openretina_data.layout.reading import require_dataset_folder

EPILOG = """\
examples:
  openretina-data recipe my_dataset
  openretina-data recipe my_dataset -o recipe.yaml   # re-run it later with `convert`

exit codes: 0 printed, 1 the dataset has no recipe, 2 usage error
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "recipe",
        help="print the recipe that made a dataset",
        description=(
            "Print the conversion recipe stored in a dataset's card (openretina_data.json), "
            "with its SHA-256. Saved to a file, it re-runs the same conversion."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("directory", type=Path, help="the dataset folder")
    parser.add_argument("-o", "--output", type=Path, help="write the recipe to this file instead")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    folder: Path = args.directory
    require_dataset_folder(folder)
    card = read_card(folder)
    if card is None or not card.recipe_text:
        raise LayoutError(
            "this dataset carries no recipe",
            path=folder,
            hint="It was not made by `openretina-data convert` (or its card was removed).",
        )
    if args.output is not None:
        args.output.write_text(card.recipe_text, encoding="utf-8")
        print(f"wrote {args.output} (sha256 {card.recipe_sha256})")
    else:
        print(f"# recipe sha256: {card.recipe_sha256}")
        recipe_folder = card.extra.get("recipe_folder")
        if recipe_folder:
            print(f"# its relative paths are relative to: {recipe_folder}")
        print(card.recipe_text, end="" if card.recipe_text.endswith("\n") else "\n")
    return 0
