"""Rebuilding Karamanlis et al. (2024) fixation movies from images and gaze positions."""

from __future__ import annotations

import numpy as np
import pytest

from openretina_data.datasets.fixation_movie import block_average, compose_frame, fixation_movie
from openretina_data.errors import DataValidationError, ShapeError


def _naive_frame(image: np.ndarray, x: int, y: int, screen: tuple[int, int]) -> np.ndarray:
    """Pixel by pixel: screen (r, c) shows image (r - H//2 + y, c - W//2 + x) when that exists."""
    height, width = screen
    rows = np.arange(height)[:, None] - height // 2 + y
    cols = np.arange(width)[None, :] - width // 2 + x
    inside = (rows >= 0) & (rows < image.shape[0]) & (cols >= 0) & (cols < image.shape[1])
    frame = np.zeros(screen, dtype=np.float32)
    frame[inside] = image[
        np.clip(rows, 0, image.shape[0] - 1), np.clip(cols, 0, image.shape[1] - 1)
    ][inside]
    return frame


@pytest.mark.parametrize(("x", "y"), [(0, 0), (5, 3), (11, 7), (-4, 20), (30, -2)])
def test_a_frame_puts_the_fixated_pixel_at_the_screen_centre(x: int, y: int) -> None:
    rng = np.random.default_rng(1)
    images = rng.random((2, 8, 12)).astype(np.float32)
    frame = compose_frame(images, np.array([2, x, y]), screen_size=(10, 16))
    np.testing.assert_array_equal(frame, _naive_frame(images[1], x, y, (10, 16)))


def test_no_pixel_wraps_around_the_image_edge() -> None:
    # openretina 1.1.1 shows the image's last column left of its first one; we leave it black.
    images = np.arange(1, 1 + 6 * 8, dtype=np.float32).reshape(1, 6, 8)
    frame = compose_frame(images, np.array([1, 0, 0]), screen_size=(12, 16))
    assert frame[6, 8] == images[0, 0, 0]
    assert frame[6, 7] == 0 and frame[5, 8] == 0


def test_an_image_index_outside_the_ensemble_is_refused() -> None:
    with pytest.raises(DataValidationError, match="names image 3, but there are 2"):
        compose_frame(np.zeros((2, 4, 4)), np.array([3, 0, 0]))


def test_block_average_means_each_block() -> None:
    frame = np.arange(4 * 6, dtype=np.float32).reshape(4, 6)
    small = block_average(frame, (2, 3))
    assert small[0, 0] == pytest.approx(frame[:2, :2].mean())
    assert small[1, 2] == pytest.approx(frame[2:, 4:].mean())
    with pytest.raises(ShapeError, match="equal blocks"):
        block_average(frame, (3, 3))


def test_a_movie_is_its_frames_shrunk() -> None:
    rng = np.random.default_rng(2)
    images = rng.random((3, 40, 50)).astype(np.float32)
    fixations = np.array([[1, 25, 20], [3, 0, 39], [2, 49, 0]])
    movie = fixation_movie(images, fixations, screen_size=(60, 80), size=(6, 8))
    assert movie.shape == (3, 6, 8) and movie.dtype == np.float32
    for frame, (index, x, y) in zip(movie, fixations, strict=True):
        expected = (
            _naive_frame(images[index - 1], x, y, (60, 80)).reshape(6, 10, 8, 10).mean(axis=(1, 3))
        )
        np.testing.assert_allclose(frame, expected, rtol=1e-6)
