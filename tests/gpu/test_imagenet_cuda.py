"""ImageNet targets on a CUDA GPU (skips without one): device tensors score like the CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
pytest.importorskip("efficientnet_lite_pytorch")
pytest.importorskip("skimage")

from fitness.imagenet import photographs as photos  # noqa: E402
from fitness.loading import TargetOptions, load_target  # noqa: E402
from fitness.target import Target  # noqa: E402


@pytest.fixture(scope="module")
def lite0() -> Target:
    return load_target(TargetOptions(target="imagenet-efficientnet-lite0", device="cpu"))


def test_cuda_scores_device_tensors_like_the_cpu(lite0):
    images = photos(256)
    cpu = Target(lite0.model, lite0.spec, lite0.class_names, image_size=(256, 256), crops="ten")
    expected = cpu.probabilities(images)
    for precision, tolerance in (("fp32", 1e-3), ("bf16", 0.05), ("fp16", 0.05)):
        gpu = Target(
            lite0.model, lite0.spec, lite0.class_names, device="cuda", image_size=(256, 256),
            crops="ten", precision=precision, channels_last=True, max_batch=7,
        )  # fmt: skip
        got = gpu.probabilities(torch.from_numpy(images).cuda())
        assert np.abs(got - expected).max() < tolerance
    lite0.model.to("cpu", memory_format=torch.contiguous_format)
