"""scripts/bench_mnist.py on a tiny setting writes the figures it computed, as mnist.md shows."""

from __future__ import annotations

import json
import statistics

from bench_scripts import assert_page_shows, read_result, run_script


def test_the_result_holds_the_computed_figures_and_fits_the_page(lenet_target, tmp_path) -> None:
    raw_path = tmp_path / "raw.json"
    printed = run_script(
        "bench_mnist.py", "--batch", 20, "--seeds", 2, "--generations", 3, "--trials", 1,
        "--until", 0.001, "--max-generations", 60, "--label", "tiny",
        "--json", raw_path, "--results-dir", tmp_path,
    )  # fmt: skip
    raw = json.loads(raw_path.read_text())
    result = read_result(tmp_path, "bench_mnist")  # the default name
    assert result["label"] == "tiny" and "--until 0.001" in result["command"]
    [row] = result["figures"]["rows"]
    batch, forward, loop, efficiency, median, per_seed, generations = row
    assert batch == 20 and forward == round(raw["bare_forward_evals_per_s"])
    assert loop == round(raw["loop_evals_per_s"])
    assert f" {forward:,} " in printed and f" {loop:,} " in printed  # the table it printed
    assert efficiency == round(raw["loop_efficiency"], 3)
    # seeds 0 and 1 get every digit to 0.001 in about 30 generations
    assert None not in raw["generations_to_fool"]
    assert median == round(raw["time_to_fool_median_s"], 2)
    assert per_seed == ", ".join(f"{t:.2f}" for t in raw["time_to_fool_s"])
    assert generations == statistics.median(raw["generations_to_fool"])
    # the page merges it with the earlier instances' results: same columns, a row labelled
    text = assert_page_shows(result, "bench_mnist")
    assert "| tiny | 20 |" in text and "| earlier instance | 100 |" in text
