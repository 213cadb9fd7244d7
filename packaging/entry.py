"""The stand-alone app's one entry point: both executables run this script.

PyInstaller freezes this file into ``openretina-data`` (the command line) and
``openretina-data-wizard`` (the wizard); which one runs is decided by the executable's
own name, so the two share one analysis and one set of bundled files.

Two things a plain ``python`` does that a frozen executable must do itself:

* ``--jobs N`` converts sessions in *spawned* worker processes, which start this same
  executable; :func:`multiprocessing.freeze_support` turns such a start into the worker
  (and runs multiprocessing's resource tracker) instead of a second CLI.
* The wizard and ``inspect`` probe HDF5/MAT/NWB files in a child process started as
  ``sys.executable -c CODE ARGS`` (:mod:`openretina_data.sources.isolated`). Here that
  is this executable, so the probe child's code, and only that code, is run as
  ``python -c`` would run it; any other ``-c`` is refused.
"""

from __future__ import annotations

import multiprocessing
import sys
from pathlib import Path


def _probe_child(code: str, arguments: list[str]) -> int:
    """Run the isolated probe's child code with ``python -c``'s ``sys.argv``."""
    from openretina_data.sources import isolated

    if code != isolated._CHILD:
        print("error: this program runs no code given with -c", file=sys.stderr)
        return 2
    sys.argv = ["-c", *arguments]
    exec(compile(code, "<probe child>", "exec"), {"__name__": "__main__"})  # noqa: S102
    return 0


def main() -> int:
    multiprocessing.freeze_support()  # a spawned --jobs worker runs its task and exits here
    if len(sys.argv) >= 3 and sys.argv[1] == "-c":
        return _probe_child(sys.argv[2], sys.argv[3:])
    if Path(sys.executable).name.startswith("openretina-data-wizard"):
        from app.main import main as wizard
        from app.main import show_crashes_in_a_dialog

        show_crashes_in_a_dialog()  # every path of the wizard, --screenshots included
        return wizard()
    from openretina_data.cli import main as cli

    return cli()


if __name__ == "__main__":
    sys.exit(main())
