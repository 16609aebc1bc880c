"""The contract every genome encoding follows.

A generation reads as a straight line::

    children = encoding.vary(parents, rng, generation)
    images = encoding.express(children)          # float32 [N, C, H, W] in [0, 1]
    scores = target.scores(images)               # probabilities and log-odds
    archive.insert(children, scores.probabilities, ..., log_odds=scores.log_odds)

Genome batches support ``len``, fancy indexing (a new batch) and assignment to indexed cells, which
is all the archive and the loop need: a float array ``[N, ...]`` for the direct encoding, a
:class:`cppn.population.CppnPopulation` (struct of arrays) for the CPPN encoding.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Encoding(Protocol):
    """What the MAP-Elites loop needs from a genome encoding."""

    name: str
    image_shape: tuple[int, int, int]  # (channels, height, width) of expressed images

    def empty(self, n: int) -> np.ndarray:
        """Storage for ``n`` genomes (the archive's genome column), unoccupied."""

    def random(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` random genomes: the initial population."""

    def vary(self, parents: np.ndarray, rng: np.random.Generator, generation: int) -> np.ndarray:
        """One child per parent (parents are drawn by the loop); ``generation`` drives schedules."""

    def concatenate(self, parts: list[Any]) -> Any:
        """Genome batches joined end to end into one batch (children of several emitters)."""

    def express(self, genomes: np.ndarray, size: tuple[int, int] | None = None) -> Any:
        """Images float32 ``[N, C, H, W]`` in [0, 1] (NumPy, or a device tensor for GPU renderers).

        ``size`` overrides (height, width) where the encoding can render at any resolution.
        """

    def payload(self, genomes: np.ndarray) -> Any:
        """``genomes`` packed small for a remote worker (host arrays; never rendered images)."""

    def express_payload(self, payload: Any) -> Any:
        """The images :meth:`express` makes of the genomes :meth:`payload` packed, bit for bit."""

    def to_arrays(self, genomes: np.ndarray) -> dict[str, np.ndarray]:
        """Genomes as plain (non-object) arrays that ``np.savez`` stores without pickle."""

    def from_arrays(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        """Inverse of :meth:`to_arrays`."""

    def config(self) -> dict[str, Any]:
        """JSON-able settings: enough to rebuild this encoding with :func:`build_encoding`."""

    def state_dict(self) -> dict[str, Any]:
        """JSON-able mutable state (e.g. innovation counters) to checkpoint."""

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
