"""Targets that lie are caught at load and at any later batch (fitness.output_checks)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from model_factories import drops_a_row_later, nan_later, sigmoid_probabilities

from fitness.loading import TargetOptions, load_target
from fitness.output_checks import PROBABILITY_SUM_TOLERANCE, check_outputs
from fitness.target import InputSpec, Target, TargetError

SPEC = InputSpec(1, 28, 28)
IMAGES = np.random.default_rng(0).random((5, 1, 28, 28), dtype=np.float32)


def target_of(model: torch.nn.Module, outputs: str = "logits") -> Target:
    return Target(model, SPEC, [str(i) for i in range(10)], outputs=outputs, max_batch=2)


def factory_options(name: str, **extra) -> TargetOptions:
    return TargetOptions(
        target=f"model_factories:{name}",
        input_shape=(1, 28, 28),
        device="cpu",
        random_weights=True,
        **extra,
    )


@pytest.mark.parametrize(
    ("factory", "message"),
    [(drops_a_row_later, r"shape \(1, 10\) for a batch of 2"), (nan_later, "NaN or inf")],
)
def test_a_model_that_goes_bad_after_the_first_checks_is_caught(factory, message) -> None:
    target = target_of(factory())
    target.probabilities(IMAGES[:4])  # two chunks of 2: the two sound forward passes
    with pytest.raises(TargetError, match=message):
        for _ in range(3):
            target.probabilities(IMAGES)


def test_probability_outputs_that_are_not_distributions_are_refused_at_load() -> None:
    with pytest.raises(TargetError, match="sums to .*, not 1"):
        load_target(factory_options("sigmoid_probabilities", outputs="probabilities"))
    with pytest.raises(TargetError, match=r"outside \[0, 1\]"):
        load_target(factory_options("lenet", outputs="probabilities"))  # logits
    target = load_target(factory_options("softmax_probabilities", outputs="probabilities"))
    np.testing.assert_allclose(target.probabilities(IMAGES).sum(axis=1), 1.0, atol=1e-6)


def test_probability_check_runs_on_every_batch() -> None:
    target = target_of(sigmoid_probabilities(), outputs="probabilities")
    with pytest.raises(TargetError, match="sums to"):
        target.probabilities(IMAGES)
    assert target.queries == 0  # a refused batch is not counted as answered


def test_sum_tolerance_is_the_stated_one() -> None:
    rows = torch.full((1, 3, 4), 0.25)
    check_outputs([rows], "probabilities")
    check_outputs([rows * (1 + 0.9 * PROBABILITY_SUM_TOLERANCE["fp32"])], "probabilities")
    with pytest.raises(TargetError, match="sums to"):
        check_outputs([rows * (1 + 2 * PROBABILITY_SUM_TOLERANCE["fp32"])], "probabilities")
    check_outputs([rows * 7.0], "logits")  # logits may be anything finite
    check_outputs([rows * (1 + 0.9 * PROBABILITY_SUM_TOLERANCE["bf16"])], "probabilities", "bf16")


def test_non_finite_outputs_are_counted_by_image_over_every_part() -> None:
    # The finite check's fast path (one reduction a part) must still name how many images went
    # bad, over all chunks and views: one image with two NaN classes, one with an inf in one
    # view only, sound images in between.
    first = torch.zeros((2, 3, 4))
    first[0, 1, :2] = float("nan")
    second = torch.zeros((2, 2, 4))
    second[1, 0, 3] = float("inf")
    with pytest.raises(TargetError, match="NaN or inf for 2 of 5 images"):
        check_outputs([first, second], "logits")
    check_outputs([torch.zeros((2, 3, 4)), torch.zeros((2, 2, 4))], "logits")  # all finite
