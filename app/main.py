"""``openretina-data-wizard`` / ``make run``: the import wizard, or its headless path.

Placeholder until the wizard issue lands: opens a window that says what is coming.
With ``--example`` and no display, says so in one line and runs the headless demo.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence


def display_available() -> bool:
    """True when Qt can open a real window here (X11/Wayland, macOS, Windows)."""
    if os.environ.get("QT_QPA_PLATFORM", "") in {"offscreen", "minimal"}:
        return False
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="openretina-data-wizard",
        description="Import retina recordings into openretina's native layout.",
    )
    parser.add_argument("--example", action="store_true", help="open on the bundled example")
    parser.add_argument("--demo-dir", default="demo", help="where the headless example is written")
    args = parser.parse_args(argv)

    if args.example and not display_available():
        print("No display found: running the example headlessly instead of opening the wizard.")
        from openretina_data.demo import run_headless

        return run_headless(args.demo_dir)

    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication.instance() or QApplication(sys.argv[:1])
    label = QLabel("openretina-data wizard — coming soon.\nUse `openretina-data --help` meanwhile.")
    label.setWindowTitle("openretina-data")
    label.resize(480, 160)
    label.show()
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
