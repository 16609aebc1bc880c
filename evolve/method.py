"""The method seam: how a run makes progress, one step at a time.

The runner (:class:`evolve.runner.Evolution`) owns what every run has: the archive, the counters
and the one random generator (:class:`evolve.map_elites.RunState`), the clock, the stop
conditions, checkpoints, signals, the run directory and its observers. Everything else it asks
of its method, through these hooks, in this order::

    step(run)                          one step: a generation, or a gradient step; advances
                                       run.state.generation and run.state.evaluations and
                                       returns the archive cells it improved
    advance(run)                       the run goes on: what is due before the next step (also
                                       once before the first step of a process)
    state(run) / load_state(run, ...)  what a checkpoint keeps of the method, and taking it back
    counters(run)                      its own counts, in every metrics line and in ``reached``
    summary(run)                       its own lines of summary.json

MAP-Elites (:class:`evolve.map_elites.MapElites`, whose emitters are a seam of their own,
:mod:`evolve.emitters`) is the default; gradient ascent
(:class:`fooling.attacks.ascent.GradientAscent`) is another. A method keeps whatever it learns
in what :meth:`Method.state` returns (JSON-able values and plain arrays, never pickles), so that
a resumed run continues exactly; the keys of its values must not be the runner's own
(``target_queries``, ``reached``, ``first_reached``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from evolve.runner import Evolution


@runtime_checkable
class Method(Protocol):
    """How a run makes progress; the runner calls these hooks and nothing else of it."""

    def step(self, run: Evolution) -> np.ndarray:
        """One step: score genomes (or images) and insert them into ``run.archive``, counting
        ``run.state.generation`` up by one and ``run.state.evaluations`` by the images scored;
        return the cells it improved. Random numbers come from ``run.state.rng`` only."""

    def advance(self, run: Evolution) -> None:
        """The stop conditions hold none: do what is due before the next step (e.g. the
        gradient move of the step just scored). Called after every step the run goes on from,
        and once before the first step of a process."""

    def state(self, run: Evolution) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """What the checkpoint keeps of the method: JSON-able values and numeric arrays."""

    def load_state(
        self, run: Evolution, values: dict[str, Any], arrays: dict[str, np.ndarray], path: Path
    ) -> None:
        """Take back what :meth:`state` returned (``values`` may hold the runner's keys too,
        and keys of checkpoints written by earlier versions); raise
        :class:`evolve.errors.RunError` naming ``path`` (the checkpoint) if it is missing or
        damaged."""

    def counters(self, run: Evolution) -> dict[str, int]:
        """Counts beyond generations and evaluations, in each metrics line and in the record
        of when every class first met the threshold (empty for MAP-Elites)."""

    def summary(self, run: Evolution) -> dict[str, Any]:
        """The method's own entries of summary.json, after the runner's."""
