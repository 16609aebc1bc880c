"""The run directory's readers: torn and foreign metrics lines, truncation, first at threshold."""

from __future__ import annotations

import json

import numpy as np
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


def test_a_torn_last_line_is_skipped(tmp_path) -> None:
    path = tmp_path / METRICS_FILE
    write_metrics(path, [record(0, [0.1]), record(1, [0.2])], torn='{"generation": 2, "ev')
    assert [r["generation"] for _, r in iter_metrics(path)] == [0, 1]
    assert [r["generation"] for r in read_metrics(tmp_path)] == [0, 1]


@pytest.mark.parametrize(
    "bad, message",
    [
        (b"[1, 2]\n", "line 2: not a JSON object"),
        (b"\xff\xfe not text\n", "line 2 is not UTF-8 text"),
        (b"{torn in the middle\n", "line 2 is not JSON"),
        (b'{"generation": "7", "evaluations": 1, "elapsed_s": 0, "best_confidence": []}\n',
         "line 2: generation must be a non-negative integer"),
        (b'{"generation": 5, "evaluations": 1, "elapsed_s": -1, "best_confidence": []}\n',
         "line 2: elapsed_s must be a non-negative number"),
        (b'{"generation": 5, "evaluations": 1, "elapsed_s": 1, "best_confidence": [2.0]}\n',
         "line 2: best_confidence must be a list of confidences"),
        (b'{"generation": 0, "evaluations": 1, "elapsed_s": 1, "best_confidence": [0.5]}\n',
         "line 2: generation 0 out of order after 0"),
    ],
)  # fmt: skip
def test_a_bad_line_is_one_error_naming_file_and_line(tmp_path, bad: bytes, message: str) -> None:
    path = tmp_path / METRICS_FILE
    good = (json.dumps(record(0, [0.1])) + "\n").encode()
    path.write_bytes(good + bad + (json.dumps(record(3, [0.2])) + "\n").encode())
    before = path.read_bytes()
    with pytest.raises(RunError, match=message) as error:
        truncate_metrics(path, 1)
    assert str(path) in str(error.value) and "\n" not in str(error.value)
    assert path.read_bytes() == before  # nothing changed on disk


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


def test_the_log_keeps_about_900_lines_per_decade() -> None:
    from evolve.run_dir import metrics_kept

    kept = np.flatnonzero([metrics_kept(g) for g in range(1_000_000)])
    assert kept[:1000].tolist() == list(range(1000))  # every early generation
    assert np.count_nonzero(kept < 300_000) < 3_100  # a 300,000-generation run: ~3,000 lines
    assert len(kept) == 1000 + 900 * 3
    assert metrics_kept(12_300) and not metrics_kept(12_310) and metrics_kept(990_000)


def test_thinned_reading_keeps_the_last_record(tmp_path) -> None:
    path = tmp_path / METRICS_FILE
    write_metrics(path, [record(g, [0.1]) for g in range(995, 1016)])
    thinned = [r["generation"] for r in read_metrics(tmp_path, thinned=True)]
    assert thinned == [995, 996, 997, 998, 999, 1000, 1010, 1015]
