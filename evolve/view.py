"""What an observer sees of a run: a read-only view of its state, archive, counters and config.

Observers (:mod:`evolve.observers`) get a :class:`RunView`, never the runner: they can read
everything a report needs and change nothing the run depends on (its generator, archive,
method and counters stay the runner's).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from archives import EliteArchive
from archives.export import as_numpy
from evolve.config import RunConfig
from evolve.evaluator import evaluator_status

if TYPE_CHECKING:
    from evolve.runner import Evolution


@dataclass(frozen=True)
class RunProgress:
    """Where a run stands: its generation (-1 before the initial population; a gradient
    ascent's step), the images scored and the seconds spent, over all its processes."""

    generation: int
    evaluations: int
    elapsed_s: float

    @property
    def started(self) -> bool:
        """Whether the initial population (or first step) has been scored."""
        return self.generation >= 0


def _read_only(values: np.ndarray) -> np.ndarray:
    view = values.view()
    view.flags.writeable = False
    return view


class ArchiveView:
    """The read-only part of an :class:`archives.EliteArchive`: its cells and elites' scores,
    never ``insert``, ``rescore`` or ``save``. Arrays are read-only views."""

    def __init__(self, archive: EliteArchive) -> None:
        self._archive = archive

    @property
    def cell_names(self) -> list[str]:
        """The class name of each cell."""
        return self._archive.cell_names

    @property
    def cell_classes(self) -> np.ndarray:
        """The target's class index of each cell."""
        return _read_only(self._archive.cell_classes)

    @property
    def class_names(self) -> list[str]:
        """The target's class names."""
        return list(self._archive.class_names)

    @property
    def num_cells(self) -> int:
        """Number of cells."""
        return self._archive.num_cells

    @property
    def occupied(self) -> np.ndarray:
        """Boolean mask of the cells that hold an elite."""
        return self._archive.occupied

    @property
    def fitness(self) -> np.ndarray:
        """Each elite's confidence for its cell's class (-inf where empty)."""
        return self._archive.fitness

    @property
    def log_odds(self) -> np.ndarray:
        """Each elite's log-odds (-inf where empty)."""
        return self._archive.log_odds

    @property
    def probabilities(self) -> np.ndarray:
        """Each elite's whole probability vector, ``[cells, classes]``."""
        return self._archive.probabilities

    @property
    def generation(self) -> np.ndarray:
        """The generation that found each elite (-1 where empty)."""
        return self._archive.generation

    def cell_fitness(self) -> np.ndarray:
        """Confidence per cell, empty cells as 0."""
        return self._archive.cell_fitness()

    def stats(self, threshold: float) -> dict[str, Any]:
        """Coverage, QD-score and the spread of cell confidences
        (:meth:`archives.EliteArchive.stats`)."""
        return self._archive.stats(threshold)

    def all_at(self, threshold: float) -> bool:
        """Whether every cell's elite counts as fooling at ``threshold``."""
        return self._archive.all_at(threshold)

    def best_by_class(self) -> dict[str, float]:
        """Best confidence by class name (0 where empty)."""
        return self._archive.best_by_class()


class RunView:
    """A run as its observers see it (:class:`evolve.observers.Observer`): read-only.

    ``config`` is the run's own configuration object: read it, never change it.
    """

    def __init__(self, run: Evolution) -> None:
        self._run = run

    @property
    def run_dir(self) -> Path:
        """The run directory."""
        return self._run.run_dir

    @property
    def config(self) -> RunConfig:
        """The run's configuration (config.json)."""
        return self._run.config

    @property
    def state(self) -> RunProgress:
        """Generation, evaluations and elapsed seconds now (a snapshot)."""
        state = self._run.state
        return RunProgress(state.generation, state.evaluations, state.elapsed_s)

    @property
    def archive(self) -> ArchiveView:
        """The archive, read-only."""
        return ArchiveView(self._run.archive)

    @property
    def counters(self) -> dict[str, int]:
        """What the run has spent beyond generations and evaluations: ``target_queries`` (images
        the target scored, over all processes) and the method's own counts (e.g. a gradient
        ascent's ``backward_evaluations``)."""
        return {"target_queries": self._run.queries, **self._run.method.counters(self._run)}

    @property
    def evaluator_status(self) -> dict[str, Any]:
        """What the evaluator reports besides scores (on Ray: workers alive and retries)."""
        return evaluator_status(self._run.evaluator)

    def metrics_record(self) -> dict[str, Any]:
        """This generation's line of metrics.jsonl."""
        return self._run.metrics_record()

    def stop_reason(self) -> str | None:
        """Why the run would stop now, or None."""
        return self._run.stop_reason()

    def elite_arrays(self, cells: np.ndarray) -> dict[str, np.ndarray]:
        """The genomes of the elites in ``cells`` as the encoding's plain arrays (what
        checkpoints and the elite log store)."""
        run = self._run
        return run.encoding.to_arrays(run.archive.genomes[np.asarray(cells)])

    def elite_images(self, cells: np.ndarray) -> np.ndarray:
        """The images of the elites in ``cells`` (occupied ones): float32
        ``[len(cells), C, H, W]`` in [0, 1]."""
        run = self._run
        genomes = run.archive.genomes[np.asarray(cells)]
        return as_numpy(run.encoding.express(genomes)).astype(np.float32)
