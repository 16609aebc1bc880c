"""ROC statistics of a detector score, tie-aware, in NumPy (no scikit-learn for three functions).

Convention: ``positive`` and ``negative`` are the detector's scores of the images it should flag
(fooling images) and of those it should pass (real images); a higher score means "flag". A
detector flags an image when its score is >= a threshold.
"""

from __future__ import annotations

import math

import numpy as np


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of ``values`` in ascending order; tied values share their mean rank."""
    values = np.asarray(values, dtype=np.float64)
    unique, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)  # rank of the last member of each group of ties
    mean_rank = ends - (counts - 1) / 2.0
    return mean_rank[inverse.reshape(-1)]


def _checked(positive: np.ndarray, negative: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    positive = np.asarray(positive, dtype=np.float64).reshape(-1)
    negative = np.asarray(negative, dtype=np.float64).reshape(-1)
    if positive.size == 0 or negative.size == 0:
        raise ValueError("need at least one positive and one negative score")
    if np.isnan(positive).any() or np.isnan(negative).any():
        raise ValueError("scores hold NaN")
    return positive, negative


def auroc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Area under the ROC curve: P(positive > negative) + P(tie) / 2 (Mann-Whitney U).

    1.0: every positive scores above every negative; 0.5: no separation (or all tied).
    """
    positive, negative = _checked(positive, negative)
    ranks = average_ranks(np.concatenate([positive, negative]))
    n_pos, n_neg = positive.size, negative.size
    u = ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def threshold_at_tpr(positive: np.ndarray, tpr: float) -> float:
    """The highest threshold that flags at least ``tpr`` of the positives."""
    positive = np.sort(np.asarray(positive, dtype=np.float64))[::-1]
    needed = max(1, math.ceil(tpr * positive.size - 1e-9))
    return float(positive[needed - 1])


def fpr_at_tpr(positive: np.ndarray, negative: np.ndarray, tpr: float = 0.95) -> dict[str, float]:
    """False-positive rate at the threshold that first flags ``tpr`` of the positives.

    With ties at the threshold the true-positive rate reached can exceed ``tpr``; it is
    returned as ``tpr`` beside the ``fpr`` and the ``threshold``.
    """
    positive, negative = _checked(positive, negative)
    threshold = threshold_at_tpr(positive, tpr)
    return {
        "threshold": threshold,
        "tpr": float((positive >= threshold).mean()),
        "fpr": float((negative >= threshold).mean()),
    }


def threshold_at_fpr(negative: np.ndarray, fpr: float) -> float:
    """The lowest threshold that flags at most ``fpr`` of the negatives (real images): scores
    strictly above the negatives' (1 - fpr) quantile's value are flagged."""
    negative = np.sort(np.asarray(negative, dtype=np.float64))[::-1]
    allowed = math.floor(fpr * negative.size + 1e-9)  # negatives that may be flagged
    if allowed >= negative.size:
        return float(-np.inf)
    # Flag what scores above the (allowed+1)-th highest negative; ties with it are passed.
    return float(np.nextafter(negative[allowed], np.inf))


def roc_curve(positive: np.ndarray, negative: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fpr, tpr) at every distinct threshold, from (0, 0) to (1, 1); tied scores make one
    diagonal step, as the tie-aware AUROC counts them."""
    positive, negative = _checked(positive, negative)
    thresholds = np.unique(np.concatenate([positive, negative]))[::-1]
    pos_sorted, neg_sorted = np.sort(positive), np.sort(negative)
    tpr = 1.0 - np.searchsorted(pos_sorted, thresholds, side="left") / positive.size
    fpr = 1.0 - np.searchsorted(neg_sorted, thresholds, side="left") / negative.size
    return np.concatenate([[0.0], fpr]), np.concatenate([[0.0], tpr])
