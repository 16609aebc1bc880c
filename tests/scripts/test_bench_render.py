"""scripts/bench_render.py on a tiny setting writes the figures it computed, as cppn.md shows."""

from __future__ import annotations

import json

from bench_scripts import assert_page_shows, column, read_result, run_script


def test_the_result_holds_the_computed_figures_and_fits_the_page(tmp_path) -> None:
    raw_path = tmp_path / "raw.json"
    run_script(
        "bench_render.py", "--sizes", 8, 12, "--population", 6, "--numpy-genomes", 2,
        "--repeats", 1, "--json", raw_path, "--results-dir", tmp_path,
    )  # fmt: skip
    raw = json.loads(raw_path.read_text())
    result = read_result(tmp_path, "render_cpu")
    assert column(result, "size") == ["8x8", "12x12"]
    assert column(result, "Numba, new") == [round(r["numba_images_per_s"]) for r in raw["rows"]]
    assert column(result, "Numba, previous") == [
        round(r["previous_numba_images_per_s"], 1) for r in raw["rows"]
    ]
    assert column(result, "new / previous (goal >= 4x)") == [
        f"{r['numba_speedup']:.2f}x" for r in raw["rows"]
    ]
    assert "6 grayscale genomes" in result["notes"]
    # the GPU table is written only where CUDA ran (gpu_checks.sh: render_gpu_TAG)
    gpu = all(isinstance(r["gpu_images_per_s"], float) for r in raw["rows"])
    assert (tmp_path / "render_gpu.json").exists() == gpu
    assert_page_shows(result, "render_cpu")
