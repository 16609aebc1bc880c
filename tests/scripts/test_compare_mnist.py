"""scripts/compare_mnist.py on a tiny setting writes the figures it computed, as gradient.md
shows."""

from __future__ import annotations

import json

import torch
from bench_scripts import assert_page_shows, column, read_result, run_script


def test_the_result_holds_the_computed_figures_and_fits_the_page(lenet_target, tmp_path) -> None:
    other = tmp_path / "other.pt"
    torch.save(lenet_target.model.state_dict(), other)
    raw_path = tmp_path / "raw.json"
    printed = run_script(
        "compare_mnist.py", "--other", other, "--until", 0.5, "--methods", "cppn", "ascent",
        "--out", tmp_path / "runs", "--json", raw_path, "--results-dir", tmp_path,
        "--wall-name", "compare_mnist_wall_tiny", "--label", "tiny",
    )  # fmt: skip
    rows = json.loads(raw_path.read_text())["rows"]
    result = read_result(tmp_path, "compare_mnist")
    assert column(result, "method") == ["evolution, CPPN", "gradient ascent from noise"]
    assert column(result, "command") == [
        "`fooling evolve --encoding cppn --until 0.5`",
        "`fooling ascent --until 0.5 --steps 1000`",
    ]
    assert all(row["reached"] for row in rows)
    assert column(result, "model calls (images)") == [row["model_calls"] for row in rows]
    assert column(result, "backward (images)") == [0, rows[1]["backward"]] and rows[1]["backward"]
    for row, cell in zip(rows, column(result, "other LeNet: median / >= 0.5 / top-1"), strict=True):
        assert cell == (
            f"{row['transfer_median']:.4f} / {row['transfer_fooled']} of 10 / "
            f"{row['transfer_top1']:.0%}"
        )
        assert f"| {cell} |" in printed  # the table it printed
    assert (tmp_path / "runs" / "compare.png").is_file()
    assert_page_shows(result, "compare_mnist")
    # the wall times alone, for the table of measurements taken at other loads
    wall = read_result(tmp_path, "compare_mnist_wall_tiny")
    assert (
        wall["figures"]["rows"] == [[row["method"], round(row["wall_s"], 1)] for row in rows]
        and wall["label"] == "tiny"
    )
    assert wall["conditions"].startswith("1-minute load average ")
    text = assert_page_shows(wall, "compare_mnist_wall_d0aab20")
    assert f"| tiny | evolution, CPPN | {rows[0]['wall_s']:,.1f} |" in text
