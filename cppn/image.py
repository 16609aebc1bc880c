"""The CPPN input grid: x, y, d and bias for every pixel (colour lives in :mod:`cppn.color`)."""

from __future__ import annotations

import numpy as np

COORDINATES = ("normalized", "raw")


def input_grid(
    height: int,
    width: int,
    coordinates: str = "normalized",
    native: tuple[int, int] | None = None,
) -> np.ndarray:
    """CPPN inputs for every pixel: float64 [4, height * width] rows x, y, d, bias (row-major).

    "normalized": x and y in [-1, 1]. "raw": x and y are pixel indices 0..size-1 of the genome's
    ``native`` (height, width) (the original code's quirk); rendered at another size, they are
    scaled to span the same 0..native-1 range, so the picture stays the same and only gets finer.
    ``native`` None means the rendered size itself. d is the distance from the centre in
    normalised coordinates either way.
    """
    if coordinates not in COORDINATES:
        raise ValueError(f"coordinates must be one of {COORDINATES}, got {coordinates!r}")
    if height < 1 or width < 1:
        raise ValueError(f"image size must be positive, got {height}x{width}")
    native_h, native_w = (height, width) if native is None else native
    if native_h < 1 or native_w < 1:
        raise ValueError(f"native size must be positive, got {native_h}x{native_w}")
    cols = np.arange(width, dtype=np.float64)
    rows = np.arange(height, dtype=np.float64)
    # A 1-pixel side sits at the centre.
    xn = 2.0 * cols / (width - 1) - 1.0 if width > 1 else np.zeros(1)
    yn = 2.0 * rows / (height - 1) - 1.0 if height > 1 else np.zeros(1)
    yy, xx = np.meshgrid(yn, xn, indexing="ij")
    d = np.sqrt(xx * xx + yy * yy)
    if coordinates == "raw":
        # (xn + 1) / 2 * (native - 1): exactly the pixel index at the native size.
        xr = cols * (native_w - 1) / (width - 1) if width > 1 else np.full(1, (native_w - 1) / 2)
        yr = rows * (native_h - 1) / (height - 1) if height > 1 else np.full(1, (native_h - 1) / 2)
        yy, xx = np.meshgrid(yr, xr, indexing="ij")
    return np.stack([xx.ravel(), yy.ravel(), d.ravel(), np.ones(height * width)])
