"""Linked preview plots: stimulus frame, response traces and heat map, one time cursor.

Every plot shares one cursor (a frame index). Moving the slider, pressing keys or
clicking a plot moves it everywhere. Data are read lazily: one movie frame and one
window of responses per update, so a 360 000-frame movie is never loaded whole.

Keys: Left/Right one frame, PgUp/PgDn one second, Home/End first/last frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.state import PreviewData

WINDOW_FRAMES = 300
"""Frames of responses shown around the cursor."""

MAX_TRACES = 8


class LinkedPreview(QWidget):
    """Stimulus frame + response traces + response heat map with a shared time cursor."""

    frameChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data: PreviewData | None = None
        self.frame = 0
        self.channel = 0
        self.neurons: list[int] = []
        self._levels = (0.0, 1.0)
        self._window: tuple[int, int] | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self.title = QLabel("Nothing to preview yet.")
        self.title.setProperty("role", "heading")
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.image_view = self.graphics.addViewBox(row=0, col=0, rowspan=2, lockAspect=True)
        self.image_view.invertY(True)  # row 0 of the frame at the top, as on the screen
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image_view.addItem(self.image)
        self.image_view.setMouseEnabled(False, False)
        self.traces_plot = self.graphics.addPlot(
            row=0, col=1, title="responses of the selected neurons"
        )
        self.heat_plot = self.graphics.addPlot(row=1, col=1, title="all neurons")
        self.heat_plot.setXLink(self.traces_plot)
        self.heat_plot.setLabel("bottom", "time", units="s")
        self.heat_plot.setLabel("left", "neuron")
        self.heat = pg.ImageItem(axisOrder="row-major")
        self.heat.setColorMap(pg.colormap.get("viridis"))
        self.heat_plot.addItem(self.heat)
        self.graphics.ci.layout.setColumnStretchFactor(0, 2)
        self.graphics.ci.layout.setColumnStretchFactor(1, 3)
        self.cursors = []
        for plot in (self.traces_plot, self.heat_plot):
            line = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen("#d62728", width=2))
            line.sigPositionChanged.connect(self._cursor_dragged)
            plot.addItem(line)
            self.cursors.append(line)
        self.curves: list[pg.PlotDataItem] = []

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Scrub through time (keys: ←/→ one frame, PgUp/PgDn one second)")
        self.slider.valueChanged.connect(self.set_frame)
        self.position = QLabel()
        self.channel_box = QComboBox()
        self.channel_box.setToolTip("Which colour channel of the stimulus to show")
        self.channel_box.currentIndexChanged.connect(self._channel_changed)
        self.neuron_box = QSpinBox()
        self.neuron_box.setPrefix("first neuron ")
        self.neuron_box.setToolTip(f"Traces show up to {MAX_TRACES} neurons from this one")
        self.neuron_box.valueChanged.connect(self._neurons_changed)

        controls = QHBoxLayout()
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.position)
        controls.addWidget(QLabel("channel"))
        controls.addWidget(self.channel_box)
        controls.addWidget(self.neuron_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.graphics, 1)
        layout.addLayout(controls)

    # --- data ---------------------------------------------------------------------

    def set_data(self, data: PreviewData | None) -> None:
        """Show ``data`` (or clear); the cursor goes to the first frame."""
        self.data = data
        self._window = None
        if data is None:
            self.title.setText("Nothing to preview yet.")
            self.image.clear()
            self.heat.clear()
            for curve in self.curves:
                curve.setData([], [])
            return
        self.title.setText(data.title)
        n_channels = int(data.movie.shape[0])
        self.channel_box.blockSignals(True)
        self.channel_box.clear()
        self.channel_box.addItems([str(c) for c in range(n_channels)])
        self.channel_box.blockSignals(False)
        self.channel_box.setEnabled(n_channels > 1)
        self.neuron_box.setRange(0, max(data.n_neurons - 1, 0))
        self.neuron_box.setEnabled(data.n_neurons > 0)
        self.traces_plot.setLabel("left", f"{data.unit} (stacked)")
        self.neurons = list(range(min(MAX_TRACES, data.n_neurons)))
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(data.n_frames - 1, 0))
        self.slider.setPageStep(max(int(round(data.frame_rate_hz)), 1))
        self.slider.blockSignals(False)
        self._levels = movie_levels(data, self.channel)
        self.frame = -1
        self.set_frame(0)

    def select_neurons(self, neurons: Sequence[int]) -> None:
        """Draw traces for these neurons (at most :data:`MAX_TRACES`)."""
        self.neurons = list(neurons)[:MAX_TRACES]
        self._window = None
        self._update_responses()

    # --- cursor -------------------------------------------------------------------

    def set_frame(self, frame: int) -> None:
        """Move the shared cursor to ``frame`` (clipped) and redraw what changed."""
        if self.data is None:
            return
        frame = int(np.clip(frame, 0, self.data.n_frames - 1))
        if frame == self.frame:
            return
        self.frame = frame
        self.slider.blockSignals(True)
        self.slider.setValue(frame)
        self.slider.blockSignals(False)
        seconds = frame / self.data.frame_rate_hz
        self.position.setText(f"frame {frame} / {self.data.n_frames - 1} · {seconds:.2f} s")
        self._update_image()
        for line in self.cursors:
            line.blockSignals(True)
            line.setValue(seconds)
            line.blockSignals(False)
        self._update_responses()
        self.frameChanged.emit(frame)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if self.data is None:
            super().keyPressEvent(event)
            return
        second = max(int(round(self.data.frame_rate_hz)), 1)
        steps = {
            Qt.Key.Key_Right: 1,
            Qt.Key.Key_Left: -1,
            Qt.Key.Key_PageDown: second,
            Qt.Key.Key_PageUp: -second,
        }
        key = Qt.Key(event.key())
        if key in steps:
            self.set_frame(self.frame + steps[key])
        elif key == Qt.Key.Key_Home:
            self.set_frame(0)
        elif key == Qt.Key.Key_End:
            self.set_frame(self.data.n_frames - 1)
        else:
            super().keyPressEvent(event)

    def _cursor_dragged(self, line: pg.InfiniteLine) -> None:
        if self.data is not None:
            self.set_frame(int(round(line.value() * self.data.frame_rate_hz)))

    def _channel_changed(self, index: int) -> None:
        self.channel = max(index, 0)
        if self.data is not None:
            self._levels = movie_levels(self.data, self.channel)
        self._update_image()

    def _neurons_changed(self, first: int) -> None:
        if self.data is not None:
            stop = min(first + MAX_TRACES, self.data.n_neurons)
            self.select_neurons(range(first, stop))

    # --- drawing ------------------------------------------------------------------

    def _update_image(self) -> None:
        if self.data is None:
            return
        frame = np.asarray(self.data.movie[self.channel, self.frame], dtype=np.float32)
        self.image.setImage(frame, levels=self._levels)

    def _update_responses(self) -> None:
        data = self.data
        if data is None or data.responses is None:
            return
        # The window moves in steps of half its width, so scrubbing frame by frame
        # rereads responses only every WINDOW_FRAMES / 2 frames; the cursor stays inside.
        block = WINDOW_FRAMES // 2
        start = max(
            0, min((self.frame // block) * block - block // 2, data.n_frames - WINDOW_FRAMES)
        )
        stop = min(start + WINDOW_FRAMES, int(data.responses.shape[1]))
        if self._window == (start, stop):
            return  # the window did not move: only the cursor did
        self._window = (start, stop)
        window = np.asarray(data.responses[:, start:stop], dtype=np.float32)
        seconds = np.arange(start, stop) / data.frame_rate_hz
        while len(self.curves) < len(self.neurons):
            colour = pg.intColor(len(self.curves), hues=MAX_TRACES)
            self.curves.append(self.traces_plot.plot(pen=pg.mkPen(colour, width=1.5)))
        offset = float(np.nanmax(np.abs(window))) if window.size else 1.0
        for i, curve in enumerate(self.curves):
            if i < len(self.neurons) and self.neurons[i] < window.shape[0]:
                curve.setData(seconds, window[self.neurons[i]] + i * offset)
            else:
                curve.setData([], [])
        self.heat.setImage(window, autoLevels=True)
        dt = 1.0 / data.frame_rate_hz
        self.heat.setRect(start * dt, 0, (stop - start) * dt, window.shape[0])
        self.traces_plot.setXRange(start * dt, stop * dt, padding=0)


def movie_levels(data: PreviewData, channel: int, samples: int = 8) -> tuple[float, float]:
    """Grey levels fixed for the whole movie (so scrubbing does not flicker).

    Reads ``samples`` frames spread over the movie; uint8 movies use 0..255.
    """
    if np.dtype(getattr(data.movie, "dtype", np.float32)) == np.uint8:
        return 0.0, 255.0
    picks = np.linspace(0, data.n_frames - 1, num=min(samples, data.n_frames)).astype(int)
    frames = np.stack([np.asarray(data.movie[channel, int(t)], dtype=np.float32) for t in picks])
    low, high = float(np.nanmin(frames)), float(np.nanmax(frames))
    return (low, high) if high > low else (low, low + 1.0)
