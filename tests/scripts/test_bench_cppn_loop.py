"""scripts/bench_cppn_loop.py on a tiny setting writes the figures it computed, as cppn.md
shows."""

from __future__ import annotations

import json

from bench_scripts import assert_page_shows, read_result, run_script


def test_the_result_holds_the_computed_figures_and_fits_the_page(tmp_path) -> None:
    raw_path = tmp_path / "raw.json"
    printed = run_script(
        "bench_cppn_loop.py", "--batch", 8, "--from", 2, "--to", 5, "--json", raw_path,
        "--results-dir", tmp_path,
    )  # fmt: skip
    raw = json.loads(raw_path.read_text())
    result = read_result(tmp_path, "cppn_loop_host")
    figures = result["figures"]
    rate = figures["evaluations/s, generations 2-5"]
    assert rate == round(raw["evaluations_per_s"]) and f"{rate:,} evaluations/s" in printed
    assert figures["ms per generation"] == round(raw["ms_per_generation"], 2)
    # the baseline was measured at batch 400 over generations 800-1000: no speed-up here
    assert set(figures) == {"evaluations/s, generations 2-5", "ms per generation"}
    assert_page_shows(result, "cppn_loop_host")
