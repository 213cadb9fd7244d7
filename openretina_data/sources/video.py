"""Stimulus movies in video files (mp4, avi, mkv, mov) through PyAV, decoded by frame range.

The movie is named after the file stem: ``(time, height, width)`` uint8 for
grayscale pixel formats, ``(time, height, width, 3)`` uint8 RGB otherwise; a colour
video also offers ``<stem>/gray``, its luma ``(time, height, width)`` (a gray stimulus
saved as yuv420p, ffmpeg's default, comes back as gray this way). Reading
``view[a:b]`` seeks to the key frame before ``a`` and decodes only up to ``b``.
The frame rate is in ``SourceInfo.attrs["frame_rate_hz"]``.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from openretina_data.sources.base import (
    BY_MAGIC,
    NO,
    SourceInfo,
    SourceReader,
    missing_key,
    register,
)
from openretina_data.sources.lazy import FrameArray, LazyArray
from openretina_data.sources.roles import guess_variable

#: What PyAV raises on corrupt containers besides its own errors (metadata, missing codec).
CORRUPT = (AttributeError, UnicodeDecodeError, ValueError, OverflowError, ZeroDivisionError)
GRAY_FORMATS = ("gray", "gray8", "gray10le", "gray12le", "gray16le", "gray16be", "ya8")


def _looks_like_video(header: bytes) -> bool:
    return (
        header[4:8] == b"ftyp"  # mp4 / mov
        or (header[:4] == b"RIFF" and header[8:12] == b"AVI ")
        or header[:4] == b"\x1a\x45\xdf\xa3"  # matroska / webm
    )


@register
class VideoReader(SourceReader):
    name = "video"
    description = "video file (.mp4, .avi, .mkv, .mov)"
    suffixes = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v")
    extra = "video"
    requires = ("av",)

    @classmethod
    def sniff(cls, path: Path, header: bytes) -> int:
        if _looks_like_video(header):
            return BY_MAGIC
        return super().sniff(path, header) if not header else NO

    def __init__(self, path: Any) -> None:
        super().__init__(path)
        import av

        self._av = av
        try:
            self.container = av.open(str(self.path))
        except (av.FFmpegError, *CORRUPT) as error:
            raise self.unreadable("container", error) from error
        try:
            if not self.container.streams.video:
                raise self.unreadable("streams", ValueError("the file has no video stream"))
            self.stream = self.container.streams.video[0]
            codec = self.stream.codec_context
            self.gray = (codec.pix_fmt or "") in GRAY_FORMATS
            self.height, self.width = codec.height, codec.width
            self.rate = float(self.stream.average_rate or self.stream.guessed_rate or 0)
            n_frames = int(self.stream.frames)
            if n_frames == 0:
                n_frames = len(self._presentation_times())
        except (av.FFmpegError, *CORRUPT) as error:
            self.container.close()
            raise self.unreadable("streams", error) from error
        except BaseException:
            self.container.close()
            raise
        self.key = self.path.stem
        self.shape = (n_frames, self.height, self.width) + (() if self.gray else (3,))
        self._pts: list[int] | None = None

    def _presentation_times(self) -> list[int]:
        """Every frame's timestamp in display order; demuxes packets, decodes nothing."""
        self.container.seek(0)
        times = sorted(p.pts for p in self.container.demux(self.stream) if p.pts is not None)
        self.container.seek(0)
        return times

    @property
    def views(self) -> dict[str, tuple[str, tuple[int, ...]]]:
        """``key -> (pixel format, shape)``: the movie, and its luma for a colour video."""
        views = {self.key: ("gray" if self.gray else "rgb24", self.shape)}
        if not self.gray:
            views[f"{self.key}/gray"] = ("gray", self.shape[:3])
        return views

    def probe(self) -> SourceInfo:
        variables = []
        for key, (_, shape) in self.views.items():
            variable = guess_variable(key, shape, np.uint8, hint="movie")
            if key != self.key:
                variable = replace(variable, reason="luma (gray) of the colour video")
            variables.append(variable)
        attrs = {
            "frame_rate_hz": self.rate,
            "codec": self.stream.codec_context.name,
            "pix_fmt": self.stream.codec_context.pix_fmt,
        }
        return SourceInfo(str(self.path), self.name, tuple(variables), attrs)

    def array(self, key: str) -> LazyArray:
        if key not in self.views:
            raise missing_key(key, list(self.views), self.path)
        fmt, shape = self.views[key]
        return FrameArray(shape, np.uint8, partial(self._read_frames, fmt=fmt, shape=shape))

    def _read_frames(
        self, start: int, stop: int, step: int, *, fmt: str, shape: tuple[int, ...]
    ) -> np.ndarray:
        try:
            if self._pts is None:
                self._pts = self._presentation_times()
            if len(self._pts) < self.shape[0]:
                raise self.unreadable(
                    f"frames: the header promises {self.shape[0]}, the file holds "
                    f"{len(self._pts)} (truncated?)"
                )
            wanted = {self._pts[i]: n for n, i in enumerate(range(start, stop, step))}
            out = np.empty((len(wanted), *shape[1:]), dtype=np.uint8)
            found = 0
            self.container.seek(self._pts[start], stream=self.stream, backward=True)
            for frame in self.container.decode(self.stream):
                if frame.pts in wanted:
                    out[wanted[frame.pts]] = frame.to_ndarray(format=fmt)
                    found += 1
                if found == len(wanted) or (frame.pts or 0) >= self._pts[stop - 1]:
                    break
        except (self._av.FFmpegError, *CORRUPT) as error:
            raise self.unreadable(f"frames {start}..{stop}", error) from error
        if found < len(wanted):
            raise self.unreadable(f"frames {start}..{stop}: only {found} of {len(wanted)} decoded")
        return out

    def close(self) -> None:
        self.container.close()
