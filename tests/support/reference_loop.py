"""The MAP-Elites loop as the engine ran it before emitters existed, written out step by step:
the reference that the paper emitter must equal bit for bit (a reference kept for tests, not a
second way to run)."""

from __future__ import annotations

from typing import Any

import numpy as np

from archives import EliteArchive
from evolve.map_elites import RunState, rescore_elites


def _insert(state: RunState, evaluator: Any, archive: EliteArchive, genomes: Any, rng) -> None:
    scores = evaluator(genomes, rng)
    archive.insert(
        genomes, scores.probabilities, state.generation, state.evaluations, log_odds=scores.log_odds
    )
    state.evaluations += len(genomes)


def reference_run(
    encoding: Any, evaluator: Any, archive: EliteArchive, seed: int, batch: int, generations: int
) -> RunState:
    """Generation 0 and ``generations`` more, as the pre-emitter ``evolve.map_elites`` did:
    parents sampled uniformly, the generation counted, the encoding's variation, then (robust,
    paired views) one seed for the elites' and the children's views, scoring and insertion."""
    state = RunState(rng=np.random.default_rng(seed), generation=0)
    _insert(state, evaluator, archive, encoding.random(batch, state.rng), state.rng)
    for _ in range(generations):
        parents = archive.sample_elites(batch, state.rng)
        state.generation += 1
        children = encoding.vary(parents, state.rng, state.generation)
        if not getattr(evaluator, "rescores_elites", False):
            _insert(state, evaluator, archive, children, state.rng)
        elif not getattr(evaluator, "pairs_views", False):
            rescore_elites(evaluator, archive, state.rng)
            _insert(state, evaluator, archive, children, state.rng)
        else:
            seed_views = int(state.rng.integers(2**63))
            rescore_elites(evaluator, archive, np.random.default_rng(seed_views))
            _insert(state, evaluator, archive, children, np.random.default_rng(seed_views))
    return state
