"""Writing elite images: 8-bit PNGs (and reading them back) and a labelled grid."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from archives.atomic import atomic_write_bytes


def as_numpy(array: Any) -> np.ndarray:
    """A NumPy array, or a torch tensor on any device, as a NumPy array (on the host)."""
    if isinstance(array, np.ndarray):
        return array
    return array.detach().cpu().numpy()


def to_uint8_nchw(images: Any) -> np.ndarray:
    """Float images in [0, 1] ``[N, C, H, W]`` (NumPy or torch) as uint8, round to nearest."""
    array = np.clip(np.asarray(as_numpy(images), dtype=np.float64), 0.0, 1.0)
    return np.rint(array * 255.0).astype(np.uint8)


def to_uint8(images: Any) -> np.ndarray:
    """Float images in [0, 1] ``[N, C, H, W]`` as uint8 ``[N, H, W, C]`` (round to nearest)."""
    return to_uint8_nchw(images).transpose(0, 2, 3, 1)


def write_png(path: str | Path, image: np.ndarray) -> None:
    """Write one uint8 ``[H, W, C]`` image (C = 1 or 3) as a lossless PNG, atomically."""
    from PIL import Image

    mode = "L" if image.shape[2] == 1 else "RGB"
    buffer = io.BytesIO()
    Image.fromarray(image[:, :, 0] if mode == "L" else image, mode=mode).save(buffer, "PNG")
    atomic_write_bytes(path, buffer.getvalue())


def read_png(path: str | Path) -> np.ndarray:
    """Read a PNG written by :func:`write_png` back as float32 ``[C, H, W]`` in [0, 1]."""
    from PIL import Image

    with Image.open(path) as image:
        array = np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, None]
    return (array.astype(np.float32) / np.float32(255.0)).transpose(2, 0, 1)


def upscale_nearest(image: np.ndarray, size: int) -> np.ndarray:
    """Nearest-neighbour upscaling of a uint8 ``[H, W, C]`` image to about ``size`` pixels."""
    factor = max(1, size // max(image.shape[:2]))
    return image.repeat(factor, axis=0).repeat(factor, axis=1)


def write_grid(
    path: str | Path,
    images: np.ndarray,
    labels: Sequence[str],
    columns: int = 5,
    title: str | None = None,
) -> None:
    """A labelled grid of uint8 ``[N, H, W, C]`` images as a PNG (matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = len(images)
    columns = max(1, min(columns, count))
    rows = max(1, -(-count // columns))
    # Constrained layout keeps each two-line title clear of the row above (tight_layout did not).
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(2.2 * columns, 2.7 * rows + 0.4),
        squeeze=False,
        layout="constrained",
    )
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= count:
            continue
        image = images[index]
        if image.shape[2] == 1:
            ax.imshow(image[:, :, 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        else:
            ax.imshow(image, interpolation="nearest")
        ax.set_title(labels[index], fontsize=9)
    if title:
        fig.suptitle(title, fontsize=11)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
