"""``openretina-data check``: list every problem of a dataset folder, each with its fix."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from openretina_data.layout import check, require_dataset_folder

EPILOG = """\
examples:
  openretina-data check my_dataset
  openretina-data check my_dataset --json > report.json

exit codes: 0 valid (warnings allowed), 1 problems found, 2 usage error
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check",
        help="check a dataset folder against the native layout and list every problem",
        description=(
            "Check a dataset folder (stimuli/<stim>.npy + <session>.hdf5, optionally "
            "openretina_data.json) and list every problem at once, each with a one-sentence "
            "fix: missing or unknown stimuli, length mismatches, shapes, dtypes, NaN/Inf, "
            "duplicate session names, unreadable files, a stale dataset card. Arrays are read "
            "in bounded chunks; datasets made by openretina itself are accepted."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("directory", type=Path, help="the dataset folder to check")
    parser.add_argument(
        "--json", action="store_true", help="print the report as JSON (for scripts)"
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="treat the timing report's warnings (held or interpolated frames, ignored "
        "duplicate triggers) as errors",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    folder: Path = args.directory
    require_dataset_folder(folder)
    report = check(folder, strict=args.strict)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.to_text())
    return 0 if report.ok else 1
