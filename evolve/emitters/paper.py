"""The paper's operators as an emitter: parents drawn uniformly from the occupied cells, one child
each by the encoding's variation (direct: polynomial mutation, optional SBX; CPPN: NEAT-style
mutation). It is the default, and with it a run is the run the engine made before emitters
existed, bit for bit: the same draws from the run's generator in the same order."""

from __future__ import annotations

from typing import Any

import numpy as np

from archives import EliteArchive
from evolve.emitters.base import Stateless
from evolve.encodings.base import Encoding
from fitness.scores import Scores


class PaperEmitter(Stateless):
    """Uniform parent selection and the encoding's own variation (docs/protocol.md)."""

    name = "paper"

    def __init__(self, encoding: Encoding) -> None:
        self.encoding = encoding

    def ask(
        self, archive: EliteArchive, rng: np.random.Generator, generation: int, count: int
    ) -> Any:
        """``count`` children of parents drawn uniformly from occupied cells."""
        parents = archive.sample_elites(count, rng)
        return self.encoding.vary(parents, rng, generation)

    def tell(
        self, children: Any, scores: Scores, archive: EliteArchive, improved: np.ndarray
    ) -> None:
        """The paper's operators do not adapt."""

    def config(self) -> dict[str, Any]:
        """Only the name: the operators' settings are the encoding's."""
        return {"name": self.name}
