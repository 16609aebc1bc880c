"""The elite log keeps elites across generations and truncates to a checkpoint."""

from __future__ import annotations

import numpy as np

from archives.elite_log import EliteLog


def test_append_truncate_save_load(tmp_path) -> None:
    log = EliteLog()
    for generation in range(4):
        genes = np.full((2, 3), generation, dtype=np.float32)
        log.append({"genes": genes}, np.array([0, 1]), generation, np.array([0.5, 0.6]))
    assert len(log) == 8
    log.truncate(1)
    assert len(log) == 4
    assert log.columns()["generation"].tolist() == [0, 0, 1, 1]
    log.save(tmp_path / "log.npz")
    loaded = EliteLog.load(tmp_path / "log.npz")
    np.testing.assert_array_equal(loaded.genome_arrays()["genes"][:, 0], [0, 0, 1, 1])
    loaded.truncate(-1)
    assert len(loaded) == 0
