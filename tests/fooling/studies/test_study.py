"""The machinery every study shares: seeds, state files, folders, thread counts, summaries."""

from __future__ import annotations

import json

import pytest
import torch

from archives.atomic import atomic_write_json
from evolve.errors import RunError
from fooling.studies.study import (
    STATE_FILE,
    StudyState,
    derived_seed,
    fixed_threads,
    prepare_study_dir,
    read_state,
    remove_study,
    summarise_runs,
)


def test_derived_seeds_are_stable_distinct_and_31_bit() -> None:
    seeds = {derived_seed(7, r, p, k) for r in range(1, 16) for p in range(4) for k in range(3)}
    assert len(seeds) == 15 * 4 * 3 and max(seeds) < 2**31
    assert derived_seed(7, 1, 0, 1) == derived_seed(7, 1, 0, 1) != derived_seed(8, 1, 0, 1)


def test_state_is_saved_with_each_session_and_checked_on_read(tmp_path) -> None:
    study = StudyState(tmp_path, {"format": "f", "version": 1, "steps": []})
    study.save_state()
    study.state["steps"].append("a")
    study.save_state()
    state = read_state(tmp_path, "study", "f", 1)
    assert state["steps"] == ["a"] and len(state["sessions"]) == 1  # one session, updated
    StudyState(tmp_path, state).save_state()  # a resumed process adds its own session
    assert len(json.loads((tmp_path / STATE_FILE).read_text())["sessions"]) == 2
    with pytest.raises(RunError, match="not a study state of this version"):
        read_state(tmp_path, "study", "f", 2)
    (tmp_path / STATE_FILE).write_text("{torn", encoding="utf-8")
    with pytest.raises(RunError, match="unreadable or corrupt"):
        read_state(tmp_path, "study", "f", 1)


def test_study_folders_are_never_clobbered_by_accident(tmp_path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunError, match="not a directory"):
        prepare_study_dir(tmp_path / "file", "study.json", overwrite=False)
    atomic_write_json(tmp_path / "study.json", {})
    (tmp_path / "round_01").mkdir()
    (tmp_path / "mine.txt").write_text("keep")
    with pytest.raises(RunError, match="already holds a study"):
        prepare_study_dir(tmp_path, "study.json", overwrite=False)
    prepare_study_dir(tmp_path, "study.json", overwrite=True)
    remove_study(tmp_path, ("study.json",))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "mine.txt"]


def test_threads_are_fixed_then_restored() -> None:
    before = torch.get_num_threads()
    with fixed_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_runs_are_summarised_per_class_and_effort() -> None:
    def run(best, reached, evaluations):
        return {"best_confidence": best, "all_at_threshold": reached, "evaluations": evaluations,
                "wall_s": 1.0}  # fmt: skip

    runs = [
        run({"a": 0.99995, "b": 0.5}, None, 100),
        run({"a": 0.9, "b": 0.99999}, {"evaluations": 40, "generation": 3}, 60),
    ]
    summary = summarise_runs(runs, 0.9999)
    assert summary["best_confidence"] == {"a": 0.99995, "b": 0.99999}
    assert summary["classes_at_threshold"] == 2 and summary["runs_reached"] == 1
    assert summary["evaluations_to_threshold"] == [None, 40]
    assert summary["evaluations"] == 160 and summary["seconds"] == 2.0
