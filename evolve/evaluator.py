"""Evaluators: express a batch of genomes as images and score them.

The MAP-Elites step asks an evaluator for scores (probabilities and the log-odds it ranks by,
:class:`fitness.scores.Scores`) and never sees the target itself, so
where the scoring happens (this process, Ray workers: :mod:`evolve.distributed`) is the
evaluator's business. Each evaluator counts the images it has had scored (``queries``), which
the run reports.

Every evaluator scores a generation in the same fixed-size chunks (:func:`chunk_bounds`; the
run's ``chunk`` setting, :data:`evolve.config.DEFAULT_CHUNK` for new runs), whatever the number
of workers: a model's float results can depend on the batch it sees, so a chunk of 50 images
must be scored as 50 wherever it is scored for a run to be the same bit for bit in this process
and on a cluster. The default chunk (256) is larger than the default batch, so a default
in-process run still makes one forward call a generation.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from evolve.encodings.base import Encoding
from fitness import Target
from fitness.robust import RobustScoring
from fitness.scores import Scores


def chunk_bounds(n: int, chunk: int | None) -> list[tuple[int, int]]:
    """``(start, stop)`` of each chunk of ``n`` genomes; ``chunk=None``: one chunk (runs made
    before chunks existed scored a generation in one call, and resume that way)."""
    if chunk is None or chunk >= n:
        return [(0, n)] if n else []
    return [(start, min(start + chunk, n)) for start in range(0, n, chunk)]


@runtime_checkable
class Evaluator(Protocol):
    """Genomes in, scores out: probabilities and log-odds, each ``[N, num_classes]``."""

    @property
    def queries(self) -> int:
        """Images scored so far by this evaluator (in this process)."""

    def __call__(self, genomes: Any, rng: np.random.Generator) -> Scores:
        """Express ``genomes`` and score the images in one batched call. ``rng`` is the run's
        generator, for scoring that draws (random views, :mod:`fitness.robust`)."""


class LocalEvaluator:
    """Express with the encoding and score with the target, both in this process, chunk by
    chunk (``chunk`` images at a time; None: the whole batch at once).

    With a GPU target the images never leave the device: renderers and the direct encoding hand
    device tensors straight to ``target.scores``. With ``robust``, each image is scored
    under random transformations drawn from the run's generator (``--robust``).
    """

    def __init__(
        self,
        encoding: Encoding,
        target: Target,
        chunk: int | None = None,
        robust: RobustScoring | None = None,
    ) -> None:
        if robust is not None:
            robust.transforms.check_channels(target.image_shape[0])
        self.encoding = encoding
        self.target = target
        self.chunk = chunk
        self.robust = robust

    @property
    def queries(self) -> int:
        """Images the target has scored."""
        return self.target.queries

    @property
    def rescores_elites(self) -> bool:
        """Whether the elites are scored again each generation: robust fitness under random
        views with ``elites="rescore"`` or ``"average"`` (identity views are not random:
        nothing to rescore)."""
        robust = self.robust
        return (
            robust is not None
            and robust.elites in ("rescore", "average", "paired")
            and not robust.transforms.is_identity
        )

    @property
    def averages_elites(self) -> bool:
        """Whether an elite's rescores are averaged over its lifetime (``elites="average"``)
        rather than replacing its score."""
        return self.rescores_elites and self.robust is not None and self.robust.elites == "average"

    @property
    def pairs_views(self) -> bool:
        """Whether elites and children of a generation are scored under the same views
        (``elites="paired"``)."""
        return self.rescores_elites and self.robust is not None and self.robust.shared_views

    def __call__(self, genomes: Any, rng: np.random.Generator | None = None) -> Scores:
        """Scores of the images ``genomes`` express, scored chunk by chunk (robust: their
        reduced views, all drawn at once and scored in chunks of the target's --max-batch, so
        the draws do not depend on the chunk size)."""
        if self.robust is not None:
            if rng is None:
                raise ValueError("robust scoring draws its views from the run's generator")
            return self.robust.scores(self.target, self.encoding.express(genomes), rng)
        bounds = chunk_bounds(len(genomes), self.chunk)
        if len(bounds) <= 1:  # the common case: no slicing, no copy
            return self.target.scores(self.encoding.express(genomes))
        return Scores.concatenate(
            [
                self.target.scores(self.encoding.express(genomes[start:stop]))
                for start, stop in bounds
            ]
        )


def evaluator_status(evaluator: Evaluator) -> dict[str, Any]:
    """What an evaluator reports besides scores (a Ray evaluator: live workers and
    retries), for metrics.jsonl and the progress bar; empty for in-process scoring."""
    status = getattr(evaluator, "status", None)
    return dict(status()) if callable(status) else {}
