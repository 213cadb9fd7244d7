"""Fixation movies of Karamanlis et al. (2024): natural images shifted by recorded gaze.

The archive stores the images and, per frame, which image was shown and where its
centre sat on the screen; the movie itself must be rebuilt. A frame is an 800 x 600
(width x height) screen, black (0) where no image pixel falls, with image ``index`` (1-based)
placed so that screen column ``c`` shows image column ``c - width // 2 + x`` and screen
row ``r`` shows image row ``r - height // 2 + y``.

openretina 1.1.1 builds the same frames but lets one column and one row next to the
image's left/top edge show the image's *last* column/row (a negative index wraps
around in Python); here they stay black. It then shrinks frames with torchvision's
antialiased bilinear ``Resize``; here frames are shrunk by averaging blocks of pixels
(600 x 800 -> 60 x 80 averages 10 x 10 blocks), which needs no torch. Expect values that
differ from openretina's by the resampling filter, not by content or alignment.
"""

from __future__ import annotations

import numpy as np

from openretina_data.errors import DataValidationError, ShapeError

SCREEN_SIZE = (600, 800)  # (height, width) in pixels
DOWNSAMPLED_SIZE = (60, 80)


def compose_frame(
    images: np.ndarray,
    fixation: np.ndarray,
    screen_size: tuple[int, int] = SCREEN_SIZE,
) -> np.ndarray:
    """One screen frame.

    Parameters
    ----------
    images : (n_images, image_height, image_width)
        The image ensemble, intensities as stored.
    fixation : (3,)
        ``(image index, x, y)``: 1-based image index and the image pixel at the screen centre.
    screen_size
        ``(height, width)`` of the screen in pixels.

    Returns
    -------
    np.ndarray
        (height, width) float32 frame.
    """
    height, width = screen_size
    index, x, y = (int(v) for v in fixation)
    if not 1 <= index <= images.shape[0]:
        raise DataValidationError(
            f"a fixation names image {index}, but there are {images.shape[0]} images (1-based)",
            hint="The fixations and images come from different files or stimuli.",
        )
    image = images[index - 1]
    frame = np.zeros(screen_size, dtype=np.float32)
    row_offset, col_offset = (
        height // 2 - y,
        width // 2 - x,
    )  # screen position of image pixel (0, 0)
    top, left = max(row_offset, 0), max(col_offset, 0)
    bottom = min(row_offset + image.shape[0], height)
    right = min(col_offset + image.shape[1], width)
    if top < bottom and left < right:
        frame[top:bottom, left:right] = image[
            top - row_offset : bottom - row_offset, left - col_offset : right - col_offset
        ]
    return frame


def block_average(frame: np.ndarray, size: tuple[int, int] = DOWNSAMPLED_SIZE) -> np.ndarray:
    """Shrink a (height, width) frame to ``size`` by averaging equal blocks of pixels."""
    height, width = frame.shape
    rows, cols = size
    if height % rows or width % cols:
        raise ShapeError(
            f"a {height}x{width} frame cannot be split into {rows}x{cols} equal blocks",
            hint="Choose a downsampled size that divides the screen size.",
        )
    blocks = frame.reshape(rows, height // rows, cols, width // cols)
    return blocks.mean(axis=(1, 3), dtype=np.float64).astype(np.float32)


def fixation_movie(
    images: np.ndarray,
    fixations: np.ndarray,
    screen_size: tuple[int, int] = SCREEN_SIZE,
    size: tuple[int, int] = DOWNSAMPLED_SIZE,
) -> np.ndarray:
    """(frames, rows, cols) float32 movie for ``fixations`` of shape (frames, 3)."""
    if fixations.ndim != 2 or fixations.shape[1] != 3:
        raise ShapeError(f"fixations have shape {fixations.shape}; expected (frames, 3)")
    movie = np.empty((fixations.shape[0], *size), dtype=np.float32)
    for frame_index, fixation in enumerate(fixations):
        movie[frame_index] = block_average(compose_frame(images, fixation, screen_size), size)
    return movie
