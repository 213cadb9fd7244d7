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
import re
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


def qt_window_problem() -> str | None:
    """Why Qt could not open a window on this X11 display, or ``None`` if it can.

    Qt aborts the whole process when its platform plugin fails to load, so the system
    libraries the xcb plugin needs are looked for first (PySide6 wheels do not ship
    them; minimal Linux installs often lack ``libxcb-cursor0``).
    """
    if not sys.platform.startswith("linux") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    if os.environ.get("QT_QPA_PLATFORM", "xcb") != "xcb":
        return None
    import ctypes
    import ctypes.util

    import PySide6

    plugin = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    if plugin.exists():
        try:
            ctypes.CDLL(str(plugin))
        except OSError as error:
            names = re.findall(r"lib[\w.+-]+\.so[\w.]*", str(error))
            missing = next((n for n in names if n != plugin.name), str(error))
            return f"a system library Qt needs is missing: {missing}"
    if ctypes.util.find_library("xcb-cursor") is None:
        return "a system library Qt needs is missing: libxcb-cursor.so.0"
    return None


QT_LIBRARIES_HINT = (
    "On Debian/Ubuntu: sudo apt install libxcb-cursor0 libxcb-icccm4 libxcb-image0 "
    "libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1 "
    "libxkbcommon-x11-0 libegl1"
)


def show_crashes_in_a_dialog() -> None:
    """An exception that is not ours, anywhere in the wizard, becomes a message, never a traceback.

    Installed as ``sys.excepthook`` (Qt hands exceptions raised in slots to it): the
    message of :func:`openretina_data.crash.explain` (a bug in openretina-data, and the
    path of the crash report it wrote) goes to stderr and, when a window can be shown,
    into a dialog, since someone who started the app from a menu never sees a terminal.
    """

    def hook(kind: type[BaseException], error: BaseException, trace: object) -> None:
        if isinstance(error, KeyboardInterrupt):
            sys.__excepthook__(kind, error, error.__traceback__)
            return
        from openretina_data.crash import explain

        message = explain(error, sys.argv[1:])
        print(message, file=sys.stderr)
        if not display_available():
            return
        from PySide6.QtWidgets import QApplication, QMessageBox

        if QApplication.instance() is not None:
            QMessageBox.critical(None, "openretina-data: unexpected error", message)

    sys.excepthook = hook


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
    if not display_available():
        print(
            "error: no display found: the wizard needs a screen.\n"
            "  hint: run it on a desktop session (or over ssh -X); without one, use "
            "`openretina-data` (see `openretina-data --help`) or `--example` for the "
            "headless example."
        )
        return 1
    problem = qt_window_problem()
    if problem is not None:
        if not args.example:
            print(
                f"error: the wizard cannot open a window: {problem}.\n  hint: {QT_LIBRARIES_HINT}"
            )
            return 1
        print(
            f"The wizard cannot open a window ({problem}): running the example headlessly "
            f"instead. {QT_LIBRARIES_HINT}"
        )
        from openretina_data.demo import run_headless

        return run_headless(args.demo_dir)

    if args.dataset:  # refused before any window opens
        from openretina_data.layout import dataset_folder_problem

        missing = dataset_folder_problem(args.dataset)
        if missing is not None:
            print(f"error: {missing}", file=sys.stderr)
            return 1

    show_crashes_in_a_dialog()
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
        if viewer is None:  # removed between the check above and now
            return 1
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
