"""The contract every emitter follows (pyribs' ask/tell): an emitter makes children, the run scores
and inserts them, and the emitter is told what they scored.

A generation reads as one line::

    children = scheduler.ask(archive, rng, generation, batch)   # each emitter its share
    scores = evaluator(children, rng)                             # one batched forward pass
    improved = archive.insert(children, scores...)
    scheduler.tell(children, scores, archive, improved)          # each emitter its slice

Emitters run on the driver (never on Ray workers, which stay pure scorers) and draw every random
number from the run's one generator, so a run is reproducible from its seed. Whatever an emitter
learns (a mean, a covariance, a step size) is its state: :meth:`Emitter.state` returns it as
JSON-able values and plain arrays, which the checkpoint stores beside the archive, so a resumed
run continues exactly.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from archives import EliteArchive
from fitness.scores import Scores


class EmitterError(ValueError):
    """Emitter settings that cannot work (an unknown emitter, an option that does not fit the
    encoding or the target); the message is one line."""


@runtime_checkable
class Emitter(Protocol):
    """Makes children from the archive and learns from how they scored."""

    name: str

    def ask(
        self, archive: EliteArchive, rng: np.random.Generator, generation: int, count: int
    ) -> Any:
        """``count`` children (a genome batch of the run's encoding) for ``generation``."""

    def tell(
        self, children: Any, scores: Scores, archive: EliteArchive, improved: np.ndarray
    ) -> None:
        """What the children :meth:`ask` made scored (``scores`` row ``i`` for child ``i``),
        after they were inserted into ``archive``; ``improved``: the cells the whole
        generation improved."""

    def config(self) -> dict[str, Any]:
        """JSON-able settings, ``name`` included: enough to rebuild the emitter."""

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """What the emitter has learnt: JSON-able values and numeric arrays (npz, no pickle)."""

    def load_state(self, values: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`state` returned; raise :class:`EmitterError` if it is damaged."""

    def counters(self) -> dict[str, int]:
        """Queries the emitter made itself beyond the children it asked to score (e.g. backward
        passes), by kind; empty for black-box emitters."""


class Stateless:
    """Mix-in for emitters that learn nothing: empty state, no own queries."""

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Nothing to save."""
        return {}, {}

    def load_state(self, values: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Nothing to restore; a non-empty state belongs to another emitter."""
        if values or arrays:
            raise EmitterError(
                f"the {self.name} emitter keeps no state, but the checkpoint has some"
            )

    def counters(self) -> dict[str, int]:
        """No queries of its own."""
        return {}
