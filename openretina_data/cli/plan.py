"""``openretina-data plan RECIPE``: check a recipe against its sources; write nothing."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from openretina_data.cli._arguments import unknown_session
from openretina_data.plan import plan
from openretina_data.recipe import load_recipe

EPILOG = """\
examples:
  openretina-data plan recipe.yaml
  openretina-data plan recipe.yaml --json > plan.json

exit codes: 0 no errors (warnings allowed), 1 the plan has errors, 2 usage error
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="check a conversion recipe and its sources without writing anything",
        description=(
            "Open every source of a recipe lazily (headers only) and check everything a "
            "conversion needs: files exist and are readable, keys exist, axis orders fit "
            "the shapes, frame counts of stimuli, triggers and responses agree, names are "
            "legal and unique, the output folder is free. Lists ALL problems at once, each "
            "with a hint, and a summary: sessions x stimuli, neurons, frames, bytes to write."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("recipe", type=Path, help="the recipe file (.yaml, .yml or .json)")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON (for scripts)")
    parser.add_argument(
        "--overwrite", action="store_true", help="plan as if convert ran with --overwrite"
    )
    parser.add_argument(
        "--append", action="store_true", help="plan as if convert ran with --append"
    )
    parser.add_argument("--session", metavar="NAME", help="check only this session")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    recipe = load_recipe(args.recipe)
    unknown = unknown_session(recipe, args.session)
    if unknown is not None:
        print(unknown, file=sys.stderr)
        return 2
    result = plan(recipe, overwrite=args.overwrite, append=args.append, session=args.session)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result.summary())
    return 0 if result.ok else 1
