"""Batched ask/tell MAP-Elites: one generation as a straight line.

``scheduler.ask -> evaluator(children) -> archive.insert -> scheduler.tell``; the emitters make
the children (:mod:`evolve.emitters`; the paper's operators by default), the evaluator expresses
and scores them (:mod:`evolve.evaluator`).
Everything that changes lives in :class:`RunState`, the archive and the emitters' state, so a
checkpoint of the three continues the run exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from archives import EliteArchive
from evolve.emitters import Scheduler
from evolve.encodings.base import Encoding
from evolve.evaluator import Evaluator
from fitness.scores import Scores


@dataclass
class RunState:
    """Counters and the one random generator of a run; generation 0 is the initial population."""

    rng: np.random.Generator
    generation: int = -1  # -1: the initial population has not been scored yet
    evaluations: int = 0
    elapsed_s: float = 0.0

    @property
    def started(self) -> bool:
        """Whether the initial population has been scored and inserted."""
        return self.generation >= 0


def evaluate_and_insert(
    state: RunState,
    evaluator: Evaluator,
    archive: EliteArchive,
    genomes: Any,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, Scores]:
    """Score ``genomes`` in one batched call and insert them; return the improved cells and the
    scores. Random views are drawn from ``rng`` (default: the run's generator)."""
    scores = evaluator(genomes, state.rng if rng is None else rng)
    improved = archive.insert(
        genomes,
        scores.probabilities,
        state.generation,
        state.evaluations,
        log_odds=scores.log_odds,
    )
    state.evaluations += len(genomes)
    return improved, scores


def initialise(
    state: RunState,
    encoding: Encoding,
    evaluator: Evaluator,
    archive: EliteArchive,
    population: int,
) -> np.ndarray:
    """Generation 0: random genomes, scored and inserted."""
    state.generation = 0
    genomes = encoding.random(population, state.rng)
    return evaluate_and_insert(state, evaluator, archive, genomes)[0]


def step(
    state: RunState, scheduler: Scheduler, evaluator: Evaluator, archive: EliteArchive, batch: int
) -> np.ndarray:
    """One generation of ``batch`` children; return the cells it improved.

    ``scheduler.ask -> evaluator(express -> target) -> archive.insert -> scheduler.tell``.
    """
    state.generation += 1
    children = scheduler.ask(archive, state.rng, state.generation, batch)
    improved, scores = _score_children(state, evaluator, archive, children)
    scheduler.tell(children, scores, archive, improved)
    return improved


def _score_children(
    state: RunState, evaluator: Evaluator, archive: EliteArchive, children: Any
) -> tuple[np.ndarray, Scores]:
    """Score and insert the children; under robust scoring with rescored elites, score the
    elites again first (from the same seed as the children when views are paired)."""
    if not getattr(evaluator, "rescores_elites", False):
        return evaluate_and_insert(state, evaluator, archive, children)
    if not getattr(evaluator, "pairs_views", False):
        rescore_elites(evaluator, archive, state.rng)
        return evaluate_and_insert(state, evaluator, archive, children)
    # Common random numbers: elites and children see the same K views, drawn twice from one
    # seed, so a child beats an elite by being better under the same transformations, not by
    # drawing easier ones.
    seed = int(state.rng.integers(2**63))
    rescore_elites(evaluator, archive, np.random.default_rng(seed))
    return evaluate_and_insert(state, evaluator, archive, children, np.random.default_rng(seed))


def rescore_elites(evaluator: Evaluator, archive: EliteArchive, rng: np.random.Generator) -> None:
    """Score every elite again (fresh random views from ``rng``), so that children compete with
    an elite's typical score, not the luckiest one it entered with: the fresh score replaces the
    old one, or (``evaluator.averages_elites``) joins the running mean of all its scores."""
    cells = np.flatnonzero(archive.occupied)
    if cells.size:
        average = bool(getattr(evaluator, "averages_elites", False))
        scores = evaluator(archive.genomes[cells], rng)
        archive.rescore(cells, scores.probabilities, log_odds=scores.log_odds, average=average)
