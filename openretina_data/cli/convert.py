"""``openretina-data convert``: run a recipe (or a published-dataset preset)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from openretina_data.cli._arguments import positive_int, unknown_session
from openretina_data.cli._progress import ProgressPrinter
from openretina_data.convert import convert
from openretina_data.plan import plan
from openretina_data.recipe import load_recipe
from openretina_data.timing.report import card_timing, timing_lines, timing_warnings

EPILOG = """\
examples:
  openretina-data convert recipe.yaml
  openretina-data convert recipe.yaml --jobs 4
  openretina-data convert recipe.yaml --session 2024-05-02 --append   # one SLURM array job
  openretina-data convert recipe.yaml --dry-run                       # same as `plan`
  openretina-data convert --preset maheswaranathan_2023 neural_code_data/ out/

On a cluster, every job of an array may run `convert RECIPE --session NAME --append`,
also on a fresh output: the first job to take the dataset's lock creates the dataset
(shared stimuli and card), the others wait for the lock and add their sessions. Jobs
convert in parallel and queue only to add their finished files. The lock file
(.<dataset>.lock) names the host and process holding it: a lock of a killed job on
this host is taken over at once, one from another host only after 24 hours (delete
it by hand sooner if that job is gone).

The dataset is written into a temporary folder beside the target and renamed into
place when complete: Ctrl-C, an error or a killed process leaves the target as it was.

exit codes: 0 converted, 1 the recipe or the data has problems, 2 usage error,
130 interrupted (nothing half-written is left)
"""


def _preset_lines() -> str:
    from openretina_data.datasets import PRESETS

    return "\n".join(f"  {name}: {preset.title}" for name, preset in PRESETS.items())


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "convert",
        help="convert recordings into the native layout with a recipe (or a preset)",
        description=(
            "Check the recipe (like `plan`), then stream every source in time-slabs into "
            "the native layout: stimuli/<stim>.npy and one <session>.hdf5 per session, "
            "with a dataset card holding the recipe, its SHA-256 and the source checksums. "
            "With --preset NAME ARCHIVE_DIR OUT, convert a downloaded published dataset."
        ),
        epilog=EPILOG + "\npresets (--preset NAME):\n" + _preset_lines(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="RECIPE | ARCHIVE_DIR OUT",
        help="the recipe file; with --preset, the archive folder and the output folder",
    )
    from openretina_data.datasets import PRESETS

    parser.add_argument(
        "--preset",
        metavar="NAME",
        choices=list(PRESETS),  # a wrong name is a usage error (exit 2) listing the presets
        help="a published-dataset preset instead of a recipe (listed below)",
    )
    parser.add_argument("--session", metavar="NAME", help="convert only this session")
    parser.add_argument(
        "--jobs",
        type=positive_int,
        default=1,
        metavar="N",
        help="sessions converted in parallel (default 1)",
    )
    parser.add_argument(
        "--append",
        action="store_true",
        help="add sessions to the dataset (created by the first job when it does not exist yet)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing dataset when done"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="only check the recipe (like `plan`)"
    )
    parser.add_argument("--json", action="store_true", help="print the result (or plan) as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.preset is not None:
        return _run_preset(args)
    if len(args.paths) != 1:
        print(
            "error: give exactly one RECIPE (or use --preset NAME ARCHIVE_DIR OUT)", file=sys.stderr
        )
        return 2
    recipe = load_recipe(args.paths[0])
    unknown = unknown_session(recipe, args.session)
    if unknown is not None:
        print(unknown, file=sys.stderr)
        return 2
    if args.dry_run:
        result = plan(recipe, overwrite=args.overwrite, append=args.append, session=args.session)
        print(json.dumps(result.to_dict(), indent=2) if args.json else result.summary())
        return 0 if result.ok else 1
    printer = ProgressPrinter(quiet=args.quiet or args.json)
    last = None
    try:
        for last in convert(
            recipe,
            session=args.session,
            jobs=args.jobs,
            append=args.append,
            overwrite=args.overwrite,
        ):
            printer.update(last.step, last.done, last.total, last.message)
    finally:
        printer.close()
    output = recipe.resolve(recipe.output)
    reports = card_timing(output)
    if args.json:
        print(
            json.dumps(
                {
                    "ok": True,
                    "output": str(output),
                    "message": last.message if last else "",
                    "timing": {name: [r.as_dict() for r in rs] for name, rs in reports.items()},
                    "warnings": timing_warnings(reports),
                }
            )
        )
    else:
        for line in timing_lines(reports):
            print(line)
        print(f"wrote {output}\nnext: openretina-data check {output}")
    return 0


def _run_preset(args: argparse.Namespace) -> int:
    from openretina_data.datasets import get_preset

    if len(args.paths) != 2:
        print("error: --preset needs ARCHIVE_DIR and OUT", file=sys.stderr)
        return 2
    archive, out = args.paths
    preset = get_preset(args.preset)
    printer = ProgressPrinter(quiet=args.quiet or args.json)
    try:
        for step in preset.convert(archive, out, overwrite=args.overwrite):
            printer.update(args.preset, step.done, step.total, step.message)
    finally:
        printer.close()
    if args.json:
        print(json.dumps({"ok": True, "output": str(out), "preset": args.preset}))
    else:
        print(f"wrote {out}\nnext: openretina-data check {out}")
    return 0
