"""scripts/bench_cppn_mnist.py on a tiny setting writes the figures it computed, as cppn.md
shows."""

from __future__ import annotations

import json

from bench_scripts import assert_page_shows, column, read_result, run_script


def test_the_results_hold_the_computed_figures_and_fit_the_page(lenet_target, tmp_path) -> None:
    raw_path = tmp_path / "raw.json"
    run_script(
        "bench_cppn_mnist.py", "--seeds", 1, 2, "--until", 0.001, "--max-generations", 40,
        "--batch", 10, "--batches", 10, "--efficiency-generations", 3, "--phase-generations", 2,
        "--rounds", 2, "--channels-last", "--json", raw_path, "--results-dir", tmp_path,
    )  # fmt: skip
    raw = json.loads(raw_path.read_text())
    loop = read_result(tmp_path, "cppn_mnist_loop")
    assert loop["figures"]["columns"] == ["measure", "`--channels-last`"]
    values = dict(loop["figures"]["rows"])
    convergence = raw["convergence"]
    seeds = values["all 10 classes >= 0.001 (seeds 1, 2, at most 40 generations)"]
    assert seeds.startswith(f"{convergence['reached']} of 2, ")
    for run in convergence["runs"]:
        shown = f"{run['generation']} / {run['seconds']:.2f} s" if run["reached"] else "not reached"
        assert shown in seeds
    [efficiency] = raw["efficiency"]
    rounds = efficiency["rounds"]
    assert values["loop efficiency at batch 10 (goal >= 0.90), median of 2 round(s)"] == round(
        efficiency["efficiency"], 4
    )
    assert values["scoring share, lowest round"] == round(
        min(r["scoring_share"] for r in rounds), 4
    )
    assert values["whole loop, evaluations/s"] == round(efficiency["loop_evals_per_s"])
    assert_page_shows(loop, "cppn_mnist_loop")

    phases = read_result(tmp_path, "cppn_mnist_generation")
    [measured] = raw["phases"]
    steps = column(phases, "`--channels-last`, ms")
    assert steps[:4] == [round(measured[k], 3) for k in ("vary_ms", "express_ms", "forward_ms",
                                                          "insert_ms")]  # fmt: skip
    assert steps[4] == round(sum(measured[k] for k in ("vary_ms", "express_ms", "forward_ms",
                                                       "insert_ms")), 3)  # fmt: skip
    assert_page_shows(phases, "cppn_mnist_generation")
