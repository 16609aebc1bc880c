"""What scoring a batch returns: probabilities to show, log-odds to rank by.

A probability in float64 saturates at both ends: it is exactly 0.0 once a class's logit trails
the top one by more than about 745, and exactly 1.0 once the top logit leads the others by more
than about 37. Distilled networks live there (mean top-2 logit gap 539 at T = 100), and images
whose probabilities tie give selection nothing to choose by. Each class's **log-odds**,
``log p - log(1 - p)``, is a strictly increasing function of ``p`` that stays finite at both
ends: near 0 it is ``log p`` (e.g. -900 against -1200), near 1 it is ``-log(1 - p)`` (e.g. 40
against 37). It is computed from float64 log-probabilities, never from the rounded ``p``:

- ``log(1 - p_c)`` of a class that is not the row's most probable one is ``log1p(-p_c)``,
  exact to rounding because such a ``p_c`` is at most 0.5;
- for the most probable class it is the log of the sum of the OTHER classes' probabilities,
  ``logsumexp`` of their log-probabilities, which does not round to ``log(0)`` however far the
  top class leads.

The archive ranks by probability first and breaks exact ties by log-odds
(:meth:`archives.EliteArchive.insert`), so every comparison that the probability decided
before is decided the same way, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Scores:
    """A scored batch: ``probabilities`` and ``log_odds``, both float64 ``[N, num_classes]``."""

    probabilities: np.ndarray
    log_odds: np.ndarray

    def __len__(self) -> int:
        return len(self.probabilities)

    @classmethod
    def concatenate(cls, parts: Sequence[Scores]) -> Scores:
        """The scores of consecutive chunks as one batch (none: an empty batch)."""
        if not parts:
            return cls(np.zeros((0, 0)), np.zeros((0, 0)))
        if len(parts) == 1:
            return parts[0]
        return cls(
            np.concatenate([p.probabilities for p in parts]),
            np.concatenate([p.log_odds for p in parts]),
        )

    def reshape_views(self, views: int) -> Scores:
        """``[views * N, K]`` scored view-major -> ``[views, N, K]`` (robust scoring)."""
        return Scores(
            self.probabilities.reshape(views, len(self) // views, -1),
            self.log_odds.reshape(views, len(self) // views, -1),
        )


def log_odds_from_log_probabilities(log_p: torch.Tensor) -> torch.Tensor:
    """Log-odds ``log p - log(1 - p)`` float64 ``[N, K]`` from float64 log-probabilities
    ``[N, K]`` of distributions (rows whose probabilities sum to 1)."""
    log_p = log_p.double()
    # Non-top classes: p <= 0.5, so 1 - p loses nothing.
    log_rest = torch.log1p(-log_p.exp())
    if log_p.shape[-1] > 1:
        top = log_p.argmax(dim=-1, keepdim=True)
        others = log_p.scatter(-1, top, -math.inf)
        log_rest = log_rest.scatter(-1, top, torch.logsumexp(others, dim=-1, keepdim=True))
    return log_p - log_rest


def log_sigmoid(z: np.ndarray) -> np.ndarray:
    """``log(1 / (1 + exp(-z)))`` without overflow: the log-probability of a log-odds."""
    return -np.logaddexp(0.0, -z)


def mean_log_odds(log_odds: np.ndarray) -> np.ndarray:
    """Log-odds of the mean probability over axis 0 of ``log_odds`` (``[K, N, C]`` -> ``[N, C]``):
    ``log(mean p) - log(mean(1 - p))``, each mean taken in log space (``log K`` cancels)."""
    return np.logaddexp.reduce(log_sigmoid(log_odds), axis=0) - np.logaddexp.reduce(
        log_sigmoid(-log_odds), axis=0
    )
