"""Log-odds: finite and ordered where float64 probabilities round to exactly 0 or 1."""

from __future__ import annotations

import numpy as np
import torch

from fitness.scores import Scores, log_odds_from_log_probabilities, mean_log_odds


def log_odds_of_logits(logits: list[list[float]]) -> np.ndarray:
    log_p = torch.tensor(logits, dtype=torch.float64).log_softmax(dim=1)
    return log_odds_from_log_probabilities(log_p).numpy()


def test_log_odds_stay_finite_and_ordered_at_both_ends() -> None:
    # Class 1 leads by 50 and 60 (probability exactly 1.0 in float64 for both rows); class 2
    # trails by 850 and 1250 (exactly 0.0 for both).
    logits = [[0.0, 50.0, -800.0], [0.0, 60.0, -1190.0]]
    p = torch.tensor(logits, dtype=torch.float64).softmax(dim=1).numpy()
    assert (p[:, 1] == 1.0).all() and (p[:, 2] == 0.0).all()  # the ties the log-odds break
    z = log_odds_of_logits(logits)
    # log p - log(1 - p): the top class by its lead over the rest, the others by their trail.
    np.testing.assert_allclose(z[0], [-50.0, 50.0, -850.0], rtol=1e-12)
    np.testing.assert_allclose(z[1], [-60.0, 60.0, -1250.0], rtol=1e-12)


def test_log_odds_agree_with_probabilities_where_those_do_not_saturate() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(0.0, 3.0, size=(50, 10))
    log_p = torch.tensor(logits).log_softmax(dim=1)
    p = log_p.exp().numpy()
    z = log_odds_from_log_probabilities(log_p).numpy()
    # Same float64 values two ways: they differ by rounding only (p is at most 1 - 1e-9 here).
    assert p.max() < 1 - 1e-9
    np.testing.assert_allclose(z, np.log(p) - np.log1p(-p), rtol=1e-9, atol=1e-9)


def test_mean_log_odds_is_the_log_odds_of_the_mean_probability() -> None:
    rng = np.random.default_rng(1)
    z = rng.normal(0.0, 4.0, size=(7, 5, 3))  # 7 views of 5 images, 3 classes
    p = 1 / (1 + np.exp(-z))
    mean = p.mean(axis=0)
    np.testing.assert_allclose(mean_log_odds(z), np.log(mean) - np.log1p(-mean), rtol=1e-9)
    # Views that all round to probability 0: the mean is dominated by the least bad view.
    saturated = np.array([[[-900.0]], [[-1200.0]]])
    np.testing.assert_allclose(mean_log_odds(saturated), [[-900.0 - np.log(2.0)]], rtol=1e-12)


def test_scores_concatenate_and_split_into_views() -> None:
    a = Scores(np.zeros((2, 3)), np.full((2, 3), -1.0))
    b = Scores(np.ones((4, 3)), np.full((4, 3), 2.0))
    both = Scores.concatenate([a, b])
    assert len(both) == 6 and both.log_odds[2:].tolist() == [[2.0] * 3] * 4
    assert Scores.concatenate([a]) is a and len(Scores.concatenate([])) == 0
    views = both.reshape_views(2)
    assert views.probabilities.shape == views.log_odds.shape == (2, 3, 3)


def test_a_saturated_real_network_ties_probabilities_but_not_log_odds(
    lenet_target, saturated_lenet_target
) -> None:
    images = np.random.default_rng(2).random((64, 1, 28, 28), dtype=np.float32)
    scores = saturated_lenet_target.scores(images)
    # The same values as probabilities(), from one forward pass (same call shape).
    np.testing.assert_array_equal(
        scores.probabilities, saturated_lenet_target.probabilities(images)
    )
    zero = scores.probabilities == 0.0
    one = scores.probabilities == 1.0
    assert zero.mean() > 0.3 and one.any()  # most scores tie at 0, some at 1
    assert np.isfinite(scores.log_odds).all()
    # Among the ties at 0, the log-odds tell the images apart: ~100 x the standard LeNet's
    # logit gaps (the scaled layer computes in float32, so not exactly 100 x).
    assert len(np.unique(scores.log_odds[zero])) == zero.sum()
    logits = lenet_target.logits(images).double() * 100
    expected = log_odds_from_log_probabilities(logits.log_softmax(dim=1)).numpy()
    np.testing.assert_allclose(scores.log_odds, expected, rtol=1e-4, atol=1e-2)
    assert (scores.log_odds[one] > 36).all() and (scores.log_odds[zero] < -700).all()
