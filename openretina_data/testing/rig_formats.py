"""Writers for :mod:`openretina_data.testing.rig`: each file as the tool that makes it writes it.

Everything goes through the format's own library (numpy for ``.npy``, h5py, pynwb,
hdf5storage, tifffile); nothing here knows about frames or truth, only about the
layout of the files a rig, a sorter or an imaging pipeline leaves behind.

- Kilosort 2 (MATLAB ``rezToPhy``): ``spike_times.npy`` uint64 ``(spikes, 1)``,
  ``spike_clusters.npy`` uint32 ``(spikes, 1)``, ``cluster_KSLabel.tsv``; after Phy
  curation ``cluster_group.tsv`` (column ``group``) and ``cluster_info.tsv``.
- Kilosort 4 (``save_to_phy``): ``spike_times.npy`` int64 ``(spikes,)``,
  ``spike_clusters.npy`` int32 ``(spikes,)``, ``cluster_KSLabel.tsv`` and a
  ``cluster_group.tsv`` holding the same ``KSLabel`` column.
- Both: ``params.py`` with ``sample_rate``; ``spike_templates.npy``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import h5py
import numpy as np

KilosortFlavour = Literal["kilosort2", "kilosort4"]


def write_movie(path: Path, movie: np.ndarray) -> Path:
    """A stimulus movie ``(frames, height, width)`` as ``.npy`` or a TIFF stack (by suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix in (".tif", ".tiff"):
        import tifffile

        tifffile.imwrite(path, movie)
    else:
        np.save(path, movie)
    return path


def write_kilosort(
    folder: Path,
    samples: np.ndarray,
    clusters: np.ndarray,
    unit_ids: np.ndarray,
    ks_labels: Sequence[str],
    curated: dict[int, str],
    sample_rate: float,
    flavour: KilosortFlavour,
) -> Path:
    """A Kilosort/Phy output folder.

    Parameters
    ----------
    samples : (spikes,) int64, sample index of each spike on the acquisition clock
        (written in the order given: the caller shuffles when asked).
    clusters : (spikes,) int, unit id of each spike
    unit_ids, ks_labels : every unit and Kilosort's automatic label (good / mua)
    curated : unit id → manual Phy label (Kilosort 2 only: ``cluster_group.tsv``)
    sample_rate : Hz, written to ``params.py``
    """
    folder.mkdir(parents=True, exist_ok=True)
    if flavour == "kilosort2":
        np.save(folder / "spike_times.npy", samples.astype(np.uint64).reshape(-1, 1))
        np.save(folder / "spike_clusters.npy", clusters.astype(np.uint32).reshape(-1, 1))
        np.save(folder / "spike_templates.npy", clusters.astype(np.uint32).reshape(-1, 1))
    else:
        np.save(folder / "spike_times.npy", samples.astype(np.int64))
        np.save(folder / "spike_clusters.npy", clusters.astype(np.int32))
        np.save(folder / "spike_templates.npy", clusters.astype(np.int32))
    rows = list(zip((int(i) for i in unit_ids), ks_labels, strict=True))
    _tsv(folder / "cluster_KSLabel.tsv", ("cluster_id", "KSLabel"), rows)
    if flavour == "kilosort4":
        _tsv(folder / "cluster_group.tsv", ("cluster_id", "KSLabel"), rows)
    else:
        final = [(i, curated.get(i, label)) for i, label in rows]
        _tsv(folder / "cluster_group.tsv", ("cluster_id", "group"), final)
        counts = {int(i): int(np.count_nonzero(clusters == i)) for i in unit_ids}
        info = [
            (i, 40 * k, 20.0 + 20 * k, counts[i], label, group)
            for k, ((i, label), (_, group)) in enumerate(zip(rows, final, strict=True))
        ]
        _tsv(folder / "cluster_info.tsv", ("cluster_id", "ch", "depth", "n_spikes", "KSLabel", "group"), info)  # fmt: skip
    (folder / "params.py").write_text(
        "dat_path = 'recording.dat'\nn_channels_dat = 64\ndtype = 'int16'\noffset = 0\n"
        f"sample_rate = {float(sample_rate)!r}\nhp_filtered = False\n",
        encoding="utf-8",
    )
    return folder


def _tsv(path: Path, header: tuple[str, ...], rows: Sequence[tuple[object, ...]]) -> None:
    lines = ["\t".join(header)] + ["\t".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_ttl(path: Path, trace: np.ndarray, key: str = "ttl") -> tuple[Path, str | None]:
    """The sampled TTL channel, ``(samples,)`` int16: ``.npy`` or an HDF5 dataset ``key``.

    Returns the path and the key a recipe names (``None`` for ``.npy``).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix in (".h5", ".hdf5"):
        with h5py.File(path, "w") as f:
            f.create_dataset(key, data=trace, chunks=True)
        return path, key
    np.save(path, trace)
    return path, None


FRAMES_SERIES = "frame_onsets"
NWB_TIMESTAMPS_KEY = f"stimulus/presentation/{FRAMES_SERIES}/timestamps"


def write_nwb(
    path: Path,
    unit_ids: np.ndarray,
    labels: Sequence[str],
    spike_times: Sequence[np.ndarray],
    frame_onsets: np.ndarray,
) -> tuple[Path, str]:
    """An NWB file (pynwb): a ``Units`` table and the frame onsets as a ``TimeSeries``.

    Parameters
    ----------
    unit_ids, labels : one per unit; labels go to a ``quality`` column
    spike_times : per unit, (spikes_u,) float64 seconds on the acquisition clock
    frame_onsets : (events,) float64 seconds on the acquisition clock, the photodiode /
        TTL onsets the acquisition system logged

    Returns the path and the key of the timestamps (``stimulus/presentation/...``).
    """
    from pynwb import NWBFile

    path.parent.mkdir(parents=True, exist_ok=True)
    nwb = NWBFile(
        session_description="simulated retina recording (openretina_data.testing.rig)",
        identifier=path.stem,
        session_start_time=datetime(2026, 1, 1, tzinfo=UTC),
    )
    nwb.add_unit_column(name="quality", description="curated sorter label")
    for ident, label, times in zip(unit_ids, labels, spike_times, strict=True):
        nwb.add_unit(id=int(ident), spike_times=np.asarray(times, dtype=np.float64), quality=label)
    _write_with_frame_onsets(nwb, path, frame_onsets, "acquisition")
    return path, NWB_TIMESTAMPS_KEY


def write_mat_calcium(
    path: Path, traces: np.ndarray, frame_times: np.ndarray, fs: float, column: bool = True
) -> Path:
    """A MATLAB v7.3 file (hdf5storage) as a calcium pipeline saves it.

    Variables (MATLAB shapes): ``traces`` (neurons, samples) double; ``frame_times``
    (frames, 1) — or (1, frames) with ``column=False`` — double seconds on the
    imaging clock; ``fs`` the imaging rate (Hz).
    """
    import hdf5storage

    path.parent.mkdir(parents=True, exist_ok=True)
    times = np.asarray(frame_times, dtype=np.float64)
    content = {
        "traces": np.asarray(traces, dtype=np.float64),
        "frame_times": times.reshape(-1, 1) if column else times.reshape(1, -1),
        "fs": np.float64(fs),
    }
    hdf5storage.savemat(str(path), content, format="7.3", matlab_compatible=True)
    return path


def write_suite2p(folder: Path, fluorescence: np.ndarray, is_cell: np.ndarray, fs: float) -> Path:
    """A suite2p plane folder: ``F.npy`` / ``Fneu.npy`` (rois, samples) float32,
    ``iscell.npy`` (rois, 2), ``ops.npy`` (a pickled dict with ``fs``)."""
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "F.npy", fluorescence.astype(np.float32))
    np.save(folder / "Fneu.npy", (0.7 * fluorescence).astype(np.float32))
    flags = np.stack([is_cell.astype(np.float64), np.where(is_cell, 0.9, 0.1)], axis=1)
    np.save(folder / "iscell.npy", flags)
    n_rois, n_samples = fluorescence.shape
    ops = {"fs": float(fs), "nframes": int(n_samples), "nplanes": 1, "nchannels": 1, "tau": 1.0}
    np.save(folder / "ops.npy", np.array(ops, dtype=object), allow_pickle=True)
    return folder


ROI_SERIES_KEY = "processing/ophys/Fluorescence/RoiResponseSeries/data"


def write_nwb_ophys(
    path: Path, traces: np.ndarray, fs: float, frame_onsets: np.ndarray
) -> tuple[Path, str, str]:
    """An NWB file (pynwb) of a calcium recording: a ``RoiResponseSeries`` (samples, rois)
    at ``fs`` from ``starting_time`` 0 and the frame onsets as a ``TimeSeries``, both on
    the imaging clock. Returns the path, the traces' key and the timestamps' key."""
    from pynwb import NWBFile
    from pynwb.ophys import Fluorescence, ImageSegmentation, OpticalChannel, RoiResponseSeries

    path.parent.mkdir(parents=True, exist_ok=True)
    nwb = NWBFile(
        session_description="simulated calcium recording (openretina_data.testing.rig)",
        identifier=path.stem,
        session_start_time=datetime(2026, 1, 1, tzinfo=UTC),
    )
    channel = OpticalChannel(name="green", description="GCaMP", emission_lambda=520.0)
    plane = nwb.create_imaging_plane(
        name="plane0", optical_channel=channel, description="ganglion cell layer",
        device=nwb.create_device(name="microscope"), excitation_lambda=920.0,
        imaging_rate=float(fs), indicator="GCaMP6f", location="retina",
    )  # fmt: skip
    segmentation = ImageSegmentation()
    rois = segmentation.create_plane_segmentation(
        name="PlaneSegmentation", description="rois", imaging_plane=plane
    )
    n_rois = traces.shape[0]
    for i in range(n_rois):
        mask = np.zeros((n_rois, n_rois))
        mask[i, i] = 1.0
        rois.add_roi(image_mask=mask)
    ophys = nwb.create_processing_module(name="ophys", description="calcium imaging")
    ophys.add(segmentation)
    fluorescence = Fluorescence()
    ophys.add(fluorescence)
    region = rois.create_roi_table_region(region=list(range(n_rois)), description="all rois")
    fluorescence.add_roi_response_series(
        RoiResponseSeries(name="RoiResponseSeries", data=np.ascontiguousarray(traces.T),
                          rois=region, unit="dF/F", rate=float(fs), starting_time=0.0)
    )  # fmt: skip
    _write_with_frame_onsets(nwb, path, frame_onsets, "imaging")
    return path, ROI_SERIES_KEY, NWB_TIMESTAMPS_KEY


def _write_with_frame_onsets(nwb: Any, path: Path, frame_onsets: Any, clock: str) -> None:
    """Add the frame onsets as a stimulus TimeSeries (timestamps on ``clock``) and write."""
    from pynwb import NWBHDF5IO, TimeSeries

    nwb.add_stimulus(
        TimeSeries(
            name=FRAMES_SERIES,
            data=np.arange(len(frame_onsets), dtype=np.int64),
            unit="n.a.",
            timestamps=np.asarray(frame_onsets, dtype=np.float64),
            description=f"stimulus frame onsets from the photodiode, {clock} clock",
        )
    )
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
