"""scripts/bench_long_run.py on a tiny setting writes the figures it measured of a real run, as
mnist.md shows (long runs)."""

from __future__ import annotations

import json

from bench_scripts import assert_page_shows, read_result, run_script

from evolve.run_dir import read_metrics


def test_the_result_holds_the_run_s_figures_and_fits_the_page(lenet_target, tmp_path) -> None:
    out, raw_path = tmp_path / "soak", tmp_path / "raw.json"
    printed = run_script(
        "bench_long_run.py", "--max-generations", 30, "--out", out, "--sample-every", 0.2,
        "--json", raw_path, "--results-dir", tmp_path,
    )  # fmt: skip
    raw = json.loads(raw_path.read_text())
    result = read_result(tmp_path, "long_run_300k")  # the default name
    figures = result["figures"]
    assert figures == raw["figures"]
    summary = json.loads((out / "summary.json").read_text())
    assert figures["generations"] == summary["generations"] == 30
    assert figures["evaluations"] == summary["evaluations"] == 200 + 30 * 200
    assert figures["exit status"] == 0
    assert figures["metrics.jsonl, lines"] == len(read_metrics(out)) == 31
    # the paper's schedule: 0.1 halved every 1,000 generations reaches the 1e-12 floor at the 37th
    assert figures["mutation rate at its floor from generation"] == 37_000
    low, high = (float(x) for x in figures["final elites' confidence"].split("-"))
    assert (low, high) == (
        min(summary["best_confidence"].values()),
        max(summary["best_confidence"].values()),
    )
    # resident sizes from /proc while it ran (from its start-up on, at 0.2 s), peaks from the
    # kernel: a LeNet run holds hundreds of MB
    samples = raw["evolve"]["resident_mb"]
    assert samples and 0 < min(samples) and 50 < max(samples) <= raw["evolve"]["peak_mib"] * 1.05
    assert figures["resident size, MB (sampled every 0.2 s)"] == (
        f"{min(samples):.0f}-{max(samples):.0f}"
    )
    assert 50 < figures["fooling plot: peak, MiB"] and (out / "confidence.png").is_file()
    assert "generations: 30\n" in printed and "--out" not in result["command"]
    assert_page_shows(result, "long_run_300k")
