"""Convert a published dataset: pick a preset, the downloaded archive and an output folder."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
)

from app.pages.base import WizardPage
from app.widgets.conversion import ConversionRunner
from openretina_data.datasets import PRESETS, Preset, get_preset

if TYPE_CHECKING:
    from app.wizard import ImportWizard


def preset_card(preset: Preset) -> str:
    """The paper, data DOI, licence and download place of ``preset``, as rich text."""
    c = {key: escape(value) for key, value in preset.citation.items()}
    rows = [
        ("Paper", f"{c.get('authors', '')}. <i>{c.get('title', '')}</i>. {c.get('journal', '')}"),
        ("Paper DOI", c.get("doi", "")),
        ("Data DOI", c.get("data_doi", "")),
        ("Download", f"<a href='{c.get('url', '')}'>{c.get('url', '')}</a>"),
        ("Licence", c.get("license", "")),
        ("Recorded", f"{c.get('species', '')}; {c.get('recording_method', '')}"),
        ("Responses", c.get("units", "")),
        ("Archive folder", f"<code>{escape(preset.archive_layout)}</code>"),
    ]
    cells = "".join(
        f"<tr><td style='padding-right:12px'><b>{name}</b></td><td>{value}</td></tr>"
        for name, value in rows
        if value
    )
    return f"<table>{cells}</table>"


class PublishedPage(WizardPage):
    """One published dataset converted by its preset, then checked on the Use page."""

    page_id = "published"

    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__(
            wizard,
            "Convert a published dataset",
            "Nothing is downloaded: download and unpack the archive first (see Download "
            "below), then choose its folder and where the dataset should go.",
        )
        grid = QGridLayout()
        self.preset = QComboBox()
        for preset in PRESETS.values():
            self.preset.addItem(preset.title, preset.name)
        self.preset.setToolTip("The published dataset (paper, species, stimulus)")
        self.preset.currentIndexChanged.connect(self._preset_changed)
        self.archive = QLineEdit()
        self.archive.setPlaceholderText("the folder you unpacked the archive into")
        self.archive.textChanged.connect(self._inputs_changed)
        archive_button = QPushButton("Browse…")
        archive_button.setToolTip("Choose the archive folder")
        archive_button.clicked.connect(self.choose_archive)
        self.output = QLineEdit()
        self.output.setPlaceholderText("a new folder for the converted dataset")
        self.output.setToolTip("Created by the conversion; it must not exist yet")
        self.output.textChanged.connect(self._inputs_changed)
        output_button = QPushButton("Browse…")
        output_button.setToolTip("Choose where the dataset folder is created")
        output_button.clicked.connect(self.choose_output)
        self.overwrite = QCheckBox("Replace it if it exists")
        self.overwrite.setToolTip("The old dataset is replaced only once the new one is complete")
        self.overwrite.toggled.connect(self._inputs_changed)
        for row, (label, field, button) in enumerate(
            (
                ("&Dataset", self.preset, None),
                ("A&rchive folder", self.archive, archive_button),
                ("O&utput folder", self.output, output_button),
            )
        ):
            name = QLabel(label)
            name.setBuddy(field)
            grid.addWidget(name, row, 0)
            grid.addWidget(field, row, 1)
            if button is not None:
                grid.addWidget(button, row, 2)
        grid.addWidget(self.overwrite, 3, 1)
        grid.setColumnStretch(1, 1)
        self.card = QLabel()
        self.card.setWordWrap(True)
        self.card.setOpenExternalLinks(True)
        self.card.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.runner = ConversionRunner()
        self.runner.convert_requested.connect(self.start)
        self.runner.ended.connect(self._ended)
        self.body.addLayout(grid)
        self.body.addWidget(self.card)
        self.body.addWidget(self.runner, 1)
        self.finish_layout()
        self._preset_changed()

    @property
    def chosen(self) -> Preset:
        """The preset selected in the list."""
        return get_preset(str(self.preset.currentData()))

    def load(self) -> None:
        self._inputs_changed()

    def _preset_changed(self) -> None:
        self.card.setText(preset_card(self.chosen))
        self._inputs_changed()

    def _inputs_changed(self) -> None:
        if not self.runner.busy():
            self.runner.convert_button.setEnabled(not self.input_problems())
        self.refresh()

    def choose_archive(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of the unpacked archive")
        if folder:
            self.archive.setText(folder)
            if not self.output.text():
                self.output.setText(str(Path(folder).parent / f"{self.chosen.name}_dataset"))

    def choose_output(self) -> None:
        folder, _ = QFileDialog.getSaveFileName(
            self, "Dataset folder to create", self.output.text()
        )
        if folder:
            self.output.setText(folder)

    def input_problems(self) -> list[str]:
        """What must be chosen before Convert can start."""
        archive, output = self.archive.text().strip(), self.output.text().strip()
        problems = []
        if not archive:
            problems.append(
                f"Choose the archive folder: it must hold {self.chosen.archive_layout}."
            )
        elif not Path(archive).is_dir():
            problems.append(f"The archive folder {archive} does not exist.")
        if not output:
            problems.append("Choose an output folder for the dataset.")
        elif Path(output).exists() and not self.overwrite.isChecked():
            problems.append(
                f"{output} already exists: choose a new folder, or tick ‘Replace it if it exists’."
            )
        return problems

    def start(self) -> None:
        """Run the preset's conversion in a worker thread."""
        if self.runner.busy() or self.input_problems():
            return
        preset = self.chosen
        archive, output = self.archive.text().strip(), self.output.text().strip()
        overwrite = self.overwrite.isChecked()
        self.state.written_dir = ""
        self.runner.run(lambda: preset.convert(archive, output, overwrite=overwrite), output)
        self.refresh()

    def _ended(self, outcome: str) -> None:
        if outcome == "done":
            self.state.written_dir = str(Path(self.runner.target).resolve())
            self.wizard_.remember("datasets", self.state.written_dir)
        self._inputs_changed()

    def cancel_and_wait(self) -> None:
        """Cancel and wait for the worker (window closing only)."""
        self.runner.cancel_and_wait()

    def stop_work(self) -> None:
        self.runner.stop_clock()
        self.runner.cancel_and_wait()

    def refresh(self) -> None:
        done = (
            ""
            if self.runner.outcome != "done"
            else ("Written. Press Next to check the dataset and load it as openretina will.")
        )
        self.reason.show_problems(self.problems(), ready=done)
        self.completeChanged.emit()

    def problems(self) -> list[str]:
        if self.runner.busy():
            return ["The conversion is running."]
        if self.runner.outcome == "done":
            return []
        return self.input_problems() or ["Press Convert to write the dataset."]

    def nextId(self) -> int:  # noqa: N802 - Qt API
        return self.wizard_.page_number("use")
