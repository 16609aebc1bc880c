"""scripts/gpu_checks.sh (SMALL=1, on the CPU) leaves its result files in OUT/results, named
after the machine, holding what its steps measured; scripts/gpu_summary.py turns the session's
runs and test report into the gpu_checks result."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from bench_scripts import ROOT, assert_page_shows, column, read_result, run_script

pytest.importorskip("efficientnet_lite_pytorch")


def test_the_steps_write_their_results_under_out(tmp_path) -> None:
    out = tmp_path / "out"
    env = os.environ | {"SMALL": "1", "STEPS": "render imagenet", "TAG": "test"}
    printed = run_script("gpu_checks.sh", out, 600, env=env)
    assert "=== GPU tests: not in STEPS" in printed
    assert (out / "log.txt").read_text() == printed  # everything printed, also in the log
    assert sorted(p.name for p in (out / "results").iterdir()) == [
        "gpu_checks_test.json", "gpu_lite0_test.json", "render_cpu_test.json",
    ]  # fmt: skip
    render = json.loads((out / "render.json").read_text())
    result = read_result(out / "results", "render_cpu_test")
    assert column(result, "Numba, new") == [round(r["numba_images_per_s"]) for r in render["rows"]]
    imagenet = json.loads((out / "imagenet.json").read_text())
    result = read_result(out / "results", "gpu_lite0_test")
    rows = imagenet["results"][0]["rows"]
    assert column(result, "precision") == ["fp32, channels_last", "bf16, channels_last"]
    assert column(result, "scoring (images/s)") == [
        round(r["scoring_images_per_s"], 1) for r in rows
    ]
    assert_page_shows(result, "gpu_lite0_h200")
    session = read_result(out / "results", "gpu_checks_test")
    assert list(session["figures"]) == ["the whole session, seconds"]  # no run, no test report
    assert session["command"] == "bash scripts/gpu_checks.sh OUT 600"


JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0"
failures="1" skipped="2" tests="9" time="1.0"></testsuite></testsuites>"""


def test_the_summary_records_tests_runs_and_time(finished_run, tmp_path) -> None:
    out = tmp_path / "out"
    for run in ("inet_cppn", "inet_long"):
        shutil.copytree(finished_run, out / "runs" / run)
    (out / "gpu_tests.xml").write_text(JUNIT)
    printed = run_script(
        "gpu_summary.py", out, "--session-seconds", 321, "--name", "gpu_checks_x",
        "--results-dir", out / "results",
    )  # fmt: skip
    summary = json.loads((finished_run / "summary.json").read_text())
    assert f"inet_long {{'stop_reason': '{summary['stop_reason']}'" in printed
    result = read_result(out / "results", "gpu_checks_x")
    assert result["figures"] == {
        "tests/gpu passed": 6,
        "tests/gpu failed": 1,
        "tests/gpu skipped": 2,
        "paper's ImageNet run: generations reached in the time left": summary["generations"],
        "paper's ImageNet run: seconds": round(summary["elapsed_s"], 1),
        "paper's ImageNet run: evaluations/s (start-up included)": round(
            summary["evaluations"] / summary["elapsed_s"]
        ),
        "CPU demo on the GPU, seconds": round(summary["elapsed_s"], 1),
        "CPU demo on the GPU, median best confidence": round(summary["median_confidence"], 4),
        "the whole session, seconds": 321,
    }
    assert_page_shows(result, "gpu_checks_h200")
    assert (ROOT / "docs" / "benchmarks" / "results" / "gpu_checks_h200.json").is_file()
