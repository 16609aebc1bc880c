"""MNIST data: the bundled real digits and the IDX reader for the full set."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from fitness.digits import bundled_digits, idx_digits, read_idx
from fitness.target import TargetError


def write_idx(path, array: np.ndarray, compress: bool = False) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)


def test_bundled_digits_are_real_and_split_per_class() -> None:
    data = bundled_digits()
    assert data.train_images.shape == (4000, 28, 28)
    assert data.test_images.shape == (1000, 28, 28)
    assert np.bincount(data.test_labels).tolist() == [100] * 10
    assert data.train_images.max() == 255 and data.train_images.dtype == np.uint8
    assert bundled_digits().digest() == data.digest()  # the split is fixed


@pytest.mark.parametrize("compress", [False, True])
def test_idx_files_raw_or_gzipped(tmp_path, compress: bool) -> None:
    rng = np.random.default_rng(0)
    suffix = ".gz" if compress else ""
    write_idx(
        tmp_path / f"train-images-idx3-ubyte{suffix}", rng.integers(0, 256, (6, 28, 28)), compress
    )
    write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", np.arange(6) % 10, compress)
    write_idx(
        tmp_path / f"t10k-images-idx3-ubyte{suffix}", rng.integers(0, 256, (2, 28, 28)), compress
    )
    write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", np.array([3, 4]), compress)
    data = idx_digits(tmp_path)
    assert data.train_images.shape == (6, 28, 28)
    assert data.test_labels.tolist() == [3, 4]


def test_bad_idx_input_is_named(tmp_path) -> None:
    with pytest.raises(TargetError, match="data directory not found"):
        idx_digits(tmp_path / "nope")
    with pytest.raises(TargetError, match="has no train-images-idx3-ubyte"):
        idx_digits(tmp_path)
    (tmp_path / "junk").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(TargetError, match="not an IDX file"):
        read_idx(tmp_path / "junk")
    write_idx(tmp_path / "short", np.zeros((4, 28, 28)))
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-10])
    with pytest.raises(TargetError, match="truncated"):
        read_idx(tmp_path / "short")
