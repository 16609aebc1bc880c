"""The tie-aware AUROC, FPR at a TPR and the ROC curve, on cases whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fooling.studies.roc import (
    auroc,
    average_ranks,
    fpr_at_tpr,
    roc_curve,
    threshold_at_fpr,
)


def brute_force_auroc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(pos > neg) + P(pos == neg) / 2 over all pairs: the definition, for comparison."""
    diff = positive[:, None] - negative[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


def test_average_ranks_share_ties():
    np.testing.assert_array_equal(average_ranks(np.array([3.0, 1.0, 3.0, 2.0])), [3.5, 1, 3.5, 2])


def test_perfect_reversed_and_fully_tied_separation():
    assert auroc(np.array([5.0, 6.0, 7.0]), np.array([1.0, 2.0])) == 1.0
    assert auroc(np.array([1.0, 2.0]), np.array([5.0, 6.0, 7.0])) == 0.0
    assert auroc(np.full(4, 0.3), np.full(7, 0.3)) == 0.5


def test_hand_computed_case_with_ties():
    # Pairs: 3 beats all three negatives (3); each 2 ties one and beats two (2.5, twice);
    # 1 beats one and ties one (1.5): 9.5 of 12.
    positive, negative = np.array([3.0, 2.0, 2.0, 1.0]), np.array([2.0, 0.0, 1.0])
    assert auroc(positive, negative) == pytest.approx(9.5 / 12, abs=1e-15)
    fpr, tpr = roc_curve(positive, negative)
    assert np.trapezoid(tpr, fpr) == pytest.approx(9.5 / 12, abs=1e-15)


def test_matches_the_pairwise_definition_on_heavily_tied_random_scores():
    rng = np.random.default_rng(5)
    positive = np.round(rng.normal(0.7, 1.0, 300), 1)  # rounding makes many ties
    negative = np.round(rng.normal(0.0, 1.0, 500), 1)
    expected = brute_force_auroc(positive, negative)
    assert auroc(positive, negative) == pytest.approx(expected, abs=1e-12)
    fpr, tpr = roc_curve(positive, negative)
    assert np.trapezoid(tpr, fpr) == pytest.approx(expected, abs=1e-12)


def test_two_gaussians_of_known_separation():
    # For N(d, 1) against N(0, 1), AUROC = Phi(d / sqrt(2)); d = 1: 0.7602.
    rng = np.random.default_rng(0)
    positive, negative = rng.normal(1.0, 1.0, 20_000), rng.normal(0.0, 1.0, 20_000)
    expected = 0.5 * (1 + math.erf(1.0 / 2.0))  # Phi(1/sqrt(2)) = (1 + erf(1/2)) / 2
    assert auroc(positive, negative) == pytest.approx(expected, abs=0.01)
    # FPR at 95% TPR: the threshold is N(1,1)'s 5th percentile, 1 - 1.645 = -0.645, and
    # N(0,1) lies above it with probability Phi(0.645) = 0.7405.
    result = fpr_at_tpr(positive, negative, 0.95)
    assert result["tpr"] == pytest.approx(0.95, abs=1e-3)
    assert result["fpr"] == pytest.approx(0.7405, abs=0.01)


def test_fpr_at_tpr_reports_the_tpr_that_ties_force():
    result = fpr_at_tpr(np.array([1.0, 1.0, 1.0, 0.0]), np.array([0.5, 1.0]), 0.5)
    assert result == {"threshold": 1.0, "tpr": 0.75, "fpr": 0.5}


def test_threshold_at_fpr_flags_at_most_that_share_of_real_images():
    negative = np.arange(100, dtype=np.float64)
    threshold = threshold_at_fpr(negative, 0.05)
    assert (negative >= threshold).sum() == 5
    tied = np.zeros(100)
    assert (tied >= threshold_at_fpr(tied, 0.05)).sum() == 0  # a tie cannot be split


def test_empty_or_nan_scores_are_refused():
    with pytest.raises(ValueError):
        auroc(np.array([]), np.array([1.0]))
    with pytest.raises(ValueError):
        auroc(np.array([np.nan]), np.array([1.0]))
