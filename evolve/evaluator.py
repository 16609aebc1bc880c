"""Evaluators: express a batch of genomes as images and score them, in one call.

The MAP-Elites step asks an evaluator for probabilities and never sees the target itself, so
where the scoring happens (this process, Ray workers, ...) is the evaluator's business. Each
evaluator counts the images it has had scored (``queries``), which the run reports.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from evolve.encodings.base import Encoding
from fitness import Target
from fitness.robust import RobustScoring


@runtime_checkable
class Evaluator(Protocol):
    """Genomes in, probabilities ``[N, num_classes]`` (float, NumPy) out."""

    @property
    def queries(self) -> int:
        """Images scored so far by this evaluator (in this process)."""

    def __call__(self, genomes: Any, rng: np.random.Generator) -> np.ndarray:
        """Express ``genomes`` and score the images in one batched call. ``rng`` is the run's
        generator, for scoring that draws (random views, :mod:`fitness.robust`)."""


class LocalEvaluator:
    """Express with the encoding and score with the target, both in this process.

    With a GPU target the images never leave the device: renderers and the direct encoding hand
    device tensors straight to ``target.probabilities``. With ``robust``, each image is scored
    under random transformations drawn from the run's generator (``--robust``).
    """

    def __init__(
        self, encoding: Encoding, target: Target, robust: RobustScoring | None = None
    ) -> None:
        if robust is not None:
            robust.transforms.check_channels(target.image_shape[0])
        self.encoding = encoding
        self.target = target
        self.robust = robust

    @property
    def queries(self) -> int:
        """Images the target has scored."""
        return self.target.queries

    def __call__(self, genomes: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        """Probabilities of the images ``genomes`` express (robust: their reduced views)."""
        images = self.encoding.express(genomes)
        if self.robust is None:
            return self.target.probabilities(images)
        if rng is None:
            raise ValueError("robust scoring draws its transformations from the run's generator")
        return self.robust.probabilities(self.target, images, rng)
