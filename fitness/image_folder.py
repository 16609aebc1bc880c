"""A labelled training set from a folder of class sub-folders of images (for any target).

Expected layout: one sub-folder per class, named exactly as the class (the target's class names,
``0``..``K-1`` unless ``--class-names`` names them), holding that class's images in any format
PIL reads (PNG, JPEG, BMP, GIF, TIFF, WebP)::

    train/
      cat/  0001.png  0002.jpg ...
      dog/  a.png ...

Images are converted to grayscale (1 channel) or RGB (3 channels) and resized with PIL's bilinear
filter to the target's input height and width, then kept as uint8 ``[N, C, H, W]``. Hidden files
and sub-folders (names starting with ".") are skipped; any other unreadable file is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fitness.class_names import class_names_problem
from fitness.target import TargetError

MODES = {1: "L", 3: "RGB"}


@dataclass(frozen=True)
class LabelledImages:
    """uint8 images ``[N, C, H, W]`` with int64 labels indexing ``class_names``."""

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    source: str

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self) -> np.ndarray:
        """Images per class."""
        return np.bincount(self.labels, minlength=len(self.class_names))


def read_image(path: Path, shape: tuple[int, int, int]) -> np.ndarray:
    """One image as uint8 ``[C, H, W]``, converted and resized to ``shape``."""
    from PIL import Image, UnidentifiedImageError

    channels, height, width = shape
    try:
        with Image.open(path) as image:
            image = image.convert(MODES[channels])
            if image.size != (width, height):
                image = image.resize((width, height), Image.Resampling.BILINEAR)
            array = np.asarray(image, dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise TargetError(f"cannot read image {path}: {exc}") from None
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def load_image_folder(
    root: str | Path, shape: tuple[int, int, int], class_names: list[str] | None = None
) -> LabelledImages:
    """Every image under ``root/<class>/``, labelled by its sub-folder.

    ``class_names`` fixes the label order (the target's outputs); the sub-folders must then be
    exactly those names. Without it, the sorted sub-folder names are the classes.
    """
    root = Path(root)
    if not root.is_dir():
        raise TargetError(f"training folder not found: {root}")
    if shape[0] not in MODES:
        raise TargetError(f"image folders need 1 or 3 channels, the target has {shape[0]}")
    folders = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise TargetError(f"{root} has no class sub-folders (expected {root}/<class>/<image>)")
    problem = class_names_problem(folders)
    if problem is not None:
        raise TargetError(f"{root}: sub-folder names are class names: {problem}")
    if class_names is None:
        class_names = folders
    elif set(folders) != set(class_names):
        missing = sorted(set(class_names) - set(folders))
        extra = sorted(set(folders) - set(class_names))
        raise TargetError(
            f"{root}: sub-folders must be the target's classes"
            + (f"; missing {', '.join(missing[:5])}" if missing else "")
            + (f"; not a class: {', '.join(extra[:5])}" if extra else "")
        )
    images, labels = [], []
    for label, name in enumerate(class_names):
        files = sorted(
            p for p in (root / name).iterdir() if p.is_file() and not p.name.startswith(".")
        )
        if not files:
            raise TargetError(f"class folder {root / name} holds no images")
        images.extend(read_image(path, shape) for path in files)
        labels.extend([label] * len(files))
    return LabelledImages(
        np.stack(images), np.asarray(labels, dtype=np.int64), list(class_names), f"folder:{root}"
    )


def split_fraction(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test): ``fraction`` of each class held out (at least 1 of a class of 2+)."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        held = min(len(members) - 1, max(1, round(fraction * len(members)))) if fraction else 0
        test.append(members[:held])
        train.append(members[held:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))
