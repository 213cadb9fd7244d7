"""PSTH over test repeats of one neuron, with the core's split-half reliability."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from openretina_data.timing import split_half_reliability


class PsthPlot(QWidget):
    """Every repeat of one neuron (grey), their mean (black), a time cursor, and reliability.

    ``trials`` is a lazy ``(trials, neurons, time)`` array; only one neuron is read.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget(background="w", title="repeats of the test stimulus")
        self.plot.setLabel("bottom", "time", units="s")
        self.label = QLabel()
        self.label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.plot, 1)
        self.time_cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen("#d62728", width=2))
        self.show_neuron(None, 0, 1.0)

    def show_neuron(self, trials: Any, neuron: int, frame_rate_hz: float, unit: str = "") -> None:
        """Plot neuron ``neuron`` of ``trials`` (values in ``unit``), or say there are no repeats."""
        self.plot.clear()
        self.plot.setLabel("left", unit or "response")
        if trials is None or trials.shape[0] < 2:
            self.label.setText("No test repeats here: choose a test stimulus shown several times.")
            return
        neuron = int(np.clip(neuron, 0, trials.shape[1] - 1))
        data = np.asarray(trials[:, neuron : neuron + 1, :], dtype=np.float32)  # (trials, 1, time)
        seconds = np.arange(data.shape[2]) / frame_rate_hz
        for trial in data[:, 0]:
            self.plot.plot(seconds, trial, pen=pg.mkPen((150, 150, 150, 140)))
        self.plot.plot(seconds, data[:, 0].mean(axis=0), pen=pg.mkPen("k", width=2))
        self.plot.addItem(self.time_cursor)
        reliability = float(split_half_reliability(data)[0])
        self.label.setText(
            f"neuron {neuron}: {data.shape[0]} repeats (grey) and their mean (black); "
            f"split-half reliability {reliability:.2f} (1 = identical responses every repeat)"
        )

    def set_time(self, seconds: float) -> None:
        """Move the cursor (linked to the preview's)."""
        self.time_cursor.setValue(seconds)
