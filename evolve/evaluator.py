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


@runtime_checkable
class Evaluator(Protocol):
    """Genomes in, probabilities ``[N, num_classes]`` (float, NumPy) out."""

    @property
    def queries(self) -> int:
        """Images scored so far by this evaluator (in this process)."""

    def __call__(self, genomes: Any) -> np.ndarray:
        """Express ``genomes`` and score the images in one batched call."""


class LocalEvaluator:
    """Express with the encoding and score with the target, both in this process.

    With a GPU target the images never leave the device: renderers and the direct encoding hand
    device tensors straight to ``target.probabilities``.
    """

    def __init__(self, encoding: Encoding, target: Target) -> None:
        self.encoding = encoding
        self.target = target

    @property
    def queries(self) -> int:
        """Images the target has scored."""
        return self.target.queries

    def __call__(self, genomes: Any) -> np.ndarray:
        """Probabilities of the images ``genomes`` express."""
        return self.target.probabilities(self.encoding.express(genomes))
