"""Robust scoring: each image scored under K random transformations, its fitness the mean (or the
minimum) of the K probabilities.

Like the target's ten crops, the K views of every image are scored in one call, view-major (all
images' first view, then all second views, ...), and chunked by the target's ``max_batch``. They
are not part of :class:`fitness.target.Target` itself because they are random: the draws come from
the caller's generator (the run's, so resume stays exact), and JPEG leaves the device for Pillow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from fitness.errors import TransformSpecError
from fitness.scores import Scores, mean_log_odds
from fitness.target import Target
from fitness.transforms import TransformSpec

#: How the K probabilities of an image become its fitness.
REDUCTIONS = ("mean", "min")
#: What happens to the elites' scores each generation: ``rescore`` scores every elite again
#: under fresh views and keeps that score, ``keep`` keeps the score an elite entered with. With a
#: noisy fitness, ``keep`` lets each cell hold its luckiest score, which children must then beat
#: (the winner's curse); ``rescore`` costs one more image per occupied cell and generation.
ELITE_POLICIES = ("rescore", "keep")


@dataclass(frozen=True)
class RobustScoring:
    """``samples`` random views per image under ``transforms``, reduced by ``reduce``."""

    transforms: TransformSpec
    samples: int = 1
    reduce: str = "mean"
    elites: str = "rescore"

    def __post_init__(self) -> None:
        if not isinstance(self.samples, int) or isinstance(self.samples, bool) or self.samples < 1:
            raise TransformSpecError(f"samples must be an integer >= 1, got {self.samples!r}")
        if self.reduce not in REDUCTIONS:
            raise TransformSpecError(
                f"reduce must be one of {', '.join(REDUCTIONS)}, got {self.reduce!r}"
            )
        if self.elites not in ELITE_POLICIES:
            raise TransformSpecError(
                f"elites must be one of {', '.join(ELITE_POLICIES)}, got {self.elites!r}"
            )

    @classmethod
    def from_dict(cls, data: Any) -> RobustScoring:
        """From config.json's ``robust`` object, checked as the command line checks it (runs
        made before ``elites`` existed kept their elites' scores: ``keep``)."""
        keys = {"transforms", "samples", "reduce"}
        if not isinstance(data, dict) or set(data) - {"elites"} != keys:
            raise TransformSpecError(
                "must be an object with transforms, samples, reduce and elites"
            )
        return cls(
            TransformSpec.from_ranges(data["transforms"]),
            data["samples"],
            data["reduce"],
            data.get("elites", "keep"),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (config.json)."""
        return {
            "transforms": self.transforms.to_dict(),
            "samples": self.samples,
            "reduce": self.reduce,
            "elites": self.elites,
        }

    def views(self, images: Any, rng: np.random.Generator, samples: int) -> torch.Tensor:
        """``samples`` random views of each image, view-major: view k of image i at k * N + i
        (float32 ``[samples * N, C, H, W]`` on the images' device)."""
        x = images if isinstance(images, torch.Tensor) else torch.from_numpy(np.asarray(images))
        x = x.to(torch.float32)
        views = x.repeat(samples, 1, 1, 1)
        draws = self.transforms.draw(len(views), tuple(x.shape[1:]), rng)
        return self.transforms.apply(views, draws)

    def scores(self, target: Target, images: Any, rng: np.random.Generator) -> Scores:
        """Fitness ``[N, num_classes]``: per class, the mean (or minimum) over the K views of the
        probabilities, and the log-odds of that mean (or minimum), taken in log space so that
        views whose probabilities all round to 0 or 1 still rank (:mod:`fitness.scores`)."""
        views = self.views(images, rng, self.samples)
        per_view = target.scores(views).reshape_views(self.samples)
        if self.reduce == "mean":
            return Scores(per_view.probabilities.mean(axis=0), mean_log_odds(per_view.log_odds))
        # The log-odds rise with the probability, so the minimum view is the same for both.
        return Scores(per_view.probabilities.min(axis=0), per_view.log_odds.min(axis=0))
