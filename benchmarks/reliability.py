"""Print the README reliability table: the bad-input corpus through every entry point.

Runs :func:`openretina_data.testing.reliability.run_corpus` (every case of
:mod:`openretina_data.testing.corrupt` through probe, the wizard's add-file path,
inspect/plan/convert/check on the command line and in Python, the loaders and the
dataloaders) and prints a markdown table with the headline numbers. Exits 1 if any
run was not clean. The corpus is generated in a temporary folder and deleted.

    python benchmarks/reliability.py               # the whole corpus (about 15 s)
    python benchmarks/reliability.py --cases       # one row per case
    python benchmarks/reliability.py --only npy-zero-length yaml-billion-laughs
"""

from __future__ import annotations

import argparse
import sys

from app.corpus_entry import wizard_add_file
from openretina_data.testing.corrupt import WIZARD
from openretina_data.testing.reliability import entry_table, markdown_table, run_corpus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="run only these case names")
    parser.add_argument(
        "--cases", action="store_true", help="print one row per case instead of per entry point"
    )
    args = parser.parse_args(argv)
    outcomes = run_corpus(extra={WIZARD: wizard_add_file}, only=args.only)
    print(markdown_table(outcomes) if args.cases else entry_table(outcomes))
    bad = [o for o in outcomes if not o.clean]
    for outcome in bad:
        print(f"\nNOT CLEAN: {outcome}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
