"""``openretina-data export-config DIR``: an openretina hydra data config for a dataset."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from openretina_data._card_data_info import card_data_info
from openretina_data.errors import LayoutError
from openretina_data.layout.card import read_card
from openretina_data.layout.names import STIMULI_DIR
from openretina_data.layout.reading import require_dataset_folder

EPILOG = """\
examples:
  openretina-data export-config my_dataset                      # print it
  openretina-data export-config my_dataset -o configs/data_io/my_dataset.yaml
  openretina-data export-config my_dataset --dataloader -o configs/dataloader/my_dataset.yaml

Then train with openretina, e.g.  openretina train data_io=my_dataset dataloader=my_dataset ...

exit codes: 0 written, 1 the dataset lacks what the config needs, 2 usage error
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "export-config",
        help="write an openretina hydra data_io config (hdf5 reader) for a dataset",
        description=(
            "Write an openretina hydra `data_io` config in the style of its hdf5 reader "
            "configs: stimuli and responses loaded by openretina.data_io.h5_dataset_reader "
            "from this folder, with the test stimulus names, the stimulus size (channels, "
            "height, width), the normalisation (norm_mean, norm_std) and `data_info` "
            "(response_rate_hz and stimulus_rate_hz from the measured frame rate; "
            "stimulus_class and retina_pixel_size_um when the recipe knows them) filled in "
            "from the dataset card."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("directory", type=Path, help="the dataset folder")
    parser.add_argument("-o", "--output", type=Path, help="write to this file instead of printing")
    parser.add_argument(
        "--dataloader",
        action="store_true",
        help="write the `dataloader` config instead (multiple_movies_dataloaders with the "
        "card's loader settings: batch, chunk, clip length, validation clips, seed)",
    )
    parser.set_defaults(func=run)


def data_io_config(folder: Path) -> dict[str, Any]:
    """The config as a dict (paths absolute)."""
    card = read_card(folder)
    if card is None:
        raise LayoutError(
            "the dataset has no card (openretina_data.json)",
            path=folder,
            hint="Run `openretina-data check` on it first, or convert it with openretina-data.",
        )
    shapes: list[list[int]] = [
        list(info["shape"]) for info in card.stimuli.values() if info.get("shape")
    ]
    if not shapes:
        shapes = [
            list(np.load(p, mmap_mode="r").shape)
            for p in sorted((folder / STIMULI_DIR).glob("*.npy"))
        ]
    if not shapes:
        raise LayoutError(
            "the dataset has no stimuli", path=folder, hint="Convert the stimuli first."
        )
    channels, _, height, width = (int(n) for n in shapes[0])
    base = str(folder.resolve())
    mean = 0.0 if card.norm_mean is None else float(card.norm_mean)
    std = 1.0 if card.norm_std is None else float(card.norm_std)
    return {
        "data_info": card_data_info(card),
        "color_channels": channels,
        "video_height": height,
        "video_width": width,
        "test_names": list(card.test_stimuli),
        "stimuli": {
            "_target_": "openretina.data_io.h5_dataset_reader.load_stimuli",
            "_convert_": "object",
            "base_data_path": base,
            "norm_mean": mean,
            "norm_std": std,
            "test_names": "${data_io.test_names}",
            "stimulus_size": [
                "${data_io.color_channels}",
                "${data_io.video_height}",
                "${data_io.video_width}",
            ],
        },
        "responses": {
            "_target_": "openretina.data_io.h5_dataset_reader.load_responses",
            "_convert_": "object",
            "base_data_path": base,
            "test_names": "${data_io.test_names}",
        },
    }


def dataloader_config(folder: Path) -> dict[str, Any]:
    """openretina's ``dataloader`` config group for ``folder``: the card's loader settings
    (the recipe's ``loader`` section), else openretina's Data I/O example values."""
    from openretina_data.loader_summary import loader_settings

    settings, _ = loader_settings(folder)
    return {
        "_target_": "openretina.data_io.base_dataloader.multiple_movies_dataloaders",
        "_convert_": "object",
        "batch_size": settings["batch_size"],
        "train_chunk_size": settings["train_chunk_size"],
        "clip_length": settings["clip_length"],
        "num_val_clips": settings["num_val_clips"],
        "seed": settings["seed"],
        "allow_over_boundaries": True,
    }


def run(args: argparse.Namespace) -> int:
    folder: Path = args.directory
    require_dataset_folder(folder)
    group, make = (
        ("dataloader", dataloader_config) if args.dataloader else ("data_io", data_io_config)
    )
    header = f"# openretina {group} config for {folder.resolve()}, written by openretina-data\n"
    config = make(folder)
    if config.get("data_info", {}).get("stimulus_rate_hz", 0) is None:
        note = (
            "the dataset's frame rate is unknown (its card has none), so data_info's "
            "response_rate_hz and stimulus_rate_hz are null rather than a guess"
        )
        header += f"# {note}\n"
        print(f"note: {note}", file=sys.stderr)
    text = header + yaml.safe_dump(config, sort_keys=False)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        print(text, end="")
    return 0
