"""The direct encoding on a CUDA GPU (skips without one): the population stays on the device."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from evolve.encodings import DirectEncoding

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def test_on_a_gpu_the_population_never_leaves_it() -> None:
    encoding = DirectEncoding(device="cuda")
    parents = encoding.random(64, np.random.default_rng(0))
    children = encoding.vary(parents, np.random.default_rng(1), 1)
    images = encoding.express(children)
    assert children.is_cuda and images.is_cuda
    host = DirectEncoding()
    np.testing.assert_array_equal(images.cpu().numpy(), host.express(children.cpu().numpy()))
    assert abs(float((children != parents).float().mean()) - 0.1) < 0.01
