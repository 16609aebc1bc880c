"""scripts/bench_cppn_host.py on a tiny setting writes the figures it computed, as cppn.md
shows."""

from __future__ import annotations

import json

from bench_scripts import assert_page_shows, column, read_result, run_script


def test_the_result_holds_the_computed_figures_and_fits_the_page(tmp_path) -> None:
    raw_path = tmp_path / "raw.json"
    run_script(
        "bench_cppn_host.py", "--hidden", 3, 6, "--population", 8, "--repeats", 2,
        "--neat-repeats", 1, "--json", raw_path, "--results-dir", tmp_path,
    )  # fmt: skip
    rows = json.loads(raw_path.read_text())["rows"]
    result = read_result(tmp_path, "cppn_host_path")
    assert column(result, "hidden nodes (links)") == [
        f"{r['hidden_nodes']:.0f} ({r['links']:.0f})" for r in rows
    ]
    assert column(result, "total (goal <= 4 ms at ~100)") == [
        round(r["array_total_ms"], 2) for r in rows
    ]
    assert column(result, "speed-up (goal >= 40x)") == [f"{r['speedup']:.0f}x" for r in rows]
    assert result["notes"].startswith("3 outputs; medians of 2 (array path) and 1 (neat-python)")
    assert_page_shows(result, "cppn_host_path")
