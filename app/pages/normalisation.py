"""Normalisation and splits: stimulus mean/std, which stimuli are test, repeats, validation clips."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
)

from app.pages.base import WizardPage
from app.widgets.numbers import NumberBox
from openretina_data.recipe import Loader

if TYPE_CHECKING:
    from app.wizard import ImportWizard

MODES = {
    "compute": "compute from the training stimuli",
    "given": "use the values below",
    "none": "do not normalise",
}


class NormalisationPage(WizardPage):
    """Edits ``recipe.normalisation``, ``dtype``, ``repeats`` and the stimuli's split."""

    page_id = "normalisation"

    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__(
            wizard,
            "Normalisation and splits",
            "openretina normalises stimuli with one mean and standard deviation. Test "
            "stimuli are held out; validation clips are cut from training data when loading.",
        )
        row = QHBoxLayout()
        norm = QGroupBox("Stimulus normalisation")
        form = QFormLayout(norm)
        self.norm_form = form
        self.mode = QComboBox()
        for value, text in MODES.items():
            self.mode.addItem(text, value)
        self.mode.setToolTip("Computed statistics are a streaming pass over the training movies")
        self.mode.currentIndexChanged.connect(self._edit)
        form.addRow("Mean and std", self.mode)
        self.mean = NumberBox(-1e9, 1e9)
        self.std = NumberBox(-1e9, 1e9)
        for box, tip in (
            (self.mean, "Mean of the stimulus pixel values"),
            (self.std, "Standard deviation of the stimulus pixel values (greater than 0)"),
        ):
            box.setToolTip(tip)
            box.valueChanged.connect(self._edit)
        form.addRow("Mean", self.mean)
        form.addRow("Std", self.std)
        self.computed_note = QLabel(
            "Computed over the training movies while the dataset is written, then stored "
            "in the dataset card."
        )
        self.computed_note.setWordWrap(True)
        self.computed_note.setProperty("role", "hint")
        form.addRow(self.computed_note)
        self.dtype = QComboBox()
        self.dtype.addItems(["float32", "uint8"])
        self.dtype.setToolTip(
            "uint8 stores movies 4× smaller; our loaders normalise them per batch"
        )
        self.dtype.currentTextChanged.connect(self._edit)
        form.addRow("Stimulus type", self.dtype)

        splits = QGroupBox("Splits and loading (used by the Use page and its snippet)")
        sform = QFormLayout(splits)
        self.tests = QListWidget()
        self.tests.setToolTip("Ticked stimuli are test stimuli")
        self.tests.setMaximumHeight(120)
        self.tests.itemChanged.connect(self._test_ticked)
        sform.addRow("Test stimuli", self.tests)
        self.trials = QCheckBox("keep every repeat (test_by_trial_<stimulus>)")
        self.trials.setToolTip("Besides the mean over repeats, store each trial for reliability")
        self.trials.toggled.connect(self._edit)
        sform.addRow("Repeats", self.trials)
        self.clip = QSpinBox()
        self.clip.setRange(1, 100_000)
        self.clip.setSuffix(" frames")
        self.clip.setToolTip("clip_length: length of one validation clip")
        self.clip.valueChanged.connect(self._edit)
        sform.addRow("Validation clip", self.clip)
        self.n_val = QSpinBox()
        self.n_val.setRange(1, 10_000)  # the dataloaders refuse num_val_clips < 1
        self.n_val.setToolTip(
            "num_val_clips: clips held out from training for validation (at least 1)"
        )
        self.n_val.valueChanged.connect(self._edit)
        sform.addRow("Validation clips", self.n_val)
        self.chunk = QSpinBox()
        self.chunk.setRange(1, 100_000)
        self.chunk.setSuffix(" frames")
        self.chunk.setToolTip("train_chunk_size: frames per training sample")
        self.chunk.valueChanged.connect(self._edit)
        sform.addRow("Training chunk", self.chunk)
        self.batch = QSpinBox()
        self.batch.setRange(1, 100_000)
        self.batch.setToolTip("batch_size: training samples per batch")
        self.batch.valueChanged.connect(self._edit)
        sform.addRow("Batch size", self.batch)
        row.addWidget(norm)
        row.addWidget(splits)
        self.body.addLayout(row)
        self.body.addStretch(1)
        self.finish_layout()
        self._filling = False

    def load(self) -> None:
        self.state.fit_validation()
        self._filling = True
        recipe = self.state.recipe
        self.mode.setCurrentIndex(list(MODES).index(recipe.normalisation.mode))
        self.mean.setValue(recipe.normalisation.mean or 0.0)
        self.std.setValue(recipe.normalisation.std or 0.0)
        self.dtype.setCurrentText(recipe.dtype)
        self.trials.setChecked(recipe.repeats.store_trials)
        self.clip.setValue(self.state.clip_length)
        self.n_val.setValue(self.state.num_val_clips)
        self.chunk.setValue(self.state.train_chunk_size)
        self.batch.setValue(self.state.batch_size)
        self.tests.clear()
        for spec in recipe.stimuli:
            item = QListWidgetItem(spec.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(
                Qt.CheckState.Checked if spec.split == "test" else Qt.CheckState.Unchecked
            )
            self.tests.addItem(item)
        self._filling = False
        self._enable()

    def _enable(self) -> None:
        given = self.mode.currentData() == "given"
        self.mean.setEnabled(given)
        self.std.setEnabled(given)
        # A computed mean is not known yet: show no number rather than a misleading 0.
        self.norm_form.setRowVisible(self.mean, given)
        self.norm_form.setRowVisible(self.std, given)
        self.computed_note.setVisible(self.mode.currentData() == "compute")

    def _edit(self) -> None:
        if self._filling:
            return
        recipe = self.state.recipe
        recipe.normalisation.mode = self.mode.currentData()
        given = recipe.normalisation.mode == "given"
        recipe.normalisation.mean = self.mean.value() if given else None
        recipe.normalisation.std = self.std.value() if given else None
        recipe.dtype = "uint8" if self.dtype.currentText() == "uint8" else "float32"
        recipe.repeats.store_trials = self.trials.isChecked()
        chosen = Loader(
            train_chunk_size=self.chunk.value(),
            batch_size=self.batch.value(),
            clip_length=self.clip.value(),
            num_val_clips=self.n_val.value(),
            seed=recipe.loader.seed,
        )
        if chosen != recipe.loader:
            self.state.validation_edited = True  # the user's choice: no longer fitted
        recipe.loader = chosen
        self._enable()
        self.refresh()

    def _test_ticked(self, item: QListWidgetItem) -> None:
        if self._filling:
            return
        spec = self.state.recipe.stimuli[self.tests.row(item)]
        spec.split = "test" if item.checkState() == Qt.CheckState.Checked else "train"
        self.refresh()

    def problems(self) -> list[str]:
        problems = self.state.page_problems("normalisation")
        stimuli = self.state.recipe.stimuli
        if stimuli and all(s.split == "test" for s in stimuli):
            problems.append("Every stimulus is ticked as test: leave one for training.")
        return problems
