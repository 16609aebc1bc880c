"""scripts/bench_ray.py on a tiny setting writes the figures it computed, as ray.md shows."""

from __future__ import annotations

import json

import pytest
from bench_scripts import assert_page_shows, read_result, run_script

pytest.importorskip("ray", reason="Ray is not installed: pip install 'fooling[ray]'")
pytest.importorskip("efficientnet_lite_pytorch")


def test_both_tables_hold_a_column_per_run_and_fit_the_page(tmp_path) -> None:
    raw_path = tmp_path / "raw.json"
    run_script(
        "bench_ray.py", "--batch", 2, "--generations", 1, "--grow", 1, "--ceiling-batch", 4,
        "--ceiling-chunk", 2, "--ceiling-generations", 1, "--runs", 2,
        "--scratch", tmp_path / "scratch", "--json", raw_path, "--results-dir", tmp_path,
    )  # fmt: skip
    runs = json.loads(raw_path.read_text())["runs"]
    assert len(runs) == 2
    throughput = read_result(tmp_path, "ray_throughput")
    assert throughput["figures"]["columns"][1:] == ["run 1", "run 2"]
    in_process, on_ray, ratio = throughput["figures"]["rows"]
    assert in_process[1:] == [
        round(r["throughput"]["in_process_2_threads_evals_per_s"], 1) for r in runs
    ]
    assert on_ray[1:] == [
        round(r["throughput"]["ray_2_workers_1_thread_evals_per_s"], 1) for r in runs
    ]
    assert ratio[1:] == [round(r["throughput"]["ratio"], 3) for r in runs]
    assert_page_shows(throughput, "ray_throughput")

    ceiling = read_result(tmp_path, "ray_ceiling")
    assert ceiling["figures"]["columns"][1:] == ["run 1, evaluations/s", "run 2",
                                                 "ms per generation"]  # fmt: skip
    ray_row, local_row = ceiling["figures"]["rows"]
    assert ray_row[1:3] == [round(r["ceiling"]["ray"]["evals_per_s"]) for r in runs]
    assert local_row[1:3] == [round(r["ceiling"]["in_process"]["evals_per_s"]) for r in runs]
    times = [r["ceiling"]["ray"]["ms_per_generation"] for r in runs]
    assert ray_row[3] == f"{min(times):.1f}-{max(times):.1f}"
    # scores come back as probabilities and log-odds: 4 genomes x 1000 classes x 8 bytes x 2
    assert runs[0]["ceiling"]["ray"]["scores_bytes_per_generation"] == 64_000
    assert "0.1 MB of probabilities and log-odds back" in ceiling["notes"]
    assert_page_shows(ceiling, "ray_ceiling")
