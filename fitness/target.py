"""A target classifier: a PyTorch model with its input spec, class names and device.

Images handed to a target are float32 ``[N, C, H, W]`` in [0, 1] (NumPy or a torch tensor); the
target maps them to the model's input range, scores the whole batch in as few forward passes as
its ``max_batch`` allows, and returns softmax probabilities.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch


class TargetError(ValueError):
    """A target cannot be loaded or misbehaves (bad file, wrong shape, NaN outputs...)."""


@dataclass(frozen=True)
class InputSpec:
    """What the model expects: ``model_input = (image * scale - mean[c]) / std[c]``."""

    channels: int
    height: int
    width: int
    scale: float = 1.0
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)

    def __post_init__(self) -> None:
        if min(self.channels, self.height, self.width) < 1:
            raise TargetError(f"input shape must be positive, got {self.shape}")
        for name in ("mean", "std"):
            values = getattr(self, name)
            if len(values) not in (1, self.channels):
                raise TargetError(f"{name} needs 1 or {self.channels} values, got {len(values)}")
        if any(s == 0 for s in self.std):
            raise TargetError("std must not be zero")

    @property
    def shape(self) -> tuple[int, int, int]:
        """(channels, height, width)."""
        return (self.channels, self.height, self.width)

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """Map [0, 1] images to the model's input range (used for scoring and for training)."""
        x = images * self.scale if self.scale != 1.0 else images
        if any(m != 0.0 for m in self.mean) or any(s != 1.0 for s in self.std):
            mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
            std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
            x = (x - mean) / std
        return x

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


def model_fingerprint(model: torch.nn.Module) -> str:
    """SHA-256 of a model's parameters and buffers: tells whether two models are the same."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


class Target:
    """A classifier to fool. ``probabilities`` scores a batch; ``queries`` counts images scored."""

    def __init__(
        self,
        model: torch.nn.Module,
        spec: InputSpec,
        class_names: Sequence[str],
        *,
        device: str | torch.device = "cpu",
        max_batch: int = 1024,
        outputs: str = "logits",
        name: str = "",
    ) -> None:
        if outputs not in ("logits", "probabilities"):
            raise TargetError(f"outputs must be 'logits' or 'probabilities', got {outputs!r}")
        if max_batch < 1:
            raise TargetError(f"max_batch must be >= 1, got {max_batch}")
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.spec = spec
        self.class_names = list(class_names)
        self.max_batch = max_batch
        self.outputs = outputs
        self.name = name
        self.queries = 0
        self.fingerprint = model_fingerprint(self.model)

    @property
    def num_classes(self) -> int:
        """Number of classes the model outputs."""
        return len(self.class_names)

    def _as_tensor(self, images: Any) -> torch.Tensor:
        if isinstance(images, np.ndarray):
            images = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
        elif not isinstance(images, torch.Tensor):
            images = torch.from_dlpack(images)  # CuPy and other array libraries, no copy
        if images.ndim != 4 or tuple(images.shape[1:]) != self.spec.shape:
            raise TargetError(
                f"images have shape {tuple(images.shape)}, target expects [N, "
                f"{', '.join(map(str, self.spec.shape))}]"
            )
        return images.to(self.device, torch.float32, non_blocking=True)

    def logits(self, images: Any) -> torch.Tensor:
        """Raw model outputs ``[N, num_classes]`` on the device, in chunks of ``max_batch``."""
        x = self._as_tensor(images)
        outputs = []
        with torch.inference_mode():
            for start in range(0, x.shape[0], self.max_batch):
                outputs.append(self.model(self.spec.prepare(x[start : start + self.max_batch])))
        out = outputs[0] if len(outputs) == 1 else torch.cat(outputs)
        if out.ndim != 2 or out.shape[1] != self.num_classes:
            raise TargetError(
                f"model output has shape {tuple(out.shape)}, expected [N, {self.num_classes}] "
                f"({self.num_classes} class names)"
            )
        bad = int((~torch.isfinite(out)).any(dim=1).sum())
        if bad:
            raise TargetError(f"model returned NaN or inf for {bad} of {out.shape[0]} images")
        self.queries += x.shape[0]
        return out

    def probabilities(self, images: Any) -> np.ndarray:
        """Softmax probabilities float64 ``[N, num_classes]`` for images in [0, 1].

        Softmax runs in float64 so that confidences near 1 keep their order: in float32 every
        image above 0.99999994 would tie at 1.0 and evolution could not tell them apart.
        """
        out = self.logits(images).double()
        if self.outputs == "logits":
            out = out.softmax(dim=1)
        return out.cpu().numpy()
