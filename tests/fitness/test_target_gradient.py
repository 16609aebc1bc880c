"""The target's differentiable forward: the probabilities of the inference forward, a gradient
with respect to the pixels, checked and counted the same way."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tolerances import ACROSS_BATCHES

from fitness.builtin import LENET_SPEC, MNIST_CLASS_NAMES
from fitness.target import Target, TargetError


@pytest.mark.parametrize(("size", "crops"), [(None, "resize"), ((32, 32), "ten")])
def test_log_probabilities_match_probabilities_and_have_a_gradient(lenet_target, size, crops):
    target = Target(lenet_target.model, LENET_SPEC, MNIST_CLASS_NAMES, image_size=size, crops=crops)
    images = torch.rand((3, *target.image_shape), generator=torch.Generator().manual_seed(0))
    expected = target.probabilities(images.numpy())
    x = images.clone().requires_grad_(True)
    log_p = target.differentiable_log_probabilities(x)
    np.testing.assert_allclose(log_p.detach().exp().numpy(), expected, **ACROSS_BATCHES)
    assert target.queries == 6
    (gradient,) = torch.autograd.grad(log_p[:, 3].sum(), x)
    assert gradient.shape == x.shape and gradient.abs().sum() > 0
    with pytest.raises(TargetError, match="target expects"):
        target.differentiable_log_probabilities(torch.zeros(2, 1, 5, 5))
