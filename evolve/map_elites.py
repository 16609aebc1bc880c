"""Batched ask/tell MAP-Elites: one generation as a straight line.

``archive.sample_elites -> encoding.vary -> evaluator(children) -> archive.insert``; the
evaluator expresses and scores (:mod:`evolve.evaluator`).
Everything that changes lives in :class:`RunState` and the archive, so a checkpoint of both
continues the run exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from archives import EliteArchive
from evolve.encodings.base import Encoding
from evolve.evaluator import Evaluator


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
) -> np.ndarray:
    """Score ``genomes`` in one batched call and insert them; return the improved cells.
    Random views are drawn from ``rng`` (default: the run's generator)."""
    scores = evaluator(genomes, state.rng if rng is None else rng)
    improved = archive.insert(
        genomes,
        scores.probabilities,
        state.generation,
        state.evaluations,
        log_odds=scores.log_odds,
    )
    state.evaluations += len(genomes)
    return improved


def initialise(
    state: RunState,
    encoding: Encoding,
    evaluator: Evaluator,
    archive: EliteArchive,
    population: int,
) -> np.ndarray:
    """Generation 0: random genomes, scored and inserted."""
    state.generation = 0
    return evaluate_and_insert(state, evaluator, archive, encoding.random(population, state.rng))


def step(
    state: RunState, encoding: Encoding, evaluator: Evaluator, archive: EliteArchive, batch: int
) -> np.ndarray:
    """One generation of ``batch`` children; return the cells it improved.

    ``archive.sample -> encoding.vary -> evaluator(express -> target) -> archive.insert``.
    """
    parents = archive.sample_elites(batch, state.rng)
    state.generation += 1
    children = encoding.vary(parents, state.rng, state.generation)
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
