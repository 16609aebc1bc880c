"""scripts/bench_queries.py runs end to end on a tiny budget and writes the JSON it promises."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_queries.py"


def test_mnist_suite_writes_figures_per_emitter_with_the_machine(lenet_target, tmp_path) -> None:
    out = tmp_path / "queries.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "mnist", "--emitters", "direct/paper", "direct/cma",
         "--seeds", "0", "1", "--budget", "300", "--out", str(out), "--results-dir",
         str(tmp_path / "results")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    raw = json.loads(out.read_text())
    assert raw["machine"]["cpu"] and raw["settings"]["budget"] == 300
    assert [r["emitter"] for r in raw["runs"]] == ["direct/paper"] * 2 + ["direct/cma"] * 2
    for run in raw["runs"]:
        assert 0 < run["evaluations"] <= 300 + run["batch"]
        assert run["median_confidence"] == np.median(list(run["best_confidence"].values()))
    sys.path.insert(0, str(SCRIPT.parent))
    from bench_results import check_result

    result = json.loads((tmp_path / "results" / "queries_mnist.json").read_text())
    check_result(result, "queries_mnist")
    assert result["commit"] and result["machine"]["cpu"]
    rows = {row[0]: row for row in result["figures"]["rows"]}
    assert rows.keys() == {"direct/paper", "direct/cma"}
    assert rows["direct/cma"][3] == 2  # seeds


def test_imagenet_classes_are_drawn_by_seed_not_chosen() -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    from bench_queries import drawn_classes

    assert drawn_classes(2026) == drawn_classes(2026)
    assert drawn_classes(2026) != drawn_classes(2027)
    assert len(set(drawn_classes(2026))) == 10 and max(drawn_classes(2026)) < 1000


def test_a_table_built_from_runs_of_several_processes(lenet_target, tmp_path) -> None:
    """--from-raw: one table of emitters run in separate processes; files made with other
    settings are refused with one line."""
    outs = []
    for entry in ("direct/paper", "direct/cma"):
        outs.append(tmp_path / f"{entry.replace('/', '_')}.json")
        done = subprocess.run(
            [sys.executable, str(SCRIPT), "mnist", "--emitters", entry, "--seeds", "0",
             "--budget", "300", "--out", str(outs[-1]), "--results-dir", str(tmp_path / "each")],
            capture_output=True, text=True,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    build = [sys.executable, str(SCRIPT), "mnist", "--results-dir", str(tmp_path / "both"),
             "--name", "both", "--from-raw", *map(str, outs)]  # fmt: skip
    done = subprocess.run(build, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    both = json.loads((tmp_path / "both" / "both.json").read_text())
    rows = {row[0]: row for row in both["figures"]["rows"]}
    assert list(rows) == ["direct/paper", "direct/cma"]
    for out in outs:
        run = json.loads(out.read_text())["runs"][0]
        row = rows[run["emitter"]]
        assert row[7] == run["median_confidence"] and row[9] == run["passes"]
    assert "built from runs made at" in both["notes"]
    raw = json.loads(outs[1].read_text())
    raw["settings"]["budget"] = 301
    outs[1].write_text(json.dumps(raw))
    done = subprocess.run(build, capture_output=True, text=True)
    assert done.returncode == 2
    assert (
        done.stderr.strip().count("\n") == 0
        and "differs" in done.stderr
        and "budget" in done.stderr
    )


def test_the_median_counts_a_run_out_of_budget_as_above_every_other() -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        from bench_queries import censored_median
    finally:
        sys.path.remove(str(SCRIPT.parent))
    assert censored_median([3308, 3626, 3710, None, 2073]) == 3626
    assert censored_median([4, 2]) == 3
    assert censored_median([1, 2, None]) == 2
    assert censored_median([1, 3, None, None]) is None  # the middle pair includes a None
    assert censored_median([None]) is None


def test_an_entry_sets_encoding_options_as_the_command_does(lenet_target, tmp_path) -> None:
    """``direct/paper/crossover_rate=0.5``: the paper's operators with the original code's SBX
    crossover, in the columns mnist.md shows (queries_mnist_crossover)."""
    sys.path.insert(0, str(SCRIPT.parent))
    from bench_queries import split_settings
    from bench_scripts import assert_page_shows, read_result

    assert split_settings(["cma.sigma=1", "crossover_rate=0.5", "color=hls"]) == (
        ["cma.sigma=1"],
        {"crossover_rate": 0.5, "color": "hls"},
    )
    out = tmp_path / "queries.json"
    entries = ["direct/paper", "direct/paper/crossover_rate=0.5"]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "mnist", "--emitters", *entries, "--seeds", "0",
         "--budget", "400", "--out", str(out), "--results-dir", str(tmp_path),
         "--name", "queries_mnist_crossover"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    plain, crossed = json.loads(out.read_text())["runs"]
    assert (plain["encoding_options"], crossed["encoding_options"]) == ({}, {"crossover_rate": 0.5})
    # the same seed and budget: generation 0 is the same, crossover changes the children after it
    assert plain["evaluations"] == crossed["evaluations"]
    assert plain["best_confidence"] != crossed["best_confidence"]
    result = read_result(tmp_path, "queries_mnist_crossover")
    assert [row[0] for row in result["figures"]["rows"]] == entries
    assert_page_shows(result, "queries_mnist_crossover")
