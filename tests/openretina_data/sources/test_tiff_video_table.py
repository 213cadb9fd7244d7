"""TIFF, video and CSV/TSV readers: the shared contract and format details."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from openretina_data.errors import UnreadableSourceError
from openretina_data.sources import open_source, probe
from openretina_data.testing.formats import write_table, write_tiff, write_video
from openretina_data.testing.reader_suite import Arrays, ReaderContract


class TestTiffContract(ReaderContract):
    format_name = "tiff"

    def write(self, folder: Path) -> tuple[Path, Arrays]:
        return write_tiff(folder / "stack.tif")


class TestImageJCompressedTiffContract(ReaderContract):
    format_name = "tiff"

    def write(self, folder: Path) -> tuple[Path, Arrays]:
        return write_tiff(folder / "stack.tif", imagej=True, compress=True)


class TestGrayVideoContract(ReaderContract):
    format_name = "video"

    def write(self, folder: Path) -> tuple[Path, Arrays]:
        return write_video(folder / "movie.avi")


class TestRgbVideoContract(ReaderContract):
    format_name = "video"
    exact = False

    def write(self, folder: Path) -> tuple[Path, Arrays]:
        return write_video(folder / "movie.mp4", rgb=True)


class TestCsvContract(ReaderContract):
    format_name = "table"

    def write(self, folder: Path) -> tuple[Path, Arrays]:
        return write_table(folder / "spikes.csv")


class TestTsvContract(ReaderContract):
    format_name = "table"

    def write(self, folder: Path) -> tuple[Path, Arrays]:
        return write_table(folder / "spikes.tsv")


def test_rgb_video_frames_are_close_and_seek_works(tmp_path: Path) -> None:
    path, written = write_video(tmp_path / "movie.mp4", rgb=True)
    frames = written["movie"]
    with open_source(path) as reader:
        view = reader.array("movie")
        assert view.shape == frames.shape and view.dtype == np.uint8
        late = view[9:12].astype(int)
        assert np.abs(late - frames[9:12]).mean() < 12
        np.testing.assert_array_equal(view[10], np.asarray(view)[10])
    assert probe(path).attrs["frame_rate_hz"] == 30.0


def test_colour_video_offers_its_luma(tmp_path: Path) -> None:
    path, written = write_video(tmp_path / "movie.mp4", rgb=True)
    luma = written["movie"].astype(float) @ [0.299, 0.587, 0.114]
    with open_source(path) as reader:
        gray = reader.array("movie/gray")
        assert gray.shape == luma.shape and gray.dtype == np.uint8
        assert np.abs(gray[4:8].astype(float) - luma[4:8]).mean() < 12


def test_video_is_a_stimulus(tmp_path: Path) -> None:
    path, _ = write_video(tmp_path / "recording.avi")
    variable = probe(path).variables[0]
    assert variable.role == "stimulus" and variable.shape == (15, 16, 24)


def test_table_types_and_roles(tmp_path: Path) -> None:
    path, _ = write_table(tmp_path / "spikes.csv")
    info = probe(path)
    assert info.variable("unit").dtype == np.dtype(np.int64).str
    assert info.variable("quality").dtype == np.dtype(object).str
    assert info.variable("spike_time_s").role == "spike_times"
    assert info.variable("spike_time_s").unit == "s"


def test_headerless_table_gets_numbered_columns(tmp_path: Path) -> None:
    (tmp_path / "events.txt").write_text("0.5\n1.5\n2.5\n")
    with open_source(tmp_path / "events.txt") as reader:
        assert reader.keys() == ["column_0"]
        np.testing.assert_array_equal(reader.array("column_0")[:], [0.5, 1.5, 2.5])


def test_ragged_table_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n3\n")
    with (
        open_source(tmp_path / "bad.csv") as reader,
        pytest.raises(UnreadableSourceError, match="line 3"),
    ):
        np.asarray(reader.array("a"))
