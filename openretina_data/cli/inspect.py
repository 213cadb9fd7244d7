"""``openretina-data inspect``: show what a file or folder holds, as the probe sees it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from openretina_data.errors import SourceNotFoundError
from openretina_data.sources import (
    SourceInfo,
    formats_text,
    probe_folder_guarded,
    probe_guarded,
    readers,
)
from openretina_data.sources.folder import FolderProbe, is_format_folder

EPILOG = """\
examples:
  openretina-data inspect recording.h5
  openretina-data inspect kilosort_output/            # a Kilosort/Phy folder
  openretina-data inspect raw_data/ --json > probe.json   # every file of a folder

exit codes: 0 read, 1 a file is unreadable or no format fits, 2 usage error
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "inspect",
        help="list the arrays in a recording file or folder, with guessed roles",
        description=(
            "Probe a file or folder without reading its data and list every variable: key, "
            "shape, dtype, the role it probably plays (stimulus, binned_responses, "
            "spike_times, traces, triggers, cell_metadata, timestamps) with a confidence, a "
            "unit guess and why. A folder that is itself a format (Kilosort/Phy, suite2p "
            "plane, the Maheswaranathan archive) is probed as one source; any other folder "
            "has each of its files probed.\n\nFormats read:\n" + formats_text()
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", type=Path, help="the file or folder to inspect")
    parser.add_argument(
        "--json", action="store_true", help="print what the probe found as JSON (for scripts)"
    )
    parser.add_argument(
        "--format",
        choices=[r.name for r in readers()],
        default=None,
        help="read with this reader instead of detecting the format",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="stop probing a file after this long (HDF5, MAT and NWB files are probed in a "
        "separate process: a damaged one that hangs or crashes its library is reported, "
        "not fatal; default: %(default)s)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    path: Path = args.path
    if not path.exists():
        raise SourceNotFoundError(
            "no such file or folder", path=path, hint="Check the path and try again."
        )
    if path.is_dir() and args.format is None and not is_format_folder(path):
        found = probe_folder_guarded(path, timeout_s=args.timeout)
        if args.json:
            print(json.dumps(found.to_dict(), indent=2))
        else:
            print(_folder_text(found))
        return 1 if found.errors or not found.sources else 0
    info = probe_guarded(path, args.format, timeout_s=args.timeout)
    print(json.dumps(info.to_dict(), indent=2) if args.json else describe(info))
    return 0


def describe(info: SourceInfo) -> str:
    """A readable table of one probe: one line per variable, then attributes and notes."""
    lines = [f"{info.path}  [{info.format}]"]
    rows = [("key", "shape", "dtype", "role (confidence)", "unit", "why")]
    for v in info.variables:
        role = f"{v.role} ({v.confidence:.2f})"
        rows.append((v.key, str(v.shape), v.dtype, role, v.unit or "-", v.reason))
    widths = [min(max(len(r[i]) for r in rows), 48) for i in range(5)]
    for row in rows:
        cells = [c.ljust(w) for c, w in zip(row[:5], widths, strict=True)]
        lines.append("  " + "  ".join(cells) + "  " + row[5])
    if not info.variables:
        lines.append("  (no variables)")
    for key, value in info.attrs.items():
        text = repr(value)
        lines.append(f"  attr {key} = {text if len(text) < 100 else text[:97] + '...'}")
    lines.extend(f"  note: {note}" for note in info.notes)
    return "\n".join(lines)


def _folder_text(found: FolderProbe) -> str:
    parts = [describe(info) for info in found.sources]
    parts.extend(f"{name}  [error] {error}" for name, error in found.errors.items())
    if found.skipped:
        parts.append("skipped (not a format we read): " + ", ".join(found.skipped))
    if not parts:
        parts.append(f"{found.folder}: nothing to read")
    return "\n\n".join(parts)
