"""Repetition detection and removal on synthetic images: a tiled motif's period is found, one
copy is kept, the control blanks as many pixels, and noise has no repetition."""

from __future__ import annotations

import numpy as np
import pytest

from fooling.studies.repetition import detect, random_blanking, remove_repetition


def tiled(period_y: int, period_x: int, size: int = 28, seed: int = 0) -> np.ndarray:
    """A random motif of period_y x period_x tiled over a size x size grey image."""
    motif = np.random.default_rng(seed).random((period_y, period_x), dtype=np.float32)
    reps = (-(-size // period_y), -(-size // period_x))
    return np.tile(motif, reps)[None, :size, :size]


@pytest.mark.parametrize(("period_y", "period_x"), [(7, 7), (7, 4), (5, 9), (3, 3)])
def test_finds_the_tile_period(period_y, period_x):
    repetition = detect(tiled(period_y, period_x))
    assert (repetition.period_y, repetition.period_x) == (period_y, period_x)
    assert min(repetition.correlation_y, repetition.correlation_x) > 0.99


def test_stripes_repeat_along_one_axis_and_noise_along_none():
    stripes = np.repeat(tiled(1, 6)[:, :1, :], 28, axis=1)  # each row the same: period in x only
    repetition = detect(stripes)
    assert repetition.period_x == 6
    noise = np.random.default_rng(1).random((3, 28, 28), dtype=np.float32)
    assert not detect(noise).found


def test_removal_keeps_one_copy_and_the_control_blanks_as_many_pixels():
    image = tiled(7, 7)
    repetition = detect(image)
    without, changed = remove_repetition(image, repetition)
    assert changed == 28 * 28 - 7 * 7
    fill = np.median(image)
    kept = without[0] != fill
    rows, cols = np.nonzero(kept)
    # The kept copy is the cell of the 7-pixel grid that holds the centre pixel (14, 14).
    assert rows.min() >= 14 and rows.max() < 21 and cols.min() >= 14 and cols.max() < 21
    np.testing.assert_array_equal(without[0, 14:21, 14:21], image[0, 14:21, 14:21])
    control = random_blanking(image, changed, np.random.default_rng(0))
    assert (control != image).sum() <= changed
    assert (control[0] == fill).sum() >= changed


def test_a_smooth_image_is_no_repetition():
    """Neighbouring pixels of a smooth image correlate highly, but the correlation never peaks."""
    y, x = np.mgrid[0:28, 0:28] / 27.0
    assert not detect((0.5 + 0.5 * np.sin(2.0 * x + y))[None]).found
