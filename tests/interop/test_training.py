"""A model learns from our data: the proof of "launching dataloader export".

The rig simulator (``openretina_data.testing.rig``) records a retina whose spikes come
from a known linear-nonlinear model of the movie (a random linear filter of each
frame's pixels, an exponential, Poisson counts), with a TTL frame trigger. We convert
the recording with ``openretina-data convert``, write the ``data_io`` and
``dataloader`` configs with ``export-config``, and hand them to openretina 1.1.1 as its
``openretina train`` does: hydra instantiates the readers and the dataloaders from the
configs, ``compute_data_info`` takes the config's ``data_info``, and openretina's own
core-readout model trains under a Lightning trainer on the CPU over ``LongCycler``,
validating over ``ShortCycler``. The validation correlation must rise well above the
untrained model's. Run once as exported (openretina's reader, loaders and cyclers) and
once with the prefix swapped to ``openretina_data`` (ours).

openretina, lightning and hydra are imported at module level: without them these tests
fail; never skipped.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import hydra.utils
import lightning
import numpy as np
import pytest
import torch
import yaml
from omegaconf import OmegaConf
from openretina.data_io import cyclers as reference_cyclers
from openretina.data_io.base import compute_data_info
from openretina.models.core_readout import ExampleCoreReadout

from openretina_data import cyclers as our_cyclers
from openretina_data.cli import main
from openretina_data.testing.rig import Block, Schedule, SessionPlan, simulate

pytestmark = [pytest.mark.interop, pytest.mark.slow]

CHUNK = 20
EPOCHS = 15


def recorded_dataset(root: Path) -> Path:
    """A simulated 10 Hz recording (3000 training frames, a 100-frame test clip) of 12
    units, converted; returns the dataset folder."""
    blocks = (Block("movie", 3000), Block("clip", 100, split="test"))
    sim = simulate(
        root, [SessionPlan("s1", "kilosort2", Schedule(blocks, refresh_hz=10.0), units=12)]
    )
    recipe = yaml.safe_load(sim.recipe_path.read_text())
    recipe["loader"] = {
        "train_chunk_size": CHUNK,
        "batch_size": 16,
        "clip_length": 50,
        "num_val_clips": 6,
        "seed": 0,
    }
    sim.recipe_path.write_text(yaml.safe_dump(recipe))
    assert main(["convert", str(sim.recipe_path), "--quiet"]) == 0
    return root / "dataset"


def exported_configs(dataset: Path, prefix: str) -> Any:
    """``cfg.data_io`` and ``cfg.dataloader`` as ``export-config`` writes them (with the
    ``openretina.data_io`` prefix of their targets swapped to ``prefix``)."""
    for args, name in (([], "data_io.yaml"), (["--dataloader"], "dataloader.yaml")):
        assert main(["export-config", str(dataset), *args, "-o", str(dataset.parent / name)]) == 0
    groups = {
        group: yaml.safe_load(
            (dataset.parent / f"{group}.yaml")
            .read_text()
            .replace("_target_: openretina.data_io.", f"_target_: {prefix}.")
        )
        for group in ("data_io", "dataloader")
    }
    return OmegaConf.create(groups)


def validation_correlation(model: Any, validation: dict[str, Any]) -> float:
    """Mean over neurons of the Pearson correlation (numpy) between the model's prediction
    and the validation responses, over every validation frame the model predicts."""
    predictions, targets = [], []
    model.eval()
    with torch.no_grad():
        for session, loader in validation.items():
            for batch in loader:
                out = model(batch.inputs, session)
                predictions.append(out.reshape(-1, out.shape[-1]).numpy())
                # the core eats the first frames of a chunk: compare the frames it predicts
                targets.append(batch.targets[:, -out.shape[1] :].reshape(-1, out.shape[-1]).numpy())
    p, t = np.concatenate(predictions), np.concatenate(targets)
    return float(np.nanmean([np.corrcoef(p[:, i], t[:, i])[0, 1] for i in range(p.shape[1])]))


@pytest.mark.filterwarnings("ignore")  # lightning's advice on workers, logging and the like
@pytest.mark.parametrize("prefix", ["openretina.data_io", "openretina_data"])
def test_openretinas_core_readout_learns_from_our_converted_recording(
    tmp_path: Path, prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = recorded_dataset(tmp_path)
    cfg = exported_configs(dataset, prefix)
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stimuli = hydra.utils.instantiate(cfg.data_io.stimuli)
        responses = hydra.utils.instantiate(cfg.data_io.responses)
        loaders = hydra.utils.instantiate(
            cfg.dataloader, neuron_data_dictionary=responses, movies_dictionary=stimuli
        )
    data_info = compute_data_info(responses, stimuli, partial_data_info=cfg.data_io.data_info)
    assert (
        data_info["stimulus_rate_hz"]
        == data_info["response_rate_hz"]
        == pytest.approx(10.0, rel=0.01)
    )
    cyclers = reference_cyclers if prefix.startswith("openretina.") else our_cyclers

    lightning.seed_everything(0, verbose=False)
    model = ExampleCoreReadout(
        in_shape=(data_info["input_shape"][0], CHUNK, *data_info["input_shape"][1:]),
        hidden_channels=(8,),
        temporal_kernel_sizes=(3,),
        spatial_kernel_sizes=(11,),
        n_neurons_dict=data_info["n_neurons_dict"],
        core_input_padding=True,
        cut_first_n_frames_in_core=0,
        core_gamma_temporal=0.0,
        readout_gamma=0.0,
        learning_rate=0.03,
        data_info=data_info,
    )
    untrained = validation_correlation(model, loaders["validation"])
    trainer = lightning.Trainer(
        max_epochs=EPOCHS,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,  # validates over ShortCycler after each epoch (its LR schedule needs it)
    )
    trainer.fit(
        model,
        train_dataloaders=cyclers.LongCycler(loaders["train"]),
        val_dataloaders=cyclers.ShortCycler(loaders["validation"]),
    )
    assert trainer.current_epoch == EPOCHS and "val_loss" in trainer.callback_metrics
    trained = validation_correlation(model, loaders["validation"])
    print(f"{prefix}: validation correlation {untrained:.3f} untrained, {trained:.3f} trained")
    assert trained > 0.12 and trained > untrained + 0.08, (untrained, trained)
