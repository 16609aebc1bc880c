"""Queries to success: per cell, the first evaluation whose score reached the run's threshold.

The black-box attack literature counts the queries an attack spends until it first succeeds;
here that is, for each cell, the 1-based number (over the run) of the first image whose score
for the cell's class reached the threshold, and the generation that scored it. The archive tells
:class:`FirstReached` every batch it is given (:meth:`EliteArchive.insert`), so the count is that
of the image itself, not of the batch's end: the archive keeps a batch's best image, which may
come later in the batch than the first one to reach the threshold (inserting the batch one image
at a time, as the archive is defined to, the cell reached the threshold at that first one).

A cell that reaches the threshold only when an elite is rescored (``--robust-elites``) is not
counted until an evaluated image reaches it: a rescore is no evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from archives.fooled import fooled

#: ``evaluation`` of a cell known only from metrics.jsonl (:meth:`FirstReached.from_generations`).
UNKNOWN = 0


class FirstReached:
    """When each cell first met ``threshold``: ``generation`` (-1: not yet) and ``evaluation``
    (1-based over the run; :data:`UNKNOWN` where only the generation is known, e.g. after the
    threshold changed on ``--resume``), and ``evaluations_by``, the run's evaluations at the end
    of that generation (an upper bound of ``evaluation``)."""

    def __init__(self, cell_classes: Sequence[int], threshold: float) -> None:
        self.cell_classes = np.asarray(cell_classes, dtype=np.int64)
        self.threshold = float(threshold)
        cells = len(self.cell_classes)
        self.generation = np.full(cells, -1, dtype=np.int64)
        self.evaluation = np.full(cells, -1, dtype=np.int64)
        self.evaluations_by = np.full(cells, -1, dtype=np.int64)

    @property
    def reached(self) -> np.ndarray:
        """Boolean mask of the cells that have met the threshold."""
        return self.generation >= 0

    def note(self, probabilities: np.ndarray, generation: int, evaluations_before: int) -> None:
        """A scored batch where every row competes for every cell (row ``j`` is evaluation
        ``evaluations_before + j + 1``): note the cells it brings to the threshold first."""
        pending = np.flatnonzero(~self.reached)
        if pending.size == 0 or len(probabilities) == 0:
            return
        hits = fooled(probabilities[:, self.cell_classes[pending]], self.threshold)
        found = hits.any(axis=0)
        if found.any():
            rows = hits[:, found].argmax(axis=0)  # the first row at the threshold
            self._record(pending[found], rows, generation, evaluations_before, len(probabilities))

    def note_assigned(
        self,
        probabilities: np.ndarray,
        cells: np.ndarray,
        generation: int,
        evaluations_before: int,
    ) -> None:
        """A scored batch where row ``j`` competes only for cell ``cells[j]``
        (:meth:`EliteArchive.insert_assigned`)."""
        cells = np.asarray(cells, dtype=np.int64)
        rows = np.arange(len(cells))
        hit = fooled(probabilities[rows, self.cell_classes[cells]], self.threshold)
        hit &= ~self.reached[cells]
        # Cells are distinct in an assigned batch, so each hit is its cell's first.
        self._record(cells[hit], rows[hit], generation, evaluations_before, len(cells))

    def _record(
        self, cells: np.ndarray, rows: np.ndarray, generation: int, before: int, batch: int
    ) -> None:
        self.generation[cells] = generation
        self.evaluation[cells] = before + rows + 1
        self.evaluations_by[cells] = before + batch

    def entry(self, cell: int) -> dict[str, Any] | None:
        """One cell's record for summary.json and archive.json: ``{"evaluation", "generation"}``,
        or ``{"evaluation": None, "generation", "evaluations_by"}`` where the evaluation is not
        known, or None where the cell has not met the threshold."""
        if self.generation[cell] < 0:
            return None
        if self.evaluation[cell] == UNKNOWN:
            return {
                "evaluation": None,
                "generation": int(self.generation[cell]),
                "evaluations_by": int(self.evaluations_by[cell]),
            }
        return {"evaluation": int(self.evaluation[cell]), "generation": int(self.generation[cell])}

    def all_evaluation(self) -> int | None:
        """The evaluation at which the last cell first met the threshold (the max over cells),
        or None while one has not, or its evaluation is unknown."""
        if not self.reached.all() or (self.evaluation == UNKNOWN).any() or not self.num_cells:
            return None
        return int(self.evaluation.max())

    @property
    def num_cells(self) -> int:
        """Number of cells followed."""
        return len(self.cell_classes)

    # ----------------------------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        """JSON-able state (a checkpoint's extras)."""
        return {
            "threshold": self.threshold,
            "generation": self.generation.tolist(),
            "evaluation": self.evaluation.tolist(),
            "evaluations_by": self.evaluations_by.tolist(),
        }

    @classmethod
    def from_dict(cls, data: Any, cell_classes: Sequence[int]) -> FirstReached:
        """Rebuild from :meth:`to_dict`; ``ValueError`` if the data do not fit the cells."""
        if not isinstance(data, dict):
            raise ValueError("first_reached is not an object")
        tracker = cls(cell_classes, float(data["threshold"]))
        for name in ("generation", "evaluation", "evaluations_by"):
            values = np.asarray(data[name], dtype=np.int64)
            if values.shape != (tracker.num_cells,):
                raise ValueError(f"first_reached {name} has {values.size} cells")
            setattr(tracker, name, values)
        reached = tracker.reached
        if (tracker.evaluation[reached] < 0).any() or (
            tracker.evaluations_by[reached] < tracker.evaluation[reached]
        ).any():
            raise ValueError("first_reached holds inconsistent counters")
        return tracker

    @classmethod
    def from_entries(
        cls, cell_classes: Sequence[int], threshold: float, entries: Sequence[Any]
    ) -> FirstReached:
        """Rebuild from :meth:`entry` records, one per cell (summary.json's ``reached``);
        ``ValueError`` if one is malformed."""
        tracker = cls(cell_classes, threshold)
        if len(entries) != tracker.num_cells:
            raise ValueError(f"{len(entries)} records for {tracker.num_cells} cells")
        for cell, entry in enumerate(entries):
            if entry is None:
                continue
            generation, evaluation = int(entry["generation"]), entry["evaluation"]
            if evaluation is None:
                tracker._record_generation(cell, generation, int(entry["evaluations_by"]))
            else:
                tracker._record(np.array([cell]), np.array([0]), generation, int(evaluation) - 1, 1)
        return tracker

    def _record_generation(self, cell: Any, generation: int, evaluations_by: Any) -> None:
        self.generation[cell] = generation
        self.evaluation[cell] = UNKNOWN
        self.evaluations_by[cell] = evaluations_by

    @classmethod
    def from_generations(
        cls,
        cell_classes: Sequence[int],
        threshold: float,
        records: Any,
    ) -> FirstReached:
        """What the per-generation confidences of metrics.jsonl tell (``records``: dicts with
        ``generation``, ``evaluations`` and ``best_confidence`` per cell, in order): the first
        logged generation at which each cell met ``threshold``, its evaluation unknown. Used
        when the threshold changed on ``--resume``, or the checkpoint predates this record."""
        tracker = cls(cell_classes, threshold)
        for record in records:
            best = np.asarray(record["best_confidence"], dtype=np.float64)
            if best.shape != (tracker.num_cells,):
                continue
            new = fooled(best, threshold) & ~tracker.reached
            tracker._record_generation(new, record["generation"], record["evaluations"])
        return tracker
