"""Batched ask/tell MAP-Elites: one generation as a straight line.

``scheduler.ask -> evaluator(children) -> archive.insert -> scheduler.tell``; the emitters make
the children (:mod:`evolve.emitters`; the paper's operators by default), the evaluator expresses
and scores them (:mod:`evolve.evaluator`).
Everything that changes lives in :class:`RunState`, the archive and the emitters' state, so a
checkpoint of the three continues the run exactly. :class:`MapElites` is this step as a run's
method (:mod:`evolve.method`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from archives import EliteArchive
from evolve.emitters import EmitterError, RunContext, Scheduler, build_scheduler
from evolve.encodings.base import Encoding
from evolve.errors import RunError
from evolve.evaluator import Evaluator
from fitness.scores import Scores

if TYPE_CHECKING:
    from evolve.config import RunConfig
    from evolve.runner import Evolution
    from fitness.target import Target

#: Where a checkpoint keeps the emitters' state: a JSON list in its run state, arrays by prefix.
EMITTER_STATE_KEY = "emitters"
EMITTER_COUNTERS_KEY = "emitter_queries"
EMITTER_ARRAY_PREFIX = "emitter."


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


class MapElites:
    """MAP-Elites as a run's method (:class:`evolve.method.Method`): generation 0 is the initial
    population, every later step a generation of ``config.batch`` children that the run's
    emitters propose (:func:`step`). The emitters' state and their own queries (e.g. the
    backward passes of ``grad``) are what it keeps in a checkpoint."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.earlier_queries: dict[str, int] = {}  # the emitters' own, in earlier processes

    @classmethod
    def for_run(cls, config: RunConfig, encoding: Encoding, target: Target) -> MapElites:
        """The method with the emitters ``config`` names; a :class:`RunError` where they cannot
        work with this encoding and target."""
        context = RunContext(
            config.cell_classes,
            config.threshold,
            config.batch,
            target,
            robust=config.robust is not None,
        )
        try:
            return cls(build_scheduler(config.emitters, encoding, context))
        except EmitterError as exc:
            raise RunError(str(exc)) from None

    def step(self, run: Evolution) -> np.ndarray:
        """Generation 0 (random genomes) if the run has not started, else one generation."""
        state = run.state
        if state.started:
            return step(state, self.scheduler, run.evaluator, run.archive, run.config.batch)
        return initialise(
            state, run.encoding, run.evaluator, run.archive, run.config.initial_population
        )

    def advance(self, run: Evolution) -> None:
        """Nothing is due between generations."""

    def queries(self) -> dict[str, int]:
        """The emitters' own queries beyond the children scored, by kind, over all the run's
        processes."""
        total = dict(self.earlier_queries)
        for kind, count in self.scheduler.counters().items():
            total[kind] = total.get(kind, 0) + count
        return total

    def state(self, run: Evolution) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The emitters' state (a JSON list, arrays by emitter) and their own queries."""
        values, arrays = self.scheduler.state()
        return (
            {EMITTER_STATE_KEY: values, EMITTER_COUNTERS_KEY: self.queries()},
            {EMITTER_ARRAY_PREFIX + name: array for name, array in arrays.items()},
        )

    def load_state(
        self, run: Evolution, values: dict[str, Any], arrays: dict[str, np.ndarray], path: Path
    ) -> None:
        """Take the emitters' state back (a checkpoint written before emitters has none: only
        stateless emitters can continue it)."""
        counters = values.get(EMITTER_COUNTERS_KEY, {})
        own = {
            name[len(EMITTER_ARRAY_PREFIX) :]: array
            for name, array in arrays.items()
            if name.startswith(EMITTER_ARRAY_PREFIX)
        }
        try:
            self.scheduler.load_state(values.get(EMITTER_STATE_KEY), own)
            if not isinstance(counters, dict) or not all(
                isinstance(v, int) and v >= 0 for v in counters.values()
            ):
                raise EmitterError("its emitter query counters are not counts")
        except EmitterError as exc:
            raise RunError(f"checkpoint {path} is corrupt or foreign: {exc}") from None
        self.earlier_queries = dict(counters)

    def counters(self, run: Evolution) -> dict[str, int]:
        """None beyond generations and evaluations."""
        return {}

    def summary(self, run: Evolution) -> dict[str, Any]:
        """The emitters' own queries, where they made any (e.g. backward passes of
        ``--gradients``)."""
        own = self.queries()
        return {"emitter_queries": own} if own else {}
