"""Colour: how CPPN outputs (and direct genes) become 8-bit pixels, on NumPy, Numba and torch.

The per-pixel NumPy functions use ufuncs only, so the NumPy path applies them to arrays and the
Numba renderers compile the very same source for their per-pixel loops. The torch functions are
their twins for tensors on any device (the direct encoding's GPU population). Every encoding and
renderer takes its colour conversion from here.
"""

from __future__ import annotations

from typing import Any

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


def to_byte(v):  # noqa: ANN001, ANN201 - scalar or array, NumPy or Numba
    """8-bit value of an output: floor(clip(|v|, 0, 1) * 255); NaN reads as 0."""
    v = np.nan_to_num(v, nan=0.0)
    return np.floor(np.minimum(np.abs(v), 1.0) * 255.0)


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
    if color not in COLOR_MODES:
        raise ValueError(f"color must be one of {COLOR_MODES}, got {color!r}")
    return bytes_to_image(to_byte(outputs), color)


def bytes_to_image(values: np.ndarray, color: str) -> np.ndarray:
    """8-bit values [N, C, H, W] (any real or integer dtype) -> float32 image in [0, 1].

    The second half of :func:`outputs_to_image`: a Ray worker that was sent the bytes (a quarter
    of the float genes) makes the very same image from them.
    """
    values = np.asarray(values, dtype=np.float32)
    if color in ("gray", "rgb"):
        return (values / 255.0).astype(np.float32)
    if color not in HUE_SECTORS_PER_BYTE:
        raise ValueError(f"color must be one of {COLOR_MODES}, got {color!r}")
    h, l_, s = (values[:, i] for i in range(3))
    scale = HUE_SECTORS_PER_BYTE[color]
    rgb = [hls_channel(h, l_, s, scale, n) for n in (0.0, 8.0, 4.0)]
    return np.stack(rgb, axis=1).astype(np.float32)


def _over_255(x: Any) -> Any:
    """x / 255 as a true division on every device. With a Python scalar divisor, CUDA multiplies
    by the reciprocal instead, one ulp off the CPU's and NumPy's quotient for half of all bytes;
    a 0-d tensor on the device as divisor takes CUDA's true-division kernel."""
    import torch

    return x / torch.full((), 255.0, dtype=x.dtype, device=x.device)


#: How the torch functions round to 8 bits (the byte of an output, the RGB value of an HLS
#: colour): "exact" as NumPy and Numba do (no gradient passes a rounding); "straight_through"
#: the same values forward with the rounding's gradient taken as 1 (the differentiable renderer,
#: :mod:`cppn.render_torch`); "none" no rounding at all, a smooth surrogate for gradient checks.
ROUNDINGS = ("exact", "straight_through", "none")


def _rounded(x: Any, function: Any, rounding: str) -> Any:
    """``function(x)`` (torch.floor or torch.round) under ``rounding``, for x >= 0 or tiny < 0.

    Straight-through gives exactly ``function(x)`` forward: with r = function(x), r - x is
    exact (Sterbenz: r lies in [x / 2, 2 x] for x >= 1 after floor, x >= 0.5 after rounding, and
    below that r is 0, so r - x = -x), so x + (r - x) is r, a representable number.
    """
    if rounding == "none":
        return x
    if rounding == "exact":
        return function(x)
    return x + (function(x) - x).detach()


def bytes_torch(v: Any, rounding: str = "exact") -> Any:
    """Torch twin of :func:`to_byte` (as float, in v's dtype), rounded under ``rounding``."""
    import torch

    return _rounded(
        torch.nan_to_num(v, nan=0.0).abs().clamp(max=1.0) * 255.0, torch.floor, rounding
    )


def _hls_channel(
    h: Any, lum: Any, s: Any, hue_scale: float, n: float, rounding: str = "exact"
) -> Any:
    """Torch twin of :func:`hls_channel`."""
    import torch

    light = _over_255(lum)
    a = _over_255(s) * torch.minimum(light, 1.0 - light)
    k = torch.remainder(n + 2.0 * (h * hue_scale), 12.0)
    value = light - a * torch.clamp(torch.minimum(k - 3.0, 9.0 - k), -1.0, 1.0)
    return _over_255(_rounded(value * 255.0, torch.round, rounding))


def pixels_from_outputs(
    outputs: Any, color: str, rounding: str = "exact", dtype: Any = None
) -> Any:
    """Raw outputs [N, C, ...] (torch, any device) -> pixels in [0, 1], same shape, float32
    (or ``dtype``); ``rounding`` one of :data:`ROUNDINGS`.

    Torch twin of :func:`outputs_to_image`; arithmetic in the outputs' own dtype.
    """
    import torch

    if color not in COLOR_MODES:
        raise ValueError(f"color must be one of {COLOR_MODES}, got {color!r}")
    if rounding not in ROUNDINGS:
        raise ValueError(f"rounding must be one of {ROUNDINGS}, got {rounding!r}")
    if color in ("gray", "rgb"):
        pixels = _over_255(bytes_torch(outputs, rounding))
    else:
        h, lum, s = (bytes_torch(outputs[:, i], rounding) for i in range(3))
        scale = HUE_SECTORS_PER_BYTE[color]
        channels = [_hls_channel(h, lum, s, scale, n, rounding) for n in (0.0, 8.0, 4.0)]
        pixels = torch.stack(channels, dim=1)
    return pixels.to(torch.float32 if dtype is None else dtype)
