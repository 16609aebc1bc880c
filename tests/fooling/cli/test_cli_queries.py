"""Queries to success, end to end: summary.json and archive.json give each class's first
evaluation at the threshold (checked against every score the run made), a resumed run reports
the same, a new threshold on --resume falls back to generations, and `fooling plot` draws and
lists them."""

from __future__ import annotations

import json

import numpy as np
from cli_helpers import evolve_whole_and_resumed, read_csv, run_cli

from evolve.config import RunConfig, StopConditions
from evolve.encodings import DirectEncoding
from evolve.evaluator import LocalEvaluator
from evolve.runner import Evolution

THRESHOLD = 0.5  # what 40 generations of 50 reach for about half the digits (seed 7)


class RecordingEvaluator(LocalEvaluator):
    """Scores as the run's own evaluator does, and keeps every batch's probabilities."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.batches: list[np.ndarray] = []

    def __call__(self, genomes, rng=None):
        scores = super().__call__(genomes, rng)
        self.batches.append(np.array(scores.probabilities))
        return scores


def read_json(path) -> dict:
    return json.loads(path.read_text())


def without_times(reached: dict | None) -> dict | None:
    return None if reached is None else {k: v for k, v in reached.items() if k != "elapsed_s"}


def test_each_class_counts_the_first_image_at_the_threshold(lenet_target, tmp_path) -> None:
    encoding = DirectEncoding()
    config = RunConfig.for_target(
        lenet_target, encoding, list(range(10)), batch=50, seed=7,
        stop=StopConditions(max_generations=40), threshold=THRESHOLD,
    )  # fmt: skip
    evaluator = RecordingEvaluator(encoding, lenet_target, config.chunk)
    run = tmp_path / "run"
    evolution = Evolution.create(
        run, config, lenet_target, encoding, progress=False, evaluator=evaluator
    )
    summary = evolution.run()
    scores = np.concatenate(evaluator.batches)  # row i: evaluation i + 1
    generation_of = np.repeat(np.arange(len(evaluator.batches)), 50)
    assert len(scores) == summary["evaluations"]
    reached = summary["reached"]
    assert list(reached) == [str(d) for d in range(10)]
    for digit, entry in enumerate(reached.values()):
        hits = np.flatnonzero(scores[:, digit] >= THRESHOLD)
        if hits.size == 0:
            assert entry is None
            continue
        assert entry == {"evaluation": int(hits[0]) + 1, "generation": int(generation_of[hits[0]])}
    exact = [e["evaluation"] for e in reached.values() if e is not None]
    assert 2 <= len(exact) < 10  # some classes there, some not: both cases are checked
    # The archive keeps the batch's best, which may come after the first at the threshold.
    archive_json = read_json(run / "archive.json")
    assert [cell["reached"] for cell in archive_json["cells"]] == list(reached.values())
    assert read_json(run / "summary.json")["reached"] == reached
    assert summary["all_at_threshold"] is None


def test_resumed_run_reports_the_same_queries_then_a_new_threshold(tmp_path, capsys) -> None:
    common = ["--seed", "7", "--batch", "50", "--checkpoint-every", "5", "--threshold",
              str(THRESHOLD), "-q"]  # fmt: skip
    whole, resumed = evolve_whole_and_resumed(capsys, tmp_path, common, 40, 25)
    a, b = read_json(whole / "summary.json"), read_json(resumed / "summary.json")
    assert a["reached"] == b["reached"]
    assert without_times(a["all_at_threshold"]) == without_times(b["all_at_threshold"])
    before = {name: e for name, e in b["reached"].items() if e and e["generation"] <= 25}
    after = {name: e for name, e in b["reached"].items() if e and e["generation"] > 25}
    assert before and after  # classes reached before the checkpoint and after the resume
    cells = [c["reached"] for c in read_json(resumed / "archive.json")["cells"]]
    assert cells == [c["reached"] for c in read_json(whole / "archive.json")["cells"]]

    # --until with another threshold: the checkpoint's record is for 0.5; the generations come
    # from metrics.jsonl (evaluation unknown, bounded by the generation's end), and classes
    # that get there later are counted exactly again.
    metrics = [json.loads(line) for line in (resumed / "metrics.jsonl").read_text().splitlines()]
    code, _, err = run_cli(capsys, "evolve", "--resume", "--until", "0.3", "--max-generations",
                           "60", "--out", resumed, "-q")  # fmt: skip
    assert code == 0, err
    summary = read_json(resumed / "summary.json")
    assert summary["threshold"] == 0.3
    unknown = 0
    for digit, entry in enumerate(summary["reached"].values()):
        first = next((m for m in metrics if m["best_confidence"][digit] >= 0.3), None)
        if first is not None:
            unknown += 1
            assert entry == {"evaluation": None, "generation": first["generation"],
                             "evaluations_by": first["evaluations"]}  # fmt: skip
        elif entry is not None:
            assert entry["generation"] > 40
            assert 50 * entry["generation"] < entry["evaluation"] <= 50 * (entry["generation"] + 1)
    assert unknown >= 2
    if summary["all_at_threshold"] is not None:
        assert summary["all_at_threshold"]["evaluation"] is None  # some are bounds only

    # The plot: over generations and over evaluations, and the CSV of the same records.
    code, out, err = run_cli(capsys, "plot", resumed, "--log-evaluations")
    assert code == 0, err
    for name in ("confidence.png", "confidence_evaluations.png"):
        assert (resumed / name).stat().st_size > 1000 and name in out
    rows = read_csv(resumed / "confidence_reached.csv")
    assert [row["class"] for row in rows] == list(summary["reached"])
    for row, entry in zip(rows, summary["reached"].values(), strict=True):
        assert row["threshold"] == "0.3"
        if entry is None:
            assert row["evaluation"] == row["generation"] == row["evaluations_by"] == ""
            continue
        assert row["generation"] == str(entry["generation"])
        assert row["evaluation"] == (
            "" if entry["evaluation"] is None else str(entry["evaluation"])
        )
        assert row["evaluations_by"] == str(entry.get("evaluations_by", ""))


def test_plot_out_names_its_companions(run_copy, tmp_path, capsys) -> None:
    out = tmp_path / "figures" / "run.png"
    out.parent.mkdir()
    code, stdout, err = run_cli(capsys, "plot", run_copy, "--out", out)
    assert code == 0, err
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "run.png", "run_evaluations.png", "run_reached.csv"
    ]  # fmt: skip
    summary = read_json(run_copy / "summary.json")
    rows = read_csv(out.parent / "run_reached.csv")
    assert {row["class"]: row["evaluation"] or None for row in rows} == {
        name: None if entry is None else str(entry["evaluation"])
        for name, entry in summary["reached"].items()
    }
