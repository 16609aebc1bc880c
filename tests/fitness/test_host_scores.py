"""The CPU targets' one-pass scoring against the torch operations the GPU path runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fitness.errors import TargetError
from fitness.host_scores import host_scores
from fitness.scores import log_odds_from_log_probabilities
from fitness.target import InputSpec, Target

# libm's exp and log against torch's vectorised ones, and a plain sum of the other classes'
# probabilities where torch takes a logsumexp: a few float64 ulps apart. Log-odds near 0 (p near
# 0.5) are differences of two nearly equal numbers, so they get an absolute bound; the largest
# log-odds here are about 1e3, whose ulp is 1e-13.
RTOL, ATOL = 1e-13, 1e-12


def torch_scores(out: np.ndarray, from_logits: bool) -> tuple[np.ndarray, np.ndarray]:
    """What the accelerator path (fitness.target.Target) computes, on the CPU."""
    t = torch.from_numpy(out).double()
    views = out.shape[0]
    if from_logits:
        p, log_p = t.softmax(dim=2).mean(dim=0), t.log_softmax(dim=2)
    else:
        p, log_p = t.mean(dim=0), t.clamp_min(torch.finfo(torch.float64).tiny).log()
    log_p = torch.logsumexp(log_p, dim=0) - np.log(views)
    return p.numpy(), log_odds_from_log_probabilities(log_p).numpy()


@pytest.mark.parametrize(
    ("views", "rows", "classes", "scale"),
    [
        (1, 200, 10, 5.0),  # the MNIST loop's case
        (10, 7, 1000, 3.0),  # ten crops of ImageNet
        (3, 50, 10, 300.0),  # saturated: probabilities exactly 0 and 1
        (2, 20, 2, 40.0),
        (1, 5, 1, 1.0),  # one class: log-odds +inf
    ],
)
def test_host_scores_agree_with_the_torch_path(views, rows, classes, scale) -> None:
    rng = np.random.default_rng(views * 1000 + classes)
    logits = (rng.standard_normal((views, rows, classes)) * scale).astype(np.float32)
    softmaxed = torch.from_numpy(logits).softmax(dim=2).numpy()
    for out, from_logits in ((logits, True), (softmaxed, False)):
        probabilities, log_odds = host_scores(out, from_logits)
        expected_p, expected_z = torch_scores(out, from_logits)
        np.testing.assert_allclose(probabilities, expected_p, rtol=RTOL, atol=0)
        np.testing.assert_array_equal(np.isinf(log_odds), np.isinf(expected_z))
        finite = np.isfinite(expected_z)
        np.testing.assert_allclose(log_odds[finite], expected_z[finite], rtol=RTOL, atol=ATOL)


def test_saturated_rows_keep_finite_ordered_log_odds() -> None:
    # Both rows give class 1 probability exactly 1.0 and class 2 exactly 0.0 in float64; the
    # log-odds still tell them apart (the top class by its lead, the others by their trail).
    logits = np.array([[[0.0, 50.0, -800.0], [0.0, 60.0, -1190.0]]], dtype=np.float32)
    probabilities, log_odds = host_scores(logits, True)
    assert (probabilities[:, 1] == 1.0).all() and (probabilities[:, 2] == 0.0).all()
    np.testing.assert_allclose(log_odds[0], [-50.0, 50.0, -850.0], rtol=1e-12)
    np.testing.assert_allclose(log_odds[1], [-60.0, 60.0, -1250.0], rtol=1e-12)


def test_each_row_is_scored_alone() -> None:
    # A row's scores are the same bits whatever batch it came in (same process, same code).
    logits = np.random.default_rng(3).standard_normal((2, 30, 10)).astype(np.float32)
    whole = host_scores(logits, True)
    part = host_scores(logits[:, 11:17], True)
    for a, b in zip(whole, part, strict=True):
        np.testing.assert_array_equal(a[11:17], b)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_outputs_are_reported(bad) -> None:
    logits = np.zeros((1, 4, 3), dtype=np.float32)
    logits[0, 2, 1] = bad
    assert host_scores(logits, True) is None
    assert host_scores(logits, False) is None


def test_a_cpu_target_names_the_images_with_non_finite_outputs() -> None:
    class HalfNan(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = x.flatten(1)[:, :3].clone()
            out[::2] = float("nan")
            return out

    target = Target(HalfNan(), InputSpec(1, 2, 2), ["a", "b", "c"])
    with pytest.raises(TargetError, match="NaN or inf for 3 of 6 images"):
        target.scores(np.zeros((6, 1, 2, 2), dtype=np.float32))
