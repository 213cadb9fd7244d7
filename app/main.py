"""``openretina-data-wizard`` / ``make run``: the import wizard, the viewer, or the headless demo.

openretina-data-wizard                  the wizard
openretina-data-wizard --example        the wizard on the bundled example recording
                                        (headless conversion when there is no display)
openretina-data-wizard DATASET_DIR      the viewer on a converted dataset
openretina-data-wizard --screenshots D  one PNG per page of the example, and the viewer
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path


def display_available() -> bool:
    """True when Qt can open a real window here (X11/Wayland, macOS, Windows)."""
    if os.environ.get("QT_QPA_PLATFORM", "") in {"offscreen", "minimal"}:
        return False
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openretina-data-wizard",
        description="Import retina recordings into openretina's native layout, or view a dataset.",
        epilog="Examples:\n  openretina-data-wizard --example\n  openretina-data-wizard my_dataset/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dataset", nargs="?", help="open this dataset folder in the viewer")
    parser.add_argument(
        "--example", action="store_true", help="open on the bundled example recording"
    )
    parser.add_argument(
        "--demo-dir", default="demo", help="where the example recording is written (default: demo)"
    )
    parser.add_argument(
        "--screenshots",
        metavar="DIR",
        help="save one PNG per page of the example into DIR, then exit",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    if args.screenshots:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from app.screenshots import take_screenshots

        for path in take_screenshots(Path(args.screenshots)):
            print(path)
        return 0

    if args.example and not display_available():
        print("No display found: running the example headlessly instead of opening the wizard.")
        from openretina_data.demo import run_headless

        return run_headless(args.demo_dir)

    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from app.settings import open_settings
    from app.wizard import ImportWizard, app_icon

    # HiDPI: Qt 6 scales by the screen's factor; pass fractional factors (125 %, 150 %) through.
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("openretina-data")
    app.setWindowIcon(app_icon())
    wizard = ImportWizard(open_settings())
    if args.dataset:
        viewer = wizard.open_viewer(args.dataset)
        viewer.show()
        return int(app.exec())
    if args.example:
        from openretina_data.example import create_example

        recipe_path = create_example(Path(args.demo_dir))
        wizard.open_recipe(recipe_path)
    wizard.show()
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
