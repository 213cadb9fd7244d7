"""How fast the timing core is on recording-sized inputs (absolute numbers: openretina has no equivalent).

Run: ``.venv/bin/python benchmarks/timing.py`` (about 20 s, peak memory about 1.7 GiB).
Timings on a shared machine vary with its load; binning reports the best of 2 runs.

1. Bin 10 million spikes of 500 units (flat Kilosort-style arrays, seconds) onto
   360 000 frames at 30 Hz → spikes/s.
2. Detect frame triggers in a 1-hour analog TTL channel sampled at 10 kHz (36 million
   int16 samples) with 312 dropped frames → samples/s, and check the report.
3. Spike-triggered average of 100 neurons on a memory-mapped 36 000 × 50 × 50 uint8
   movie, subsampled to 20 000 frames, 15 lags → frames/s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from openretina_data.alignment import spike_triggered_average
from openretina_data.timing import bin_spikes, frame_times_from_rate, frame_times_from_signal


def bench_binning(n_spikes: int, n_units: int, n_frames: int, rate_hz: float, repeats: int) -> None:
    rng = np.random.default_rng(0)
    duration = n_frames / rate_hz
    times = np.sort(rng.uniform(-5.0, duration + 5.0, n_spikes))
    units = rng.integers(0, n_units, n_spikes)
    frames = frame_times_from_rate(rate_hz, n_frames)
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        binned = bin_spikes(times, frames, time_unit="s", unit_ids=units)
        runs.append(time.perf_counter() - start)
        assert binned.values.sum() == binned.n_inside.sum(), "binning lost spikes"
        del binned
    best = min(runs)
    print(
        f"bin_spikes: {n_spikes:,} spikes (sorted by time), {n_units} units, {n_frames:,} frames "
        f"-> best {best:.2f} s of {repeats} (first {runs[0]:.2f} s), "
        f"{n_spikes / best / 1e6:.1f} M spikes/s; output {n_units * n_frames * 4 / 2**20:.0f} MiB",
        flush=True,
    )


def bench_triggers(duration_s: float, sampling_hz: float, frame_hz: float, n_dropped: int) -> None:
    rng = np.random.default_rng(1)
    n_samples = int(duration_s * sampling_hz)
    n_frames = int(duration_s * frame_hz) - 1
    onsets = (np.arange(n_frames) / frame_hz * sampling_hz).astype(np.int64) + 10
    dropped = np.sort(rng.choice(np.arange(1000, n_frames - 1000), n_dropped, replace=False))
    onsets = np.delete(onsets, dropped)
    level = np.zeros(n_samples, dtype=np.int8)
    width = int(0.004 * sampling_hz)
    np.add.at(level, onsets, 1)
    np.add.at(level, onsets + width, -1)
    signal = (np.cumsum(level, dtype=np.int16) * 20000).astype(np.int16)
    signal += rng.integers(-300, 300, n_samples, dtype=np.int16)
    start = time.perf_counter()
    frames = frame_times_from_signal(signal, sampling_hz, expected_frames=n_frames)
    elapsed = time.perf_counter() - start
    assert frames.dropped_frames.tolist() == dropped.tolist(), "dropped frames not found"
    print(
        f"frame_times_from_signal: {n_samples:,} int16 samples ({duration_s / 3600:.2g} h at "
        f"{sampling_hz / 1000:g} kHz) -> {elapsed:.2f} s, {n_samples / elapsed / 1e6:.0f} M samples/s",
        flush=True,
    )
    print(f"  report: {frames.warnings[0]}", flush=True)


def bench_sta(n_frames: int, size: int, n_neurons: int, max_frames: int, n_lags: int) -> None:
    rng = np.random.default_rng(2)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "movie.npy"
        movie = np.lib.format.open_memmap(
            path, mode="w+", dtype=np.uint8, shape=(1, n_frames, size, size)
        )
        for first in range(0, n_frames, 4096):
            last = min(first + 4096, n_frames)
            movie[0, first:last] = (
                rng.integers(0, 2, (last - first, size, size), dtype=np.uint8) * 255
            )
        movie.flush()
        del movie
        stimulus = np.load(path, mmap_mode="r")
        responses = rng.poisson(0.2, (n_neurons, n_frames)).astype(np.float32)
        start = time.perf_counter()
        sta = spike_triggered_average(stimulus, responses, n_lags=n_lags, max_frames=max_frames)
        elapsed = time.perf_counter() - start
        del stimulus
    print(
        f"spike_triggered_average: {n_neurons} neurons, {max_frames:,} of {n_frames:,} memmapped "
        f"{size}x{size} frames, {n_lags} lags -> {elapsed:.2f} s, {max_frames / elapsed:,.0f} frames/s "
        f"(result {sta.shape})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes (smoke test)")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    bench_binning(10_000_000 // scale, 500, 360_000 // scale, 30.0, repeats=2)
    bench_triggers(3600.0 / scale, 10_000.0, 30.0, 312 // scale)
    bench_sta(36_000 // scale, 50, 100, 20_000 // scale, 15)


if __name__ == "__main__":
    main()
