"""Wizard responsiveness: UI event-loop lag while converting, and preview scrub time per frame.

Run: ``flock /tmp/bigmem.lock .venv/bin/python benchmarks/wizard_responsiveness.py``
(offscreen; writes ~1 GB of temporary movies, uses little RAM). Prints numbers, asserts nothing.

1. **Event-loop lag while converting.** A recipe with a ``--convert-frames``-frame 50×50
   uint8 movie and binned responses is converted by the Write page's ``ConversionRunner``
   (worker thread, progress bar, log), while a 10 ms ``QTimer`` on the UI thread measures how late
   each tick fires. Target (issue 7): the worst lag stays under 100 ms.
2. **Scrubbing the preview.** A ``--scrub-frames``-frame 50×50 movie (360 000 frames, the
   Maheswaranathan size, by default) memory-mapped through ``openretina_data.sources`` is
   shown in the linked preview with 60 neurons of responses; the cursor jumps to random
   frames and each update (frame read + traces window + repaint) is timed.
   Target: under 50 ms per frame.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QTimer, QtMsgType, qInstallMessageHandler  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.preview_data import MovieView  # noqa: E402
from app.sources_cache import ReaderCache  # noqa: E402
from app.state import PreviewData  # noqa: E402
from app.widgets.conversion import ConversionRunner  # noqa: E402
from app.widgets.preview import LinkedPreview  # noqa: E402
from openretina_data.recipe import Epoch, Recipe, ResponseSource, SessionSpec, StimulusSpec  # noqa: E402


def _quiet_offscreen(mode: QtMsgType, context: object, message: str) -> None:
    """Drop the offscreen platform's 'propagateSizeHints' notice; print anything else."""
    if "propagateSizeHints" not in message:
        print(message)


def write_movie(path: Path, frames: int, chunk: int = 20_000) -> None:
    """A uint8 (frames, 50, 50) .npy written in chunks (never whole in RAM)."""
    movie = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(frames, 50, 50))
    rng = np.random.default_rng(0)
    for start in range(0, frames, chunk):
        stop = min(start + chunk, frames)
        movie[start:stop] = rng.integers(0, 256, size=(stop - start, 50, 50), dtype=np.uint8)
    movie.flush()
    del movie


def conversion_lag(folder: Path, frames: int) -> dict[str, float]:
    """Worst and typical lateness of a 10 ms UI timer while a conversion runs in the worker."""
    write_movie(folder / "movie.npy", frames)
    np.save(
        folder / "s0.npy", np.random.default_rng(1).poisson(1.0, (60, frames)).astype(np.float32)
    )
    recipe = Recipe(
        output="dataset",
        frame_rate_hz=30.0,
        stimuli=[StimulusSpec(name="natural", path="movie.npy", axes="thw")],
        sessions=[
            SessionSpec(
                name="s0",
                responses=[
                    ResponseSource(
                        path="s0.npy", kind="binned", unit="spikes/bin", epochs=[Epoch("natural")]
                    )
                ],
            )
        ],
        dtype="uint8",
        base_dir=folder,
    )
    from openretina_data.convert import convert

    app = QApplication.instance() or QApplication([])
    lags: list[float] = []
    last = [time.perf_counter()]
    timer = QTimer()
    timer.setInterval(10)

    def tick() -> None:
        now = time.perf_counter()
        lags.append(now - last[0] - 0.010)
        last[0] = now

    timer.timeout.connect(tick)
    # The Write page's own runner: progress bar, time left and log are updated as in the app.
    runner = ConversionRunner()
    runner.resize(1180, 500)
    runner.show()
    started = time.perf_counter()
    timer.start()
    runner.run(lambda: convert(recipe), recipe.resolve(recipe.output))
    while runner.outcome == "":
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    if runner.outcome != "done":
        print("conversion", runner.outcome, runner.log.toPlainText())
    runner.cancel_and_wait()
    runner.close()
    lag = np.asarray(lags[1:]) * 1000
    return {
        "seconds": time.perf_counter() - started,
        "ticks": float(lag.size),
        "max_ms": float(lag.max()),
        "p99_ms": float(np.percentile(lag, 99)),
        "median_ms": float(np.median(lag)),
    }


def scrub_time(folder: Path, frames: int, jumps: int) -> dict[str, float]:
    """Milliseconds per cursor update on a memory-mapped movie, random jumps and single steps."""
    write_movie(folder / "big.npy", frames)
    np.save(folder / "big_responses.npy", np.random.default_rng(2).random((60, frames), np.float32))
    app = QApplication.instance() or QApplication([])
    readers = ReaderCache()
    movie = MovieView(readers.array(folder / "big.npy", None), "thw")
    responses = readers.array(folder / "big_responses.npy", None)
    widget = LinkedPreview()
    widget.resize(1180, 560)
    widget.show()
    widget.set_data(
        PreviewData(movie=movie, responses=responses, frame_rate_hz=120.0, title="benchmark")
    )
    app.processEvents()
    rng = np.random.default_rng(3)

    def timed(targets: np.ndarray) -> np.ndarray:
        out = []
        for frame in targets.tolist():
            start = time.perf_counter()
            widget.set_frame(frame)
            widget.repaint()
            app.processEvents()
            out.append(time.perf_counter() - start)
        return np.asarray(out) * 1000

    jumps_ms = timed(rng.integers(0, frames, jumps))
    steps_ms = timed(np.arange(1000, 1000 + jumps))
    widget.close()
    readers.close_all()
    return {
        "jump_median_ms": float(np.median(jumps_ms)),
        "jump_max_ms": float(jumps_ms.max()),
        "step_median_ms": float(np.median(steps_ms)),
        "step_max_ms": float(steps_ms.max()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--convert-frames", type=int, default=100_000, help="frames of the converted movie"
    )
    parser.add_argument(
        "--scrub-frames", type=int, default=360_000, help="frames of the scrubbed movie"
    )
    parser.add_argument("--jumps", type=int, default=200, help="cursor updates timed")
    args = parser.parse_args()
    qInstallMessageHandler(_quiet_offscreen)
    with tempfile.TemporaryDirectory(prefix="wizard-bench-") as tmp:
        lag = conversion_lag(Path(tmp), args.convert_frames)
        print(
            f"converting {args.convert_frames} frames of 50x50 (+60 neurons) took {lag['seconds']:.1f} s; "
            f"UI timer lateness over {lag['ticks']:.0f} ticks: median {lag['median_ms']:.1f} ms, "
            f"p99 {lag['p99_ms']:.1f} ms, max {lag['max_ms']:.1f} ms (target < 100 ms)"
        )
    with tempfile.TemporaryDirectory(prefix="wizard-bench-") as tmp:
        scrub = scrub_time(Path(tmp), args.scrub_frames, args.jumps)
        print(
            f"preview scrub on a {args.scrub_frames}x50x50 memory-mapped movie: random jumps "
            f"median {scrub['jump_median_ms']:.1f} ms (max {scrub['jump_max_ms']:.1f}), single steps "
            f"median {scrub['step_median_ms']:.1f} ms (max {scrub['step_max_ms']:.1f}) per frame (target < 50 ms)"
        )


if __name__ == "__main__":
    main()
