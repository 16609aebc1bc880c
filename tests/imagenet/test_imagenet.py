"""The built-in ImageNet targets: real EfficientNet-Lite weights, real photographs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("efficientnet_lite_pytorch")
pytest.importorskip("skimage")

from fitness.imagenet import IMAGENET_TARGETS, imagenet_class_names  # noqa: E402
from fitness.imagenet import photographs as photos  # noqa: E402
from fitness.loading import BUILTIN_TARGETS, TargetOptions, load_target  # noqa: E402
from fitness.target import Target, TargetError  # noqa: E402

EGYPTIAN_CAT, ESPRESSO, CUP = 285, 967, 968
CATS = {281, 282, 283, 284, 285}  # tabby, tiger cat, Persian, Siamese, Egyptian cat


@pytest.fixture(scope="module")
def lite0() -> Target:
    return load_target(TargetOptions(target="imagenet-efficientnet-lite0", device="cpu"))


def test_class_names_ship_with_the_package():
    names = imagenet_class_names()
    assert len(names) == 1000 and len(set(names)) == 1000
    assert not any("," in name or name != name.strip() or not name for name in names)
    assert names[145] == "king penguin" and names[327] == "starfish"
    assert names[EGYPTIAN_CAT] == "Egyptian cat" and names[ESPRESSO] == "espresso"
    assert imagenet_class_names(1001)[-1] == "fooling"
    with pytest.raises(TargetError, match="1000 or 1001"):
        imagenet_class_names(10)


def test_builtin_names_and_input_sizes(lite0):
    assert set(IMAGENET_TARGETS) <= set(BUILTIN_TARGETS)
    sizes = {name: lite.size for name, lite in IMAGENET_TARGETS.items()}
    assert sizes == {
        "imagenet-efficientnet-lite0": 224,
        "imagenet-efficientnet-lite1": 240,
        "imagenet-efficientnet-lite2": 260,
    }
    assert lite0.spec.shape == lite0.image_shape == (3, 224, 224)
    assert lite0.class_names == imagenet_class_names()
    # (pixel - 127) / 128 with pixels 0..255, as the TensorFlow EfficientNet-Lite models expect
    x = lite0.spec.prepare(torch.tensor([0.0, 127 / 255, 1.0]).view(1, 3, 1, 1))
    assert torch.allclose(x.flatten(), torch.tensor([-127 / 128, 0.0, 1.0]), atol=1e-6)


def test_lite0_recognises_the_photographs(lite0):
    probabilities = lite0.probabilities(photos(224))
    assert probabilities.shape == (2, 1000)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    top = probabilities.argmax(axis=1)
    assert top[0] == EGYPTIAN_CAT
    assert top[1] in (ESPRESSO, CUP)
    assert probabilities[1, ESPRESSO] > 0.5


@pytest.mark.parametrize("name", ["imagenet-efficientnet-lite1", "imagenet-efficientnet-lite2"])
def test_larger_models_recognise_the_photographs(name):
    target = load_target(TargetOptions(target=name, device="cpu"))
    size = IMAGENET_TARGETS[name].size
    assert target.image_shape == (3, size, size)
    top = target.probabilities(photos(size)).argmax(axis=1)
    assert top[0] in CATS and top[1] in (ESPRESSO, CUP)


def test_ten_crops_of_larger_images(lite0):
    target = Target(lite0.model, lite0.spec, lite0.class_names, image_size=(256, 256), crops="ten")
    assert target.image_shape == (3, 256, 256) and target.views == 10
    top = target.probabilities(photos(256)).argmax(axis=1)
    assert top[0] in CATS and top[1] in (ESPRESSO, CUP)
    assert target.queries == 2  # images, not crops


def test_bf16_and_channels_last_stay_close_to_fp32(lite0):
    images = photos(224)
    reference = lite0.probabilities(images)
    for precision, channels_last, tolerance in (("fp32", True, 1e-4), ("bf16", False, 0.05)):
        target = Target(
            lite0.model, lite0.spec, lite0.class_names, precision=precision,
            channels_last=channels_last,
        )  # fmt: skip
        assert target.fingerprint == lite0.fingerprint
        probabilities = target.probabilities(images)
        assert np.abs(probabilities - reference).max() < tolerance
        assert (probabilities.argmax(axis=1) == reference.argmax(axis=1)).all()
    lite0.model.to(memory_format=torch.contiguous_format)


def test_own_weights_with_a_fooling_class(lite0, tmp_path):
    state = {k: v.clone() for k, v in lite0.model.state_dict().items()}
    state["_fc.weight"] = torch.cat([state["_fc.weight"], torch.zeros(1, 1280)])
    state["_fc.bias"] = torch.cat([state["_fc.bias"], torch.full((1,), -100.0)])
    path = tmp_path / "lite0-1001.pt"
    torch.save(state, path)
    target = load_target(
        TargetOptions(target="imagenet-efficientnet-lite0", weights=str(path), device="cpu")
    )
    assert target.num_classes == 1001 and target.class_names[-1] == "fooling"
    probabilities = target.probabilities(photos(224))
    assert probabilities.argmax(axis=1)[0] == EGYPTIAN_CAT and probabilities[:, -1].max() < 1e-20

    bad = tmp_path / "bad.pt"
    torch.save({"_fc.weight": torch.zeros(1000, 7)}, bad)
    with pytest.raises(TargetError, match="cannot load weights"):
        load_target(TargetOptions(target="imagenet-efficientnet-lite0", weights=str(bad)))
