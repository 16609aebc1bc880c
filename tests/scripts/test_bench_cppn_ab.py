"""scripts/bench_cppn_ab.py on a tiny setting: it loads another commit's cppn package beside
this checkout's, checks that both did the same work, and writes the figures it computed, as
cppn.md shows them."""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pytest
from bench_scripts import ROOT, assert_page_shows, column, read_result, run_script

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(),
    reason="the script reads the other commit's package from git",
)


def test_the_result_compares_both_versions_and_fits_the_page(tmp_path) -> None:
    # Without the JIT: this checks the script's comparison and its result, not the kernels'
    # speed, and compiling a second copy of every kernel (the base's) would take a minute.
    env = os.environ | {"NUMBA_DISABLE_JIT": "1"}
    printed = run_script(
        "bench_cppn_ab.py", "--base", "HEAD", "--hidden", 3, 6, "--population", 8,
        "--rounds", 2, "--results-dir", tmp_path, env=env,
    )  # fmt: skip
    result = read_result(tmp_path, "cppn_host_ab")
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    assert result["notes"].startswith(f"base {head}; 8 genomes, 3 outputs, 2 generations")
    assert len(column(result, "hidden nodes")) == 2
    for part in ("breed", "compile + pack"):
        ratios = column(result, f"{part}, fastest")
        timings = column(result, f"{part}, fastest (base -> this, ms)")
        for ratio, timing in zip(ratios, timings, strict=True):
            base_ms, this_ms = (float(ms) for ms in timing.split(" -> "))
            assert ratio == pytest.approx(this_ms / base_ms, rel=0.01, abs=0.002)
    assert "wrote" in printed
    assert_page_shows(result, "kernel_records_inprocess")


def test_same_work_tells_apart_children_that_differ() -> None:
    import bench_cppn_ab  # scripts/ is on the path through bench_scripts

    class Packed:
        def __init__(self, bias: np.ndarray) -> None:
            self.bias = bias

    class Children:
        def __init__(self, weight: float) -> None:
            for name in bench_cppn_ab._COLUMNS:
                setattr(self, name, np.zeros(3))
            self.link_weight = np.full(3, weight)

    same = (Children(0.5), Packed(np.ones(2)))
    assert bench_cppn_ab.same_work(same, (Children(0.5), Packed(np.ones(2))))
    assert not bench_cppn_ab.same_work(same, (Children(0.25), Packed(np.ones(2))))
    assert not bench_cppn_ab.same_work(same, (Children(0.5), Packed(np.zeros(2))))
