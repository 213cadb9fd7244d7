"""``openretina-data create-data``: a seeded synthetic dataset, like ``openretina create-data``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from openretina_data.cli._arguments import non_negative_int, positive_int
from openretina_data.layout import CARD_NAME, STIMULI_DIR, read_card
from openretina_data.testing.synthetic import (
    DEFAULT_CLIP_LENGTH,
    DEFAULT_HEIGHT,
    DEFAULT_WIDTH,
    create_data,
)

EPILOG = """\
example:
  openretina-data create-data demo --num-sessions 3 --seed 1
  openretina-data check demo

Same flags and defaults as `openretina create-data` (openretina 1.1.1); the output
is reproducible: the same --seed and flags give identical arrays.

exit codes: 0 written, 1 the dataset could not be written (the message says why), 2 usage error
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "create-data",
        help="write a synthetic dataset (stimuli + sessions) for trying things out",
        description=(
            "Write a synthetic dataset in openretina's native layout: white-noise movies in "
            "stimuli/random_noise_<i>.npy (channels, time, height, width) and one "
            "session_<j>.hdf5 per session with responses_random_noise_<i> (neurons, time) of "
            "model neurons, session_info/celltypes, and a dataset card. The last stimulus "
            "is marked as the test stimulus in the card."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "directory", type=Path, help="dataset folder to create (must not exist or be empty)"
    )
    parser.add_argument(
        "--num-colors", type=positive_int, default=3, help="colour channels per movie (default: 3)"
    )
    parser.add_argument(
        "--num-stimuli", type=positive_int, default=4, help="number of stimulus movies (default: 4)"
    )
    parser.add_argument(
        "--num-sessions", type=positive_int, default=2, help="number of sessions (default: 2)"
    )
    parser.add_argument(
        "--clip-length",
        type=positive_int,
        default=DEFAULT_CLIP_LENGTH,
        help="without --frames, stimulus i has (70 + i) * clip-length frames, as in openretina (default: 75)",
    )
    parser.add_argument(
        "--seed",
        type=non_negative_int,
        default=0,
        help="random seed; same seed, same data (default: 0)",
    )
    parser.add_argument(
        "--frames",
        type=positive_int,
        default=None,
        help="frames of every stimulus (default: openretina's lengths)",
    )
    parser.add_argument(
        "--height",
        type=positive_int,
        default=DEFAULT_HEIGHT,
        help="frame height in pixels (default: 16)",
    )
    parser.add_argument(
        "--width",
        type=positive_int,
        default=DEFAULT_WIDTH,
        help="frame width in pixels (default: 8)",
    )
    parser.add_argument(
        "--dtype",
        choices=("float32", "float64", "uint8"),
        default="float32",
        help="stimulus dtype (default: float32); responses are always float32",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing dataset in DIRECTORY"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    path = create_data(
        args.directory,
        num_colors=args.num_colors,
        num_stimuli=args.num_stimuli,
        num_sessions=args.num_sessions,
        seed=args.seed,
        frames=args.frames,
        height=args.height,
        width=args.width,
        dtype=args.dtype,
        clip_length=args.clip_length,
        overwrite=args.overwrite,
    )
    print(describe(path, seed=args.seed))
    return 0


def describe(path: Path, *, seed: int | None = None) -> str:
    """A short tree of what a freshly written dataset holds (from its card)."""
    card = read_card(path)
    lines = [f"wrote {path}" + (f" (seed {seed})" if seed is not None else "")]
    if card is None:
        return lines[0]
    lines.append(f"  {STIMULI_DIR}/")
    for name, info in card.stimuli.items():
        shape = "(" + ", ".join(str(s) for s in info["shape"]) + ")"
        lines.append(f"    {name + '.npy':<28} {shape:<22} {info['dtype']}")
    for name, info in card.sessions.items():
        stimuli = info["stimuli"]
        lines.append(
            f"  {name + '.hdf5':<30} {info['neurons']} neurons; responses to {len(stimuli)} stimuli; session_info"
        )
    tests = ", ".join(card.test_stimuli) or "none"
    lines.append(f"  {CARD_NAME:<30} test stimuli: {tests}; frame rate {card.frame_rate_hz} Hz")
    return "\n".join(lines)
