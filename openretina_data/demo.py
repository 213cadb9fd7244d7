"""The headless main job of ``make run``: the bundled example, end to end.

What the wizard does on screen, done in a terminal: write the example raw recording
(:func:`openretina_data.example.create_example`), plan and convert its recipe, check
the dataset, and build its dataloaders for one epoch.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

from openretina_data.errors import OpenRetinaDataError


def run_headless(demo_dir: str | os.PathLike[str] = "demo", *, stream: TextIO | None = None) -> int:
    """Convert the bundled example into ``demo_dir/dataset``; returns an exit code.

    Re-running replaces the previous demo dataset (atomically, only once the new one
    is complete).
    """
    from openretina_data.cli._progress import ProgressPrinter
    from openretina_data.convert import convert
    from openretina_data.example import create_example
    from openretina_data.layout import check
    from openretina_data.loader_summary import format_summary, loader_summary
    from openretina_data.plan import plan
    from openretina_data.recipe import load_recipe

    out = stream if stream is not None else sys.stdout
    root = Path(demo_dir).resolve()
    try:
        recipe_path = create_example(root)
        out.write(f"example recording written to {root} (recipe: {recipe_path.name})\n")
        recipe = load_recipe(recipe_path)
        checked = plan(recipe, overwrite=True)
        for problem in checked.problems:
            out.write(f"  plan: {problem}\n")
        printer = ProgressPrinter(out)
        try:
            for step in convert(recipe, overwrite=True):
                printer.update(step.step, step.done, step.total, step.message)
        finally:
            printer.close()
        dataset = recipe.resolve(recipe.output)
        report = check(dataset)
        out.write(report.to_text() + "\n")
        if not report.ok:
            return 1
        summary = loader_summary(dataset)  # with the card's loader settings (the recipe's)
        out.write(format_summary(summary) + "\n")
    except OpenRetinaDataError as error:
        out.write(f"error: {error}\n")
        return 1
    out.write(f"dataset written to {dataset}\n")
    out.write(f"open it in the wizard: openretina-data-wizard {dataset}\n")
    return 0
