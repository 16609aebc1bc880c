"""Queries to success: the archive tells FirstReached every batch, which keeps, per cell, the
first image (not the batch's best) whose score met the threshold."""

from __future__ import annotations

import numpy as np
import pytest

from archives import EliteArchive
from archives.first_reached import UNKNOWN, FirstReached


def archive_with_tracker(threshold: float = 0.9) -> tuple[EliteArchive, FirstReached]:
    archive = EliteArchive([0, 1, 2], ["a", "b", "c"], np.zeros((3, 2), dtype=np.float32))
    archive.first_reached = FirstReached(archive.cell_classes, threshold)
    return archive, archive.first_reached


def probabilities(*rows: list[float]) -> np.ndarray:
    return np.array(rows, dtype=np.float64)


def test_the_first_image_at_the_threshold_counts_not_the_batch_best() -> None:
    archive, first = archive_with_tracker(0.9)
    batch = probabilities([0.1, 0.2, 0.7], [0.91, 0.05, 0.04], [0.99, 0.0, 0.01])
    archive.insert(np.zeros((3, 2), dtype=np.float32), batch, generation=4, evaluations_before=40)
    # The archive keeps row 2 (the best for "a") as evaluation 43; the class met 0.9 at row 1.
    assert archive.evaluation[0] == 43
    assert first.entry(0) == {"evaluation": 42, "generation": 4}
    assert first.entry(1) is None and first.entry(2) is None
    assert first.all_evaluation() is None
    # A later batch does not move a cell already there; others get theirs.
    later = probabilities([0.0, 0.95, 0.05], [0.0, 0.0, 1.0])
    archive.insert(np.zeros((2, 2), dtype=np.float32), later, generation=5, evaluations_before=43)
    assert first.entry(0)["evaluation"] == 42
    assert first.entry(1) == {"evaluation": 44, "generation": 5}
    assert first.entry(2) == {"evaluation": 45, "generation": 5}
    assert first.all_evaluation() == 45


def test_the_threshold_is_inclusive_and_nan_never_counts() -> None:
    archive, first = archive_with_tracker(0.5)
    batch = probabilities([np.nan, 0.5, 0.0])
    archive.insert(np.zeros((1, 2), dtype=np.float32), batch, generation=0, evaluations_before=0)
    assert first.entry(0) is None
    assert first.entry(1) == {"evaluation": 1, "generation": 0}


def test_an_assigned_batch_counts_each_image_for_its_own_cell_only() -> None:
    archive, first = archive_with_tracker(0.9)
    # Row 0 is for cell 2 but scores "a" at 0.95: it does not count for "a".
    batch = probabilities([0.95, 0.0, 0.05], [0.0, 0.92, 0.08])
    archive.insert_assigned(
        np.zeros((2, 2), dtype=np.float32), batch, np.array([2, 1]), 3, evaluations_before=6
    )
    assert first.entry(0) is None and first.entry(2) is None
    assert first.entry(1) == {"evaluation": 8, "generation": 3}


def test_state_round_trips_and_damage_is_refused() -> None:
    archive, first = archive_with_tracker(0.9)
    batch = probabilities([0.1, 0.95, 0.0], [0.97, 0.0, 0.03])
    archive.insert(np.zeros((2, 2), dtype=np.float32), batch, generation=1, evaluations_before=10)
    again = FirstReached.from_dict(first.to_dict(), [0, 1, 2])
    assert again.to_dict() == first.to_dict()
    assert [again.entry(c) for c in range(3)] == [first.entry(c) for c in range(3)]
    damaged = {**first.to_dict(), "evaluation": [1, 2]}
    with pytest.raises(ValueError, match="evaluation has 2 cells"):
        FirstReached.from_dict(damaged, [0, 1, 2])
    with pytest.raises(ValueError, match="inconsistent"):
        FirstReached.from_dict({**first.to_dict(), "evaluations_by": [0, 0, -1]}, [0, 1, 2])
    entries = [first.entry(c) for c in range(3)]
    rebuilt = FirstReached.from_entries([0, 1, 2], 0.9, entries)
    assert [rebuilt.entry(c) for c in range(3)] == entries


def test_generations_alone_give_bounds_not_evaluations() -> None:
    records = [
        {"generation": 0, "evaluations": 20, "best_confidence": [0.2, 0.95, 0.0]},
        {"generation": 1, "evaluations": 40, "best_confidence": [0.91, 0.97, 0.0]},
    ]
    first = FirstReached.from_generations([0, 1, 2], 0.9, records)
    assert first.entry(0) == {"evaluation": None, "generation": 1, "evaluations_by": 40}
    assert first.entry(1) == {"evaluation": None, "generation": 0, "evaluations_by": 20}
    assert first.entry(2) is None
    assert first.evaluation[0] == UNKNOWN
    # Tracking goes on exactly for the cells still below the threshold.
    first.note(probabilities([0.0, 0.0, 0.93]), generation=2, evaluations_before=40)
    assert first.entry(2) == {"evaluation": 41, "generation": 2}
    assert first.all_evaluation() is None  # two of the three are bounds only
