"""scripts/probe_blackbox.py: every probe runs on a tiny budget against the real Lite0 and writes
a result whose figures are the probe's own (evaluations within the budget, confidences in
[0, 1], cosines in [-1, 1])."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("efficientnet_lite_pytorch")

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "probe_blackbox.py"


def test_each_probe_writes_its_figures(tmp_path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "overlap", "transfer", "nes", "square", "--classes", "2",
         "--images", "2", "--steps", "1", "--budget", "5", "--pairs", "1", "--grid", "4",
         "--results-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    sys.path.insert(0, str(SCRIPT.parent))
    from bench_results import check_result

    results = {}
    for probe in ("overlap", "transfer", "nes", "square"):
        name = f"probe_blackbox_{probe}"
        results[probe] = json.loads((tmp_path / f"{name}.json").read_text())
        check_result(results[probe], name)
    overlap = results["overlap"]["figures"]["rows"]
    assert len(overlap) == 4  # two grids x two classes
    assert all(-1 <= row[3] <= 1 and 0 <= row[4] <= 1 for row in overlap)
    transfer = results["transfer"]["figures"]["rows"]
    assert len(transfer) == 8 and all(0 <= row[3] <= 1 and 0 <= row[4] <= 1 for row in transfer)
    for probe in ("nes", "square"):
        rows = results[probe]["figures"]["rows"]
        assert [row[0] for row in rows][-1] == "median" and len(rows) == 3
        assert all(5 <= row[2] <= 6 and 0 <= row[3] <= 1 for row in rows)
