"""Batched ask/tell MAP-Elites: one generation as a straight line.

``vary(parents) -> express(children) -> target.probabilities(images) -> archive.insert(...)``.
Everything that changes lives in :class:`RunState` and the archive, so a checkpoint of both
continues the run exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archives import EliteArchive
from evolve.encodings.base import Encoding
from fitness import Target


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
    encoding: Encoding,
    target: Target,
    archive: EliteArchive,
    genomes: np.ndarray,
) -> np.ndarray:
    """Score ``genomes`` in one batched call and insert them; return the improved cells."""
    probabilities = target.probabilities(encoding.express(genomes))
    improved = archive.insert(genomes, probabilities, state.generation, state.evaluations)
    state.evaluations += len(genomes)
    return improved


def initialise(
    state: RunState, encoding: Encoding, target: Target, archive: EliteArchive, population: int
) -> np.ndarray:
    """Generation 0: random genomes, scored and inserted."""
    state.generation = 0
    return evaluate_and_insert(
        state, encoding, target, archive, encoding.random(population, state.rng)
    )


def select_parents(archive: EliteArchive, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` parents drawn uniformly, with replacement, from occupied cells.

    An image that holds k cells is drawn with k times the weight, as in the original code.
    """
    occupied = np.flatnonzero(archive.occupied)
    if occupied.size == 0:
        raise RuntimeError("cannot select parents from an empty archive")
    return archive.genomes[occupied[rng.integers(occupied.size, size=count)]]


def step(
    state: RunState, encoding: Encoding, target: Target, archive: EliteArchive, batch: int
) -> np.ndarray:
    """One generation of ``batch`` children; return the cells it improved."""
    parents = select_parents(archive, batch, state.rng)
    state.generation += 1
    children = encoding.vary(parents, state.rng, state.generation)
    return evaluate_and_insert(state, encoding, target, archive, children)
