"""The run directory's readers: torn and foreign metrics lines, truncation, first at threshold."""

from __future__ import annotations

import json

import pytest

from evolve.errors import RunError
from evolve.run_dir import (
    METRICS_FILE,
    first_at_threshold,
    iter_metrics,
    prepare_new_run_dir,
    read_metrics,
    truncate_metrics,
)


def write_metrics(path, records, torn: str = "") -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + torn, encoding="utf-8")


def record(generation: int, best: list[float]) -> dict:
    return {"generation": generation, "evaluations": 10 * generation, "elapsed_s": 0.5 * generation,
            "best_confidence": best}  # fmt: skip


def test_torn_and_foreign_lines_are_skipped(tmp_path) -> None:
    path = tmp_path / METRICS_FILE
    write_metrics(path, [record(0, [0.1]), [1, 2], record(1, [0.2])], torn='{"generation": 2, "ev')
    assert [r["generation"] for _, r in iter_metrics(path)] == [0, 1]
    assert [r["generation"] for r in read_metrics(tmp_path)] == [0, 1]


def test_truncate_keeps_the_checkpointed_generations(tmp_path) -> None:
    path = tmp_path / METRICS_FILE
    write_metrics(path, [record(g, [0.1]) for g in range(5)], torn="{")
    truncate_metrics(path, 2)
    assert [r["generation"] for r in read_metrics(tmp_path)] == [0, 1, 2]
    assert path.read_text(encoding="utf-8").endswith("\n")


def test_first_generation_with_every_class_fooled(tmp_path) -> None:
    path = tmp_path / METRICS_FILE
    write_metrics(path, [record(0, [0.5, 1.0]), record(1, [0.99995, 0.9999]), record(2, [1, 1])])
    assert first_at_threshold(path, 0.9999) == {
        "threshold": 0.9999, "generation": 1, "evaluations": 10, "elapsed_s": 0.5
    }  # fmt: skip
    assert first_at_threshold(path, 1.1) is None
    assert first_at_threshold(tmp_path / "missing.jsonl", 0.5) is None


def test_missing_or_empty_metrics_are_run_errors(tmp_path) -> None:
    with pytest.raises(RunError, match="has no metrics.jsonl"):
        read_metrics(tmp_path)
    (tmp_path / METRICS_FILE).write_text("{torn", encoding="utf-8")
    with pytest.raises(RunError, match="holds no generation yet"):
        read_metrics(tmp_path)


def test_a_new_run_never_clobbers_an_earlier_one(tmp_path) -> None:
    prepare_new_run_dir(tmp_path / "run", overwrite=False)
    (tmp_path / "run" / METRICS_FILE).write_text("{}\n", encoding="utf-8")
    (tmp_path / "run" / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(RunError, match="already holds a run"):
        prepare_new_run_dir(tmp_path / "run", overwrite=False)
    prepare_new_run_dir(tmp_path / "run", overwrite=True)
    assert not (tmp_path / "run" / METRICS_FILE).exists()
    assert (tmp_path / "run" / "notes.txt").read_text(encoding="utf-8") == "mine"
