"""The Python API: the README's example (which the documentation includes from it) runs as
written, and runs in memory and on disk agree."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import fooling
from fooling.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example() -> str:
    """The ```python block of the README's "Python API" section."""
    section = README.read_text(encoding="utf-8").split("## Python API", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README's Python API section has no python block"
    return match.group(1)


def test_readme_example_runs(fooling_home, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(readme_example(), str(README), "exec"), namespace)  # noqa: S102 - our README
    run, images = namespace["run"], namespace["images"]
    assert isinstance(run, fooling.Run) and run.run_dir is None  # evolved in memory
    assert images.shape == (10, 1, 28, 28) and images.dtype == np.float32
    assert set(run.confidence) == {str(d) for d in range(10)}
    assert min(run.confidence.values()) >= 0.9999  # the example asks for --until 0.9999
    again = namespace["again"]
    assert again.run_dir == Path("runs/api") and again.confidence == run.confidence


def test_a_run_directory_from_the_api_resumes_with_the_cli(fooling_home, tmp_path, capsys) -> None:
    lenet = fooling.load_target("mnist-lenet", device="cpu")
    out = tmp_path / "run"
    first = fooling.evolve(lenet, out=out, batch=50, max_generations=3, seed=4)
    assert first.summary["generations"] == 3
    main(["evolve", "--resume", "--out", str(out), "--max-generations", "6", "-q"])
    resumed = fooling.read_run(out)
    straight = fooling.evolve(lenet, batch=50, max_generations=6, seed=4)
    np.testing.assert_array_equal(resumed.archive.fitness, straight.archive.fitness)
    np.testing.assert_array_equal(resumed.images(), straight.images())


def test_bad_arguments_name_the_problem() -> None:
    with pytest.raises(TypeError, match="unknown target option"):
        fooling.load_target("mnist-lenet", colour="red")
    lenet = fooling.load_target("mnist-lenet", device="cpu")
    with pytest.raises(TypeError, match="unknown option"):
        fooling.evolve(lenet, mutation_rat=0.2)


def test_a_generation_too_large_for_memory_is_refused_before_any_file(tmp_path) -> None:
    from evolve.errors import RunError

    lenet = fooling.load_target("mnist-lenet", device="cpu")
    with pytest.raises(RunError, match="needs about"):
        fooling.evolve(lenet, batch=10_000_000_000, out=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_robust_run_from_the_api_matches_the_cli(fooling_home, tmp_path, capsys) -> None:
    spec = "shift=2,rotate=10,jpeg=60:95"
    lenet = fooling.load_target("mnist-lenet", device="cpu")
    run = fooling.evolve(lenet, batch=20, max_generations=3, seed=3, robust=spec, robust_samples=2)
    assert run.config.robust["samples"] == 2 and run.config.robust["elites"] == "paired"
    # 2 views of 4 generations of 20, and of the 10 elites again in each generation after the first
    assert run.summary["target_queries"] == 2 * (4 * 20 + 3 * 10)
    args = ["--batch", "20", "--max-generations", "3", "--seed", "3", "--device", "cpu", "-q"]
    main(["evolve", *args, "--robust", spec, "--robust-samples", "2", "--out", str(tmp_path / "c")])
    np.testing.assert_array_equal(
        fooling.read_run(tmp_path / "c").archive.fitness, run.archive.fitness
    )
