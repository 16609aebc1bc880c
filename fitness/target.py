"""A target classifier: a PyTorch model with its input spec, class names and device.

Images handed to a target are float32 ``[N, C, H, W]`` in [0, 1] (NumPy, a torch tensor or any
DLPack array) at the target's ``image_size``, which may differ from the model's input size: the
target then resizes or crops them to the model's input on its device (``crops``: "resize", a
centre crop, or the paper's ten crops with the softmax averaged over them). It maps them to the
model's input range, scores the whole batch in as few forward passes as ``max_batch`` allows
(optionally in bf16/fp16 autocast and channels-last layout) and returns softmax probabilities
(:meth:`Target.probabilities`), with each class's log-odds for ranking (:meth:`Target.scores`).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from fitness.class_names import class_names_problem
from fitness.errors import TargetError, first_line
from fitness.host_scores import host_scores
from fitness.output_checks import check_outputs, output_shape_error
from fitness.scores import Scores, log_odds_from_log_probabilities

#: How images at the target's image size become model inputs. "resize": bilinear (antialiased)
#: to the input size; "center": the central input-sized crop; "ten": the four corner crops, the
#: centre crop and their mirror images, softmax averaged over the ten (the paper's AlexNet).
CROPS = ("resize", "center", "ten")
#: Forward-pass precision: float32, or autocast to bfloat16 / float16 (mixed precision).
PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


#: The largest image side (pixels) a model input, an evolved image (--genome-size) or a gallery
#: rendering (--size) may have; memory checks (evolve.memory) apply below it too.
MAX_IMAGE_SIDE = 8192
#: The most channels a model input may have.
MAX_CHANNELS = 64


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
        if max(self.height, self.width) > MAX_IMAGE_SIDE or self.channels > MAX_CHANNELS:
            raise TargetError(
                f"input shape {self.shape} is beyond the largest this tool takes: at most "
                f"{MAX_CHANNELS} channels of {MAX_IMAGE_SIDE} x {MAX_IMAGE_SIDE} pixels"
            )
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

    #: The options it was loaded from (set by :func:`fitness.loading.load_target`), which a run
    #: records in config.json to load it again on resume.
    options: Any = None

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
        image_size: tuple[int, int] | None = None,
        crops: str = "resize",
        precision: str = "fp32",
        channels_last: bool = False,
    ) -> None:
        if outputs not in ("logits", "probabilities"):
            raise TargetError(f"outputs must be 'logits' or 'probabilities', got {outputs!r}")
        problem = class_names_problem(list(class_names))
        if problem is not None:  # a model file's own names, a factory's, a names file's
            raise TargetError(f"the target's class names: {problem}")
        if max_batch < 1:
            raise TargetError(f"max_batch must be >= 1, got {max_batch}")
        if crops not in CROPS:
            raise TargetError(f"crops must be one of {', '.join(CROPS)}, got {crops!r}")
        if precision not in PRECISIONS:
            raise TargetError(
                f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}"
            )
        height, width = (spec.height, spec.width) if image_size is None else map(int, image_size)
        if min(height, width) < 1:
            raise TargetError(f"image size must be positive, got {height}x{width}")
        if max(height, width) > MAX_IMAGE_SIDE:
            raise TargetError(
                f"image size {height}x{width} is beyond {MAX_IMAGE_SIDE} pixels a side"
            )
        if crops != "resize" and (height < spec.height or width < spec.width):
            raise TargetError(
                f"{crops} crops of {spec.height}x{spec.width} need images at least that large, "
                f"got {height}x{width} (use resize)"
            )
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.spec = spec
        self.class_names = list(class_names)
        self.max_batch = max_batch
        self.outputs = outputs
        self.name = name
        self.image_size = (height, width)
        self.crops = crops
        self.precision = precision
        self.channels_last = bool(channels_last)
        self.queries = 0
        self.fingerprint = model_fingerprint(self.model)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)

    @property
    def num_classes(self) -> int:
        """Number of classes the model outputs."""
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of the images this target scores (the evolved images)."""
        return (self.spec.channels, *self.image_size)

    @property
    def views(self) -> int:
        """Model inputs per image: 10 for ten crops, else 1."""
        return 10 if self.crops == "ten" else 1

    def _as_tensor(self, images: Any) -> torch.Tensor:
        if isinstance(images, np.ndarray):
            images = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
        elif not isinstance(images, torch.Tensor):
            images = torch.from_dlpack(images)  # CuPy and other array libraries, no copy
        if images.ndim != 4 or tuple(images.shape[1:]) != self.image_shape:
            raise TargetError(
                f"images have shape {tuple(images.shape)}, target expects [N, "
                f"{', '.join(map(str, self.image_shape))}]"
            )
        return images.to(self.device, torch.float32, non_blocking=True)

    def model_views(self, images: torch.Tensor) -> torch.Tensor:
        """Images ``[n, C, H, W]`` -> model-sized views ``[views * n, C, h, w]``, view-major."""
        h, w = self.spec.height, self.spec.width
        height, width = images.shape[-2:]
        if (height, width) == (h, w) and self.crops != "ten":
            return images
        if self.crops == "resize":
            return F.interpolate(
                images, size=(h, w), mode="bilinear", align_corners=False, antialias=True
            )
        top, left = (height - h) // 2, (width - w) // 2
        if self.crops == "center":
            return images[..., top : top + h, left : left + w]
        corners = ((0, 0), (0, width - w), (height - h, 0), (height - h, width - w), (top, left))
        crops = [images[..., y : y + h, x : x + w] for y, x in corners]
        return torch.cat([*crops, *(crop.flip(-1) for crop in crops)])

    def _forward(self, images: torch.Tensor) -> torch.Tensor:
        """Model outputs ``[views, n, num_classes]`` (float32) for one chunk of images."""
        x = self.spec.prepare(self.model_views(images))
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        dtype = PRECISIONS[self.precision]
        # float32 needs no autocast context (entering a disabled one still costs its setup).
        autocast = (
            torch.autocast(self.device.type, dtype=dtype)
            if dtype != torch.float32
            else contextlib.nullcontext()
        )
        with autocast:
            try:
                out = self.model(x)
            except Exception as exc:  # e.g. a batch size the model cannot take: the user's to fix
                raise TargetError(
                    f"model fails on input of shape [N, {', '.join(map(str, x.shape[1:]))}] "
                    f"(a batch of {x.shape[0]}): {first_line(exc)}"
                ) from None
        error = output_shape_error(out, x.shape[0], self.num_classes)
        if error is not None:
            raise error
        return out.float().reshape(self.views, images.shape[0], -1)

    @property
    def chunk_size(self) -> int:
        """Images per forward pass: ``max_batch`` model inputs shared by each image's views."""
        return max(1, self.max_batch // self.views)

    def _outputs(self, images: Any, checked: bool = True) -> list[torch.Tensor]:
        """Outputs ``[views, n, K]`` per chunk; a chunk is at most ``max_batch`` model inputs.

        Every call checks its outputs (finite; distributions for probability outputs), so a
        model that starts to misbehave mid-run stops the run with a :class:`TargetError`;
        ``checked=False`` leaves the check to a caller that makes it on the way (the host
        scoring pass finds NaN and inf itself).
        """
        x = self._as_tensor(images)
        chunk = self.chunk_size
        with torch.inference_mode():
            parts = [self._forward(x[start : start + chunk]) for start in range(0, len(x), chunk)]
            if checked:
                check_outputs(parts, self.outputs, self.precision)
        self.queries += x.shape[0]
        return parts

    def logits(self, images: Any) -> torch.Tensor:
        """Raw model outputs ``[N, num_classes]`` on the device (mean over ten crops)."""
        parts = [part.mean(dim=0) for part in self._outputs(images)]
        if not parts:
            return torch.empty((0, self.num_classes), device=self.device)
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def _mean_probabilities(self, out: torch.Tensor) -> torch.Tensor:
        """Outputs ``[views, n, K]`` -> probabilities float64 ``[n, K]``, the mean over views.

        Softmax runs in float64 so that confidences near 1 keep their order: in float32 every
        image above 0.99999994 would tie at 1.0 and evolution could not tell them apart.
        """
        out = out.double()
        if self.outputs == "logits":
            out = out.softmax(dim=2)
        # One view: its row is the mean (x / 1 == x), without a reduction and a copy.
        return out[0] if self.views == 1 else out.mean(dim=0)

    def _mean_log_probabilities(self, out: torch.Tensor) -> torch.Tensor:
        """Outputs ``[views, n, K]`` -> log-probabilities float64 ``[n, K]``: the log of the
        mean over views of the probabilities, computed in log space (log-softmax of the logits,
        ``logsumexp`` over views minus ``log(views)``), so it never rounds to ``log(0)``."""
        out = out.double()
        if self.outputs == "logits":
            log_p = out.log_softmax(dim=2)
        else:  # probabilities: a zero would give -inf and a NaN gradient
            log_p = out.clamp_min(torch.finfo(torch.float64).tiny).log()
        return torch.logsumexp(log_p, dim=0) - math.log(self.views)

    def probabilities(self, images: Any) -> np.ndarray:
        """Softmax probabilities float64 ``[N, num_classes]`` for images in [0, 1].

        With ten crops the softmax of each crop is averaged, as in the paper.
        """
        if self.device.type == "cpu":  # one host pass gives both; the log-odds cost ~nothing
            return self.scores(images).probabilities
        parts = [self._mean_probabilities(part) for part in self._outputs(images)]
        if not parts:
            return np.zeros((0, self.num_classes))
        return _joined(parts).cpu().numpy()

    def scores(self, images: Any) -> Scores:
        """:meth:`probabilities` (the same values, bit for bit) and each class's log-odds from
        the same forward passes: what evolution ranks by (:mod:`fitness.scores`).

        On the CPU both come from one compiled pass over the outputs
        (:func:`fitness.host_scores.host_scores`); on an accelerator from torch operations on
        the device, so that only the results cross to the host.
        """
        on_host = self.device.type == "cpu"
        # Probability outputs get the full check (ranges, sums); logits only need finite values,
        # which the host pass checks as it goes.
        parts = self._outputs(images, checked=not on_host or self.outputs != "logits")
        if not parts:
            empty = np.zeros((0, self.num_classes))
            return Scores(empty, empty.copy())
        if on_host:
            scored = host_scores(_joined(parts, dim=1).numpy(), self.outputs == "logits")
            if scored is None:
                check_outputs(parts, self.outputs, self.precision)  # raises, with the count
                raise TargetError("model returned NaN or inf")  # not reached
            return Scores(*scored)
        probabilities = _joined([self._mean_probabilities(part) for part in parts])
        log_p = _joined([self._mean_log_probabilities(part) for part in parts])
        return Scores(
            probabilities.cpu().numpy(), log_odds_from_log_probabilities(log_p).cpu().numpy()
        )

    def differentiable_log_probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """Log-probabilities float64 ``[N, num_classes]`` of images in [0, 1], differentiable.

        The gradient-based attacks' forward pass, beside the ``inference_mode`` one of
        :meth:`probabilities`: the autograd graph back to ``images`` is kept, so the caller can
        take gradients with respect to the pixels. One forward pass: callers split batches by
        :attr:`chunk_size` (so each chunk's graph is freed after its backward pass). The outputs
        are checked and counted in ``queries`` as :meth:`probabilities` does. exp() of the result
        is the probabilities :meth:`probabilities` gives (softmax in float64; with ten crops the
        log of the mean of the crops' probabilities).
        """
        if images.ndim != 4 or tuple(images.shape[1:]) != self.image_shape:
            raise TargetError(
                f"images have shape {tuple(images.shape)}, target expects [N, "
                f"{', '.join(map(str, self.image_shape))}]"
            )
        out = self._forward(images.to(self.device, torch.float32))
        check_outputs([out.detach()], self.outputs, self.precision)
        self.queries += images.shape[0]
        return self._mean_log_probabilities(out)


def _joined(parts: list[torch.Tensor], dim: int = 0) -> torch.Tensor:
    """Chunks' rows (along ``dim``) as one tensor; one chunk (the common case): no
    concatenation, no copy."""
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=dim)
