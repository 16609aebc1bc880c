"""From CPPN outputs to pixels: the input grid, 8-bit quantisation and colour modes.

The per-pixel functions use NumPy ufuncs only, so the NumPy renderer applies them to arrays and
the Numba renderer compiles the very same source for its per-pixel loop.
"""

from __future__ import annotations

import numpy as np

#: How CPPN outputs become channels. "gray": 1 output. "rgb": 3 outputs read as R, G, B.
#: "hls": 3 outputs read as 8-bit H, L, S and converted like the original code, which hands a hue
#: byte in 0..255 to OpenCV's 8-bit HLS->BGR, whose hue range is 0..180 (degrees / 2): hue bytes
#: above 180 wrap around the colour circle. "hls_full": hue byte 0..255 spans the circle once
#: (OpenCV's *_FULL conversion), what the paper's "H, L, S" suggests.
COLOR_MODES = ("gray", "rgb", "hls", "hls_full")
#: Hue scale (sectors of 60 degrees per hue byte) of each HLS mode.
HUE_SECTORS_PER_BYTE = {"hls": 6.0 / 180.0, "hls_full": 6.0 / 255.0}
#: Mode ids used by the compiled renderers.
MODE_IDS = {"raw": 0, "gray": 1, "rgb": 1, "hls": 2, "hls_full": 3}
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


def to_byte(v):  # noqa: ANN001, ANN201 - scalar or array, NumPy or Numba
    """8-bit value of an output: floor(clip(|v|, 0, 1) * 255); NaN reads as 0."""
    v = np.nan_to_num(v, nan=0.0)
    return np.floor(np.minimum(np.abs(v), 1.0) * 255.0)


def quantize(v):  # noqa: ANN001, ANN201
    """Pixel value of an output: to_byte(v) / 255."""
    return to_byte(v) / 255.0


def hls_channel(h_byte, l_byte, s_byte, hue_scale, n):  # noqa: ANN001, ANN201
    """One RGB channel (n = 0 red, 8 green, 4 blue) of an 8-bit HLS colour, in [0, 1].

    Branch-free form of OpenCV's HLS->RGB (same value up to rounding): with a = S * min(L, 1-L),
    channel = L - a * clip(min(k - 3, 9 - k), -1, 1), k = (n + 2 * hue_sectors) mod 12.
    The result is rounded to 8 bits as OpenCV's saturate_cast does.
    """
    light = l_byte / 255.0
    a = (s_byte / 255.0) * np.minimum(light, 1.0 - light)
    k = np.mod(n + 2.0 * (h_byte * hue_scale), 12.0)
    value = light - a * np.maximum(-1.0, np.minimum(np.minimum(k - 3.0, 9.0 - k), 1.0))
    return np.rint(value * 255.0) / 255.0


def outputs_to_image(outputs: np.ndarray, color: str) -> np.ndarray:
    """Raw outputs [N, C, H, W] -> float32 image [N, C, H, W] in [0, 1] (reference path)."""
    if color in ("gray", "rgb"):
        return quantize(outputs).astype(np.float32)
    if color not in HUE_SECTORS_PER_BYTE:
        raise ValueError(f"color must be one of {COLOR_MODES}, got {color!r}")
    h, l_, s = (to_byte(outputs[:, i]) for i in range(3))
    scale = HUE_SECTORS_PER_BYTE[color]
    rgb = [hls_channel(h, l_, s, scale, n) for n in (0.0, 8.0, 4.0)]
    return np.stack(rgb, axis=1).astype(np.float32)
