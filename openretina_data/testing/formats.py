"""Deterministic example files of every source format, written by the format's own library.

Each ``write_*`` function writes a small but realistic file (or folder) at the path
given and returns that path together with the arrays it wrote, so tests can compare
what a reader gives back with what went in. Shapes follow the conventions of the
tools that produce such files (a Kilosort folder has samples, a suite2p folder has
``(rois, frames)`` traces ...). Same ``seed`` → same bytes' worth of values.

Optional libraries (scipy, hdf5storage, tifffile, av, pynwb) are imported inside
the function that needs them.
"""

from __future__ import annotations

import os
from datetime import UTC
from pathlib import Path

import h5py
import numpy as np

Arrays = dict[str, np.ndarray]


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def example_arrays(seed: int = 0, n_frames: int = 40, n_cells: int = 5) -> Arrays:
    """A stimulus movie, binned responses, spike times, frame times and cell ids.

    Returns
    -------
    dict
        ``stimulus`` (time, 8, 6) uint8; ``responses`` (cells, time) float32, spikes/bin;
        ``spike_times`` (spikes,) float64, seconds; ``frame_times`` (time,) float64, s;
        ``cell_ids`` (cells,) int32.
    """
    rng = _rng(seed)
    return {
        "stimulus": rng.integers(0, 256, (n_frames, 8, 6), dtype=np.uint8),
        "responses": rng.poisson(2.0, (n_cells, n_frames)).astype(np.float32),
        "spike_times": np.sort(rng.uniform(0, n_frames / 30, 50)),
        "frame_times": np.arange(n_frames) / 30.0,
        "cell_ids": np.arange(1, n_cells + 1, dtype=np.int32),
    }


def write_npy(path: str | os.PathLike[str], seed: int = 0) -> tuple[Path, Arrays]:
    """A ``(cells, time)`` float32 response matrix; the key is the file stem."""
    path = Path(path)
    data = example_arrays(seed)["responses"]
    np.save(path, data)
    return path, {path.stem: data}


def write_npz(
    path: str | os.PathLike[str], seed: int = 0, compressed: bool = False
) -> tuple[Path, Arrays]:
    """``np.savez`` (or ``savez_compressed``) of :func:`example_arrays`."""
    path = Path(path)
    arrays = example_arrays(seed)
    if compressed:
        np.savez_compressed(path, **arrays)  # type: ignore[arg-type]
    else:
        np.savez(path, **arrays)  # type: ignore[arg-type]
    return path, arrays


def write_hdf5(path: str | os.PathLike[str], seed: int = 0) -> tuple[Path, Arrays]:
    """Nested groups with attributes, as a lab's own HDF5 export looks.

    Keys: ``stimulus/movie`` (chunked, gzip), ``recording/responses``,
    ``recording/spikes/spike_times``, ``recording/frame_times``, ``cells/cell_ids``.
    """
    path = Path(path)
    a = example_arrays(seed)
    arrays = {
        "stimulus/movie": a["stimulus"],
        "recording/responses": a["responses"],
        "recording/spikes/spike_times": a["spike_times"],
        "recording/frame_times": a["frame_times"],
        "cells/cell_ids": a["cell_ids"],
    }
    with h5py.File(path, "w") as f:
        f.attrs["experimenter"] = "example"
        f.attrs["frame_rate_hz"] = 30.0
        for key, value in arrays.items():
            chunked = {"chunks": True, "compression": "gzip"} if value.ndim == 3 else {}
            f.create_dataset(key, data=value, **chunked)
        f["recording/spikes/spike_times"].attrs["unit"] = "s"
    return path, arrays


def _mat_content(seed: int) -> tuple[dict[str, object], Arrays]:
    """What a lab's MATLAB export holds, and the arrays a reader must give back.

    MATLAB keeps at least two axes, so 1-D arrays come back as ``(1, n)`` rows.
    """
    a = example_arrays(seed)
    spikes = a["spike_times"].reshape(1, -1)
    cells = np.empty((1, 2), dtype=object)
    cells[0, 0], cells[0, 1] = spikes[:, :20], spikes[:, 20:]
    content: dict[str, object] = {
        "stimulus": a["stimulus"].astype(np.float64),
        "responses": a["responses"],
        "frame_times": a["frame_times"].reshape(1, -1),
        "params": {"fs": np.array([[30000.0]]), "experimenter": "example"},
        "unit_spike_times": cells,
        "label": "retina 1",
    }
    expected: Arrays = {
        "stimulus": a["stimulus"].astype(np.float64),
        "responses": a["responses"],
        "frame_times": a["frame_times"].reshape(1, -1),
        "params/fs": np.array([[30000.0]]),
        "unit_spike_times/0": spikes[:, :20],
        "unit_spike_times/1": spikes[:, 20:],
    }
    return content, expected


def write_mat_v5(path: str | os.PathLike[str], seed: int = 0) -> tuple[Path, Arrays]:
    """A MAT v5 file (``scipy.io.savemat``) with arrays, a struct, a cell and a char array.

    Keys: ``stimulus`` (time, 8, 6), ``responses`` (cells, time), ``frame_times`` (1, time),
    ``params/fs``, ``params/experimenter`` (text), ``unit_spike_times/0`` and ``/1``
    (cell elements, seconds), ``label`` (text).
    """
    import scipy.io

    path = Path(path)
    content, expected = _mat_content(seed)
    scipy.io.savemat(path, content)
    return path, expected


def write_mat_v73(path: str | os.PathLike[str], seed: int = 0) -> tuple[Path, Arrays]:
    """The same content as :func:`write_mat_v5`, as MATLAB v7.3 writes it (``hdf5storage``)."""
    import hdf5storage

    path = Path(path)
    content, expected = _mat_content(seed)
    hdf5storage.savemat(str(path), content, format="7.3", matlab_compatible=True)
    return path, expected


def write_tiff(
    path: str | os.PathLike[str], seed: int = 0, imagej: bool = False, compress: bool = False
) -> tuple[Path, Arrays]:
    """A (time, height, width) uint16 stack, one page per frame (``tifffile.imwrite``).

    ``imagej=True`` writes an ImageJ hyperstack header; ``compress=True`` zlib pages.
    The key is the file stem.
    """
    import tifffile

    path = Path(path)
    stack = _rng(seed).integers(0, 4096, (12, 10, 8), dtype=np.uint16)
    options: dict[str, object] = {"compression": "zlib"} if compress else {}
    if imagej:
        options["imagej"] = True
        options["metadata"] = {"axes": "TYX"}
    tifffile.imwrite(path, stack, **options)  # type: ignore[arg-type]
    return path, {path.stem.removesuffix(".ome"): stack}


def write_video(
    path: str | os.PathLike[str], seed: int = 0, rgb: bool = False, rate: int = 30
) -> tuple[Path, Arrays]:
    """A stimulus movie through PyAV: lossless gray ``ffv1`` (.avi), or RGB H.264 (.mp4).

    Returns the frames that went in: (time, 16, 24) uint8, or (time, 16, 24, 3) when
    ``rgb``. H.264 is lossy, so compare RGB frames approximately.
    """
    import av

    path = Path(path)
    rng = _rng(seed)
    shape = (15, 16, 24, 3) if rgb else (15, 16, 24)
    frames = rng.integers(0, 256, shape, dtype=np.uint8)
    if rgb:  # smooth blocks survive lossy coding
        frames = np.repeat(np.repeat(frames[:, ::8, ::8], 8, axis=1), 8, axis=2)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264" if rgb else "ffv1", rate=rate)
        stream.width, stream.height = shape[2], shape[1]
        stream.pix_fmt = "yuv420p" if rgb else "gray"
        for image in frames:
            frame = av.VideoFrame.from_ndarray(image, format="rgb24" if rgb else "gray")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path, {path.stem: frames}


def write_table(path: str | os.PathLike[str], seed: int = 0) -> tuple[Path, Arrays]:
    """A spike table as sorters export it: ``unit,spike_time_s,amplitude,quality``.

    Comma-separated for ``.csv``, tab-separated for ``.tsv``. ``quality`` is text.
    """
    path = Path(path)
    rng = _rng(seed)
    n = 30
    arrays: Arrays = {
        "unit": rng.integers(1, 6, n).astype(np.int64),
        "spike_time_s": np.round(np.sort(rng.uniform(0, 10, n)), 6),
        "amplitude": np.round(rng.normal(80, 10, n), 3),
    }
    quality = np.array(["good", "mua"] * (n // 2), dtype=object)
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    lines = [sep.join([*arrays, "quality"])]
    for i in range(n):
        row = [repr(arrays[k][i].item()) for k in arrays] + [str(quality[i])]
        lines.append(sep.join(row))
    path.write_text("\n".join(lines) + "\n")
    return path, {**arrays, "quality": quality}


def _spikes(seed: int, n_units: int, seconds: float, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Sorted spike sample indices (spikes,) and their unit ids (spikes,)."""
    rng = _rng(seed)
    counts = rng.integers(5, 40, n_units)
    samples = np.concatenate([rng.integers(0, int(seconds * rate), c) for c in counts])
    clusters = np.repeat(np.arange(n_units, dtype=np.int32), counts)
    order = np.argsort(samples, kind="stable")
    return samples[order].astype(np.int64), clusters[order]


def write_kilosort(
    folder: str | os.PathLike[str], seed: int = 0, version: int = 2
) -> tuple[Path, Arrays]:
    """A Kilosort output folder as version 2 or 4 writes it (plus Phy's ``params.py``).

    KS2: ``spike_times.npy`` uint64 (spikes, 1), ``cluster_KSLabel.tsv`` and a Phy-curated
    ``cluster_group.tsv`` (``group`` column) that relabels unit 1 as noise; 30 kHz.
    KS4: ``spike_times.npy`` int64 (spikes,), ``cluster_group.tsv`` with a ``KSLabel``
    column and no ``cluster_KSLabel.tsv``; 20 kHz.
    Units 0..5 are labelled good, mua, good, noise, good, mua (before curation).

    Returns the folder and ``spike_times`` (spikes,) samples, ``spike_clusters`` (spikes,).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rate = 30000.0 if version == 2 else 20000.0
    samples, clusters = _spikes(seed, 6, 10.0, rate)
    labels = ["good", "mua", "good", "noise", "good", "mua"]
    table = "".join(f"{i}\t{label}\n" for i, label in enumerate(labels))
    if version == 2:
        np.save(folder / "spike_times.npy", samples.astype(np.uint64).reshape(-1, 1))
        (folder / "cluster_KSLabel.tsv").write_text("cluster_id\tKSLabel\n" + table)
        (folder / "cluster_group.tsv").write_text("cluster_id\tgroup\n1\tnoise\n")
    else:
        np.save(folder / "spike_times.npy", samples)
        (folder / "cluster_group.tsv").write_text("cluster_id\tKSLabel\n" + table)
    np.save(folder / "spike_clusters.npy", clusters)
    np.save(folder / "amplitudes.npy", _rng(seed).normal(50, 5, len(samples)).astype(np.float32))
    (folder / "params.py").write_text(
        f"dat_path = 'recording.bin'\nn_channels_dat = 385\ndtype = 'int16'\noffset = 0\n"
        f"sample_rate = {rate}\nhp_filtered = {version == 4}\n"
    )
    return folder, {"spike_times": samples, "spike_clusters": clusters}


def write_suite2p(folder: str | os.PathLike[str], seed: int = 0) -> tuple[Path, Arrays]:
    """A suite2p plane folder: F, Fneu, spks (rois, frames) float32, iscell (rois, 2), ops (dict).

    ``ops.npy`` is ``np.save`` of a dict, as suite2p writes it (``fs`` = 7.5 Hz).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = _rng(seed)
    n_rois, n_frames = 7, 60
    arrays: Arrays = {
        "F": rng.normal(100, 10, (n_rois, n_frames)).astype(np.float32),
        "Fneu": rng.normal(60, 5, (n_rois, n_frames)).astype(np.float32),
        "spks": np.abs(rng.normal(0, 1, (n_rois, n_frames))).astype(np.float32),
        "iscell": np.stack([rng.integers(0, 2, n_rois), rng.random(n_rois)], axis=1),
    }
    for key, value in arrays.items():
        np.save(folder / f"{key}.npy", value)
    ops = {
        "fs": 7.5, "nframes": n_frames, "nplanes": 1, "tau": 1.0, "Ly": 32, "Lx": 32,
        "meanImg": rng.random((32, 32)).astype(np.float32), "filelist": ["scan_00001.tif"],
        "save_path": str(folder), "do_registration": True, "diameter": np.array([12, 12]),
    }  # fmt: skip
    np.save(folder / "ops.npy", np.array(ops, dtype=object), allow_pickle=True)
    return folder, arrays


def write_nwb(path: str | os.PathLike[str], seed: int = 0) -> tuple[Path, Arrays]:
    """An NWB file (pynwb) with what a retina recording puts there.

    - ``units``: 4 units with spike times (s) and a ``quality`` column;
    - ``acquisition/photodiode``: a TimeSeries of trigger levels with ``timestamps``;
    - ``processing/ophys/Fluorescence/RoiResponseSeries``: (frames, rois) at 7.5 Hz;
    - ``intervals/trials``: start/stop times;
    - ``stimulus/presentation/checkerboard``: an OpticalSeries (time, 8, 6) at 30 Hz.

    Returns the HDF5 keys of the datasets and their values; ``unit_spike_times`` holds
    the per-unit times concatenated in unit order (as ``units/spike_times`` stores them).
    """
    from datetime import datetime

    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    from pynwb.image import OpticalSeries
    from pynwb.ophys import Fluorescence, ImageSegmentation, OpticalChannel, RoiResponseSeries

    path = Path(path)
    rng = _rng(seed)
    a = example_arrays(seed)
    nwb = NWBFile(
        session_description="example retina recording",
        identifier=f"example-{seed}",
        session_start_time=datetime(2024, 1, 1, tzinfo=UTC),
    )
    unit_times = [np.sort(rng.uniform(0, 10, n)) for n in (12, 7, 20, 3)]
    nwb.add_unit_column(name="quality", description="sorter label")
    for times, quality in zip(unit_times, ("good", "mua", "good", "noise"), strict=True):
        nwb.add_unit(spike_times=times, quality=quality)
    trigger_times = np.arange(40) / 30.0
    levels = (np.arange(40) % 2).astype(np.float64)
    nwb.add_acquisition(
        TimeSeries(name="photodiode", data=levels, unit="V", timestamps=trigger_times)
    )
    device = nwb.create_device(name="microscope")
    channel = OpticalChannel(name="green", description="GCaMP", emission_lambda=520.0)
    plane = nwb.create_imaging_plane(
        name="plane0", optical_channel=channel, description="ganglion cell layer",
        device=device, excitation_lambda=920.0, imaging_rate=7.5, indicator="GCaMP6f",
        location="retina",
    )  # fmt: skip
    ophys = nwb.create_processing_module(name="ophys", description="calcium imaging")
    segmentation = ImageSegmentation()
    rois = segmentation.create_plane_segmentation(
        name="PlaneSegmentation", description="rois", imaging_plane=plane
    )
    for i in range(5):
        mask = np.zeros((8, 8))
        mask[i, i] = 1.0
        rois.add_roi(image_mask=mask)
    ophys.add(segmentation)
    traces = rng.normal(0, 1, (60, 5))
    region = rois.create_roi_table_region(region=list(range(5)), description="all rois")
    fluorescence = Fluorescence()
    ophys.add(fluorescence)
    fluorescence.add_roi_response_series(
        RoiResponseSeries(name="RoiResponseSeries", data=traces, rois=region, unit="dF/F", rate=7.5)
    )
    for start in (0.0, 2.0, 4.0):
        nwb.add_trial(start_time=start, stop_time=start + 1.5)
    nwb.add_stimulus(
        OpticalSeries(
            name="checkerboard",
            data=a["stimulus"],
            unit="n.a.",
            rate=30.0,
            distance=0.1,
            field_of_view=[0.2, 0.1],
            orientation="lower left",
        )  # fmt: skip
    )
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    arrays: Arrays = {
        "units/spike_times": np.concatenate(unit_times),
        "acquisition/photodiode/data": levels,
        "acquisition/photodiode/timestamps": trigger_times,
        "processing/ophys/Fluorescence/RoiResponseSeries/data": traces,
        "intervals/trials/start_time": np.array([0.0, 2.0, 4.0]),
        "stimulus/presentation/checkerboard/data": a["stimulus"],
    }
    return path, arrays
