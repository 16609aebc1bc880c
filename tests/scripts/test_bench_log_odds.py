"""scripts/bench_log_odds.py on a tiny setting writes the figures it computed, as mnist.md shows
(the cost of the log-odds)."""

from __future__ import annotations

import json
import subprocess
import sys

from bench_scripts import SCRIPTS, assert_page_shows, read_result, run_script


def test_the_result_holds_the_computed_figures_and_fits_the_page(lenet_target, tmp_path) -> None:
    raw_path = tmp_path / "raw.json"
    printed = run_script(
        "bench_log_odds.py", "--images", 20, "--calls", 3, "--rounds", 2, "--json", raw_path,
        "--results-dir", tmp_path,
    )  # fmt: skip
    raw = json.loads(raw_path.read_text())
    result = read_result(tmp_path, "log_odds_cost")  # the default name
    assert result["figures"] == {name: round(value, 3) for name, value in raw.items()}
    assert list(raw) == [
        "log-odds of 20 images, 10 classes, ms",
        "one host pass, probabilities and log-odds, 20 images, 10 classes, ms",
        "log-odds of 20 images, 1,000 classes, ms",
        "one host pass, probabilities and log-odds, 20 images, 1,000 classes, ms",
        "Target.probabilities, 20 MNIST images, ms a call",
        "Target.scores, 20 MNIST images, ms a call",
    ]
    assert all(value > 0 for value in raw.values())
    for name, value in raw.items():
        assert f"{value:9.3f}  {name}" in printed
    assert "Medians of 2 alternating rounds of 3 calls" in result["notes"]
    assert result["conditions"].startswith("1-minute load average")
    assert_page_shows(result, "log_odds_cost")


def test_a_count_below_one_is_one_line_and_exit_2() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "bench_log_odds.py"), "--calls", "0"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2 and "--calls" in done.stderr.splitlines()[-1]
