"""``openretina-data loader-check``: build a dataset's dataloaders and run one epoch."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from openretina_data.cli._arguments import non_negative_int, positive_int

EPILOG = """\
examples:
  openretina-data loader-check my_dataset
  openretina-data loader-check my_dataset --batch-size 32 --num-val-clips 10
  openretina-data loader-check openretina_made --test random_noise_3 --json

exit codes: 0 one epoch ran, 1 the data cannot be served (the message says why), 2 usage error
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "loader-check",
        help="build the PyTorch dataloaders of a dataset and time one epoch",
        description=(
            "Open a native dataset with memory-mapped stimuli, build openretina-style "
            "train/validation/test dataloaders for every session "
            "(openretina_data.base_dataloader.multiple_movies_dataloaders), run one epoch "
            "and print batches per split, batch shapes, time to the first training batch, "
            "training samples per second and peak memory (anonymous, and resident including "
            "memory-mapped pages). Test stimuli, normalisation and loader settings come from the dataset card "
            "unless given."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("directory", type=Path, help="the dataset folder")
    parser.add_argument(
        "--test",
        action="append",
        metavar="NAME",
        help="a test stimulus name (repeat for several); default: the card's test stimuli",
    )
    loader = parser.add_argument_group(
        "dataloader settings",
        "Default: the dataset card's (the recipe's `loader` section), else openretina's "
        "Data I/O example (batch 64, chunk 50, clip 90, 50 validation clips, seed 42).",
    )
    loader.add_argument("--batch-size", type=positive_int, help="samples per batch")
    loader.add_argument("--chunk-size", type=positive_int, help="frames per training sample")
    loader.add_argument(
        "--clip-length", type=positive_int, help="frames per clip the training stimuli are cut into"
    )
    loader.add_argument("--num-val-clips", type=positive_int, help="clips held out for validation")
    loader.add_argument("--seed", type=int, help="seed of the validation draw")
    parser.add_argument(
        "--norm-mean", type=float, help="stimulus mean to subtract (default: the card's)"
    )
    parser.add_argument(
        "--norm-std", type=float, help="stimulus std to divide by (default: the card's)"
    )
    parser.add_argument(
        "--num-workers", type=non_negative_int, default=0, help="DataLoader worker processes (0)"
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from openretina_data.loader_summary import format_summary, loader_summary

    summary = loader_summary(
        args.directory,
        test_names=args.test,
        norm_mean=args.norm_mean,
        norm_std=args.norm_std,
        num_workers=args.num_workers,
        train_chunk_size=args.chunk_size,
        batch_size=args.batch_size,
        clip_length=args.clip_length,
        num_val_clips=args.num_val_clips,
        seed=args.seed,
    )
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0
