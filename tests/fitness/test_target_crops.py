"""Target image size apart from the model's input: resize, centre crop, ten crops, chunking."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from tolerances import ACROSS_BATCHES

from fitness.loading import TargetOptions, load_target
from fitness.target import InputSpec, Target, TargetError

SPEC = InputSpec(channels=3, height=4, width=5, scale=2.0, mean=(0.5,), std=(0.25,))


def small_model() -> torch.nn.Module:
    """A fixed linear classifier over 3x4x5 inputs: every pixel's position matters."""
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 5, 7)).eval()


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    return small_model()


def target(model: torch.nn.Module, **kwargs) -> Target:
    return Target(model, SPEC, [f"c{i}" for i in range(7)], **kwargs)


def images(n: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 3, height, width), dtype=np.float32)


def test_default_image_size_is_the_model_input(model):
    t = target(model)
    assert t.image_size == (4, 5) and t.image_shape == SPEC.shape and t.views == 1
    x = torch.from_numpy(images(2, 4, 5))
    assert t.model_views(x) is x


def test_center_crop_is_the_middle(model):
    t = target(model, image_size=(8, 9), crops="center")
    x = torch.from_numpy(images(3, 8, 9))
    assert torch.equal(t.model_views(x), x[..., 2:6, 2:7])
    expected = target(model).probabilities(x[..., 2:6, 2:7].numpy())
    np.testing.assert_allclose(t.probabilities(x), expected, **ACROSS_BATCHES)


def test_ten_crops_are_corners_centre_and_mirrors_with_softmax_averaged(model):
    t = target(model, image_size=(6, 8), crops="ten")
    assert t.views == 10
    x = torch.from_numpy(images(2, 6, 8))
    views = t.model_views(x).view(10, 2, 3, 4, 5)
    boxes = [(0, 0), (0, 3), (2, 0), (2, 3), (1, 1)]
    plain = [x[..., y : y + 4, c : c + 5] for y, c in boxes]
    for i, crop in enumerate([*plain, *(p.flip(-1) for p in plain)]):
        assert torch.equal(views[i], crop)
    small = target(model)
    per_crop = np.stack([small.probabilities(views[i].numpy()) for i in range(10)])
    # one batch of 20 views against ten batches of 2: float32 differs in the last bits
    np.testing.assert_allclose(t.probabilities(x), per_crop.mean(axis=0), **ACROSS_BATCHES)
    logits = np.stack([small.logits(views[i]).numpy() for i in range(10)]).mean(axis=0)
    assert np.allclose(t.logits(x).numpy(), logits, atol=1e-5)


def test_resize_is_bilinear_to_the_input_size(model):
    t = target(model, image_size=(8, 10), crops="resize")
    x = torch.ones(2, 3, 8, 10) * torch.tensor([0.1, 0.5, 0.9]).view(1, 3, 1, 1)
    views = t.model_views(x)
    assert views.shape == (2, 3, 4, 5)
    assert torch.allclose(views, x[..., :4, :5])  # a flat image stays flat
    smaller = target(model, image_size=(2, 3), crops="resize")  # upsampling works too
    assert smaller.probabilities(images(2, 2, 3)).shape == (2, 7)


def test_chunks_of_max_batch_model_inputs_give_the_same_scores(model):
    x = images(13, 6, 8, seed=1)
    whole = target(model, image_size=(6, 8), crops="ten").probabilities(x)
    for max_batch in (1, 7, 10, 25):
        t = target(model, image_size=(6, 8), crops="ten", max_batch=max_batch)
        np.testing.assert_allclose(t.probabilities(x), whole, **ACROSS_BATCHES)
        assert t.queries == 13


def test_torch_and_dlpack_inputs(model):
    t = target(model, image_size=(6, 8), crops="center")
    x = images(4, 6, 8)

    class Wrapped:  # any array library's object that speaks DLPack
        def __init__(self, array: np.ndarray) -> None:
            self.array = array

        def __dlpack__(self, **kwargs):
            return self.array.__dlpack__(**kwargs)

        def __dlpack_device__(self):
            return self.array.__dlpack_device__()

    expected = t.probabilities(x)
    assert np.array_equal(t.probabilities(torch.from_numpy(x)), expected)
    assert np.array_equal(t.probabilities(Wrapped(x)), expected)


def test_shape_and_option_errors(model):
    t = target(model, image_size=(6, 8), crops="ten")
    with pytest.raises(TargetError, match=r"target expects \[N, 3, 6, 8\]"):
        t.probabilities(images(2, 4, 5))
    with pytest.raises(TargetError, match="need images at least that large"):
        target(model, image_size=(3, 8), crops="center")
    with pytest.raises(TargetError, match="crops must be one of"):
        target(model, crops="five")
    with pytest.raises(TargetError, match="precision must be one of"):
        target(model, precision="int8")


def test_bf16_and_channels_last_on_a_convolutional_model():
    torch.manual_seed(1)
    conv = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(8, 7),
    ).eval()
    x = images(5, 8, 10)
    fp32 = Target(conv, SPEC, list("abcdefg"), image_size=(8, 10)).probabilities(x)
    for precision, channels_last, tolerance in (("fp32", True, 1e-6), ("bf16", True, 0.02)):
        t = Target(
            conv, SPEC, list("abcdefg"), image_size=(8, 10), precision=precision,
            channels_last=channels_last,
        )  # fmt: skip
        assert np.abs(t.probabilities(x) - fp32).max() < tolerance


def test_target_options_round_trip_the_new_fields():
    options = TargetOptions(image_size=(32, 30), crops="center", precision="bf16")
    data = options.to_dict()
    assert data["image_size"] == (32, 30) and data["channels_last"] is False
    again = TargetOptions.from_dict(json.loads(json.dumps(data)))
    assert again == TargetOptions(**{**data, "image_size": (32, 30)})
    old = {k: v for k, v in data.items() if k not in ("image_size", "crops", "precision")}
    assert TargetOptions.from_dict(old).crops == "resize"  # configs written before these fields


def test_load_target_builds_the_image_size(lenet_target):
    t = load_target(TargetOptions(device="cpu", image_size=(32, 32), crops="ten"), progress=False)
    assert t.image_shape == (1, 32, 32) and t.fingerprint == lenet_target.fingerprint
