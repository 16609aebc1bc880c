"""scripts/bench_imagenet.py on a tiny setting writes the figures it computed, as the pages
(imagenet-cpu.md, gpu.md) show them."""

from __future__ import annotations

import json

import pytest
from bench_scripts import assert_page_shows, column, read_result, run_script

pytest.importorskip("efficientnet_lite_pytorch")


def test_the_result_holds_the_computed_figures_and_fits_the_pages(tmp_path) -> None:
    raw_path = tmp_path / "raw.json"
    run_script(
        "bench_imagenet.py", "--targets", "lite0", "--batches", 2, "--generations", 1,
        "--repeats", 1, "--device", "cpu", "--genome-size", 32, 32, "--precision", "fp32",
        "bf16", "--json", raw_path, "--results-dir", tmp_path,
    )  # fmt: skip
    raw = json.loads(raw_path.read_text())
    result = read_result(tmp_path, "imagenet_cpu_forward")  # the default name on the CPU
    [target] = raw["results"]
    rows = target["rows"]
    assert column(result, "precision") == ["fp32", "bf16"] == [r["precision"] for r in rows]
    assert column(result, "target") == ["efficientnet-lite0"] * 2
    assert column(result, "forward (images/s)") == [
        round(r["forward_images_per_s"], 1) for r in rows
    ]
    assert column(result, "CPPN efficiency") == [round(r["cppn_loop_efficiency"], 3) for r in rows]
    bf16 = target["precision_vs_fp32"]["bf16"]["cppn_images"]
    assert (
        f"efficientnet-lite0 bf16 against fp32 on 2 CPPN images: largest probability change "
        f"{bf16['max_abs_probability_difference']:.4f}"
    ) in result["notes"]
    assert_page_shows(result, "imagenet_cpu_forward")
    assert_page_shows(result, "gpu_lite0_h200")  # what gpu_checks.sh records on a GPU
