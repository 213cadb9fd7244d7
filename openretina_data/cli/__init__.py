"""The ``openretina-data`` command.

Each subcommand lives in its own module in this package and exposes
``register(subparsers) -> None``; the module adds its parser and sets
``func=<handler(args) -> int>`` as a default. Add a module name to ``COMMANDS``
to make it appear.

Exit codes (all subcommands):
    0  success
    1  the data has problems (``check`` found some, ``plan`` found errors, a
       conversion failed on bad input) — the message says what and where
    2  usage error (bad arguments, a path that does not exist)
    130 interrupted (Ctrl-C); nothing half-written is left behind
    141 the reader of the output went away (`... | head`)
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence

from openretina_data import __version__
from openretina_data.errors import OpenRetinaDataError, SourceNotFoundError

# Module names under openretina_data.cli, in the order `--help` lists them.
COMMANDS: tuple[str, ...] = (
    "create_data",
    "check",
    "create_example",
    "plan",
    "convert",
    "recipe",
    "export_config",
    "loader_check",
    "inspect",
)

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, like other command-line tools


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openretina-data",
        description=(
            "Convert retina recordings into openretina's native HDF5 layout, "
            "check datasets and serve them as PyTorch dataloaders."
        ),
        epilog="Exit codes: 0 ok, 1 problems in the data, 2 usage error, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"openretina_data.cli.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (console script entry point).

    Everything runs inside the one handler below, imports included: Ctrl-C (or
    SIGTERM) at any moment exits 130 without a traceback, one of our errors prints
    as it is, and any other exception is reported by :func:`openretina_data.crash.explain`
    (a bug: the message names what was being processed and where the crash report is).
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    restore = _handle_signals()
    try:
        parser = build_parser()
        args = parser.parse_args(arguments)
        if not hasattr(args, "func"):
            parser.print_help()
            return EXIT_USAGE
        return int(args.func(args))
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly, as shell tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("interrupted; nothing half-written was left behind", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SourceNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OpenRetinaDataError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_PROBLEMS
    except Exception as error:  # the last line of defence: never a raw traceback  # noqa: BLE001
        from openretina_data.crash import explain

        print(explain(error, arguments), file=sys.stderr)
        return EXIT_PROBLEMS
    finally:
        restore()


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM (a scheduler's cancel) cleans up like Ctrl-C


def _handle_signals() -> Callable[[], None]:
    """Ctrl-C and SIGTERM raise KeyboardInterrupt from here on; returns the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # signals reach only the main thread (the wizard's workers)
    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
        signal.SIGTERM: signal.signal(signal.SIGTERM, _terminate),
    }

    def restore() -> None:
        for number, handler in previous.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)

    return restore


def run() -> None:
    sys.exit(main())
