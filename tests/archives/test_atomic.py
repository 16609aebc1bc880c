"""Atomic writes keep the old file whole when writing fails."""

from __future__ import annotations

import numpy as np
import pytest

from archives.atomic import atomic_save_npz, atomic_write, atomic_write_json


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path) -> None:
    path = tmp_path / "state.json"
    atomic_write_json(path, {"generation": 1})
    before = path.read_bytes()

    def explode(handle) -> None:
        handle.write(b"{half a fi")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        atomic_write(path, explode)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_json_rejects_nan_rather_than_writing_invalid_json(tmp_path) -> None:
    with pytest.raises(ValueError):
        atomic_write_json(tmp_path / "x.json", {"v": float("nan")})
    assert not (tmp_path / "x.json").exists()


def test_npz_refuses_object_arrays(tmp_path) -> None:
    with pytest.raises(TypeError, match="pickle"):
        atomic_save_npz(tmp_path / "x.npz", {"a": np.array([object()], dtype=object)})
    atomic_save_npz(tmp_path / "x.npz", {"a": np.arange(3), "s": np.array(["x", "yz"])})
    with np.load(tmp_path / "x.npz", allow_pickle=False) as data:
        assert data["s"].tolist() == ["x", "yz"]


def test_written_files_get_the_usual_permissions(tmp_path) -> None:
    import os

    mask = os.umask(0o022)
    try:
        path = tmp_path / "x.json"
        atomic_write_json(path, {"a": 1})
        assert path.stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(mask)
