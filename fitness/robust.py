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
#: How elites and children are compared under a noisy fitness, each generation:
#: ``paired`` scores every elite again under the same K views as the generation's children
#: (common random numbers), so a child beats an elite by being better under the same
#: transformations; ``rescore`` scores every elite again under fresh views of its own and keeps
#: that score; ``average`` does the same but keeps the running mean of all the scores the elite
#: has had, an estimate that sharpens with age; ``keep`` keeps the score an elite entered with.
#: With independent views, a child that drew easy views beats a better elite (the best of a
#: cell's ~20 children is mostly the luckiest), and ``keep`` also lets each cell hold its
#: luckiest score (the winner's curse). All but ``keep`` cost K images per occupied cell and
#: generation. docs/studies/robustness.md has the measurements.
ELITE_POLICIES = ("paired", "rescore", "average", "keep")
#: The policy of a new run that names none (--robust-elites, fooling.evolve): ``paired``, the
#: only one whose runs beat the standard run's elites on held-out views
#: (docs/studies/robustness.md).
DEFAULT_ELITES = "paired"


@dataclass(frozen=True)
class RobustScoring:
    """``samples`` random views per image under ``transforms``, reduced by ``reduce``."""

    transforms: TransformSpec
    samples: int = 1
    reduce: str = "mean"
    elites: str = DEFAULT_ELITES

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

    @property
    def shared_views(self) -> bool:
        """Whether the fitness shows all images of a call the same K views
        (``elites="paired"``)."""
        return self.elites == "paired"

    def views(
        self, images: Any, rng: np.random.Generator, samples: int, shared: bool = False
    ) -> torch.Tensor:
        """``samples`` random views of each image, view-major: view k of image i at k * N + i
        (float32 ``[samples * N, C, H, W]`` on the images' device). ``shared``: view k is the
        same transformation for every image (``samples`` draws, not N x samples)."""
        x = images if isinstance(images, torch.Tensor) else torch.from_numpy(np.asarray(images))
        x = x.to(torch.float32)
        views = x.repeat(samples, 1, 1, 1)
        if shared:
            draws = self.transforms.draw(samples, tuple(x.shape[1:]), rng).repeat(len(x))
        else:
            draws = self.transforms.draw(len(views), tuple(x.shape[1:]), rng)
        return self.transforms.apply(views, draws)

    def scores(self, target: Target, images: Any, rng: np.random.Generator) -> Scores:
        """Fitness ``[N, num_classes]``: per class, the mean (or minimum) over the K views (the
        same K for every image with :attr:`shared_views`) of the probabilities, and the log-odds
        of that mean (or minimum), taken in log space so that views whose probabilities all round
        to 0 or 1 still rank (:mod:`fitness.scores`)."""
        views = self.views(images, rng, self.samples, self.shared_views)
        per_view = target.scores(views).reshape_views(self.samples)
        if self.reduce == "mean":
            return Scores(per_view.probabilities.mean(axis=0), mean_log_odds(per_view.log_odds))
        # The log-odds rise with the probability, so the minimum view is the same for both.
        return Scores(per_view.probabilities.min(axis=0), per_view.log_odds.min(axis=0))
