"""``openretina-data create-example DIR``: a small raw recording plus its recipe."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from openretina_data.example import create_example

EPILOG = """\
examples:
  openretina-data create-example demo
  openretina-data plan demo/recipe.yaml
  openretina-data convert demo/recipe.yaml
  openretina-data check demo/dataset

exit codes: 0 written, 2 usage error
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "create-example",
        help="write a small realistic raw recording and a recipe that converts it",
        description=(
            "Write what a lab has after an experiment, for two sessions: Kilosort/Phy spike "
            "sorting folders, a TTL frame-trigger channel (one frame dropped in session_02), "
            "a training movie as TIFF, a test movie as .npy shown three times, and "
            "recipe.yaml that converts all of it with `openretina-data convert`."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("directory", type=Path, help="folder to write into (created if missing)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    recipe = create_example(args.directory, seed=args.seed)
    print(f"wrote {recipe}\nnext: openretina-data convert {recipe}")
    return 0
