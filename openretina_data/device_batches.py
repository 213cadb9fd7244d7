"""Batches normalised on the device: raw stimulus batches and :func:`to_device`.

With ``normalize_on="device"`` the dataloaders of :mod:`openretina_data.base_dataloader`
yield :class:`RawDataPoint` batches: the stimulus values as stored (uint8 for an 8-bit
movie: a quarter of the bytes of float32 through collate, pinned memory and the bus),
the targets, and the movie's ``norm_mean``/``norm_std``. :func:`to_device` moves a batch
to the device and normalises it there (FFCV's ``ToDevice`` then ``NormalizeImage``)::

    loaders = multiple_movies_dataloaders(responses, movies, normalize_on="device",
                                          pin_memory=True)
    for batch in loaders["train"][session]:
        inputs, targets = to_device(batch, "cuda", non_blocking=True)
        loss = criterion(model(inputs), targets)

The values are the CPU path's bit for bit: ``(float32(x) - mean) / std`` with float32
``mean`` and ``std``, and the division is a true division by a tensor on the device (a
division by a Python number would let CUDA multiply by its reciprocal instead, which
can differ in the last bit).
"""

from __future__ import annotations

from typing import Any

import torch

from openretina_data._movie_dataset import DataPoint, RawDataPoint

__all__ = ["RawDataPoint", "to_device"]

_stats: dict[tuple[str, float, float], tuple[torch.Tensor, torch.Tensor]] = {}


def _stats_on(device: torch.device, mean: float, std: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``mean`` and ``std`` as float32 0-d tensors on ``device`` (made once, then kept)."""
    key = (str(device), float(mean), float(std))
    if key not in _stats:
        values = torch.tensor([mean, std], dtype=torch.float32)
        on_device = values.to(device)
        _stats[key] = (on_device[0], on_device[1])
    return _stats[key]


def to_device(batch: Any, device: Any, *, non_blocking: bool = False) -> DataPoint:
    """``batch`` on ``device`` as a normalised ``DataPoint(inputs, targets)``.

    Parameters
    ----------
    batch
        A :class:`RawDataPoint` (``normalize_on="device"``): its inputs are moved in
        their stored dtype, then cast to float32 and normalised on ``device``. A
        ``DataPoint`` (normalised already) is only moved.
    device
        ``"cuda"``, ``torch.device("cuda:1")``, ``"cpu"`` ...
    non_blocking
        Passed to ``Tensor.to`` (overlaps the copy with compute from pinned memory).

    Returns
    -------
    DataPoint
        ``inputs`` (batch, channels, chunk, h, w) float32 and ``targets`` (batch, chunk,
        neurons) float32, both on ``device``.
    """
    device = torch.device(device)
    if not isinstance(batch, RawDataPoint):
        inputs, targets = batch
        return DataPoint(
            inputs.to(device, non_blocking=non_blocking),
            targets.to(device, non_blocking=non_blocking),
        )
    mean, std = _stats_on(device, batch.norm_mean, batch.norm_std)
    inputs = batch.inputs.to(device, non_blocking=non_blocking).to(torch.float32)
    if inputs.data_ptr() == batch.inputs.data_ptr():
        inputs = inputs.clone()  # float32 already on the device: never overwrite the batch
    inputs.sub_(mean).div_(std)
    return DataPoint(inputs, batch.targets.to(device, non_blocking=non_blocking))
