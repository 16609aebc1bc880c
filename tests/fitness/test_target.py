"""Scoring: batched softmax, chunking, query counting and the guards on model outputs."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from tolerances import ACROSS_BATCHES

from fitness import InputSpec, Target, TargetError
from fitness.digits import bundled_digits
from fitness.lenet import LeNet


def test_the_trained_lenet_reads_real_digits(lenet_target: Target) -> None:
    data = bundled_digits()
    images = data.test_images[:, None].astype(np.float32) / 255.0
    probabilities = lenet_target.probabilities(images)
    assert probabilities.shape == (1000, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-9)
    assert (probabilities.argmax(axis=1) == data.test_labels).mean() > 0.9


def test_chunked_scoring_equals_one_pass_and_counts_queries(lenet_target: Target) -> None:
    images = np.random.default_rng(0).random((37, 1, 28, 28), dtype=np.float32)
    chunked = Target(lenet_target.model, lenet_target.spec, lenet_target.class_names, max_batch=8)
    whole = chunked.probabilities(images)
    assert chunked.queries == 37
    single = np.concatenate([chunked.probabilities(images[i : i + 1]) for i in range(37)])
    np.testing.assert_allclose(whole, single, **ACROSS_BATCHES)
    assert chunked.queries == 74
    tensor_input = chunked.probabilities(torch.from_numpy(images))
    np.testing.assert_allclose(tensor_input, whole, **ACROSS_BATCHES)


def test_input_normalisation_is_applied() -> None:
    spec = InputSpec(1, 2, 2, scale=255.0, mean=(127.5,), std=(127.5,))
    out = spec.prepare(torch.tensor([[[[0.0, 1.0], [0.5, 1.0]]]]))
    np.testing.assert_allclose(out.flatten().numpy(), [-1.0, 1.0, 0.0, 1.0])
    with pytest.raises(TargetError, match="mean needs"):
        InputSpec(3, 2, 2, mean=(0.1, 0.2))


def test_nan_from_the_model_is_an_error_naming_it() -> None:
    model = LeNet()
    with torch.no_grad():
        model.fc2.bias.fill_(float("nan"))
    target = Target(model, InputSpec(1, 28, 28), [str(i) for i in range(10)])
    with pytest.raises(TargetError, match="NaN or inf for 3 of 3 images"):
        target.probabilities(np.zeros((3, 1, 28, 28), dtype=np.float32))


def test_output_size_and_input_shape_are_checked() -> None:
    target = Target(LeNet(), InputSpec(1, 28, 28), ["a", "b"])
    with pytest.raises(TargetError, match=r"expected \[N, 2\]"):
        target.probabilities(np.zeros((1, 1, 28, 28), dtype=np.float32))
    target = Target(LeNet(), InputSpec(1, 28, 28), [str(i) for i in range(10)])
    with pytest.raises(TargetError, match="target expects"):
        target.probabilities(np.zeros((1, 1, 32, 32), dtype=np.float32))


def test_probabilities_keep_order_above_float32_resolution() -> None:
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    with torch.no_grad():
        model[1].weight.zero_()
        model[1].bias.copy_(torch.tensor([0.0, -18.0]))
    target = Target(model, InputSpec(1, 2, 2), ["a", "b"])
    low = target.probabilities(np.zeros((1, 1, 2, 2), dtype=np.float32))[0, 0]
    with torch.no_grad():
        model[1].bias.copy_(torch.tensor([0.0, -19.0]))
    high = target.probabilities(np.zeros((1, 1, 2, 2), dtype=np.float32))[0, 0]
    assert low < high < 1.0  # both round to 1.0 in float32


def test_probabilities_are_the_float64_softmax_of_the_logits(lenet_target: Target) -> None:
    # One view, one chunk (the loop's case: no mean over views, no concatenation) and several
    # chunks give the float64 softmax of the model's own float32 logits, computed here in the
    # same process by hand.
    images = np.random.default_rng(1).random((9, 1, 28, 28), dtype=np.float32)
    with torch.inference_mode():
        logits = lenet_target.model(torch.from_numpy(images))
    expected = logits.double().softmax(dim=1).numpy()
    # The CPU target's host pass (fitness.host_scores) uses libm's exp where torch uses its
    # vectorised one: a few units in the last place of float64, never more.
    np.testing.assert_allclose(lenet_target.probabilities(images), expected, rtol=1e-14, atol=0)
    chunked = Target(lenet_target.model, lenet_target.spec, lenet_target.class_names, max_batch=4)
    np.testing.assert_allclose(chunked.probabilities(images), expected, **ACROSS_BATCHES)


def test_channels_last_lenet_scores_like_the_default_layout(lenet_target: Target) -> None:
    # The docs recommend --channels-last on the CPU for speed: other kernels, the same
    # probabilities up to float32 rounding.
    images = np.random.default_rng(2).random((16, 1, 28, 28), dtype=np.float32)
    model = copy.deepcopy(lenet_target.model)  # .to(channels_last) converts a model in place
    fast = Target(model, lenet_target.spec, lenet_target.class_names, channels_last=True)
    np.testing.assert_allclose(
        fast.probabilities(images), lenet_target.probabilities(images), **ACROSS_BATCHES
    )


def test_an_empty_batch_scores_to_empty_arrays(lenet_target: Target) -> None:
    # e.g. transferring a run that holds no elite: no forward pass, no error.
    empty = np.zeros((0, 1, 28, 28), dtype=np.float32)
    scores = lenet_target.scores(empty)
    assert scores.probabilities.shape == scores.log_odds.shape == (0, 10)
    assert lenet_target.probabilities(empty).shape == (0, 10)
    assert tuple(lenet_target.logits(empty).shape) == (0, 10)
