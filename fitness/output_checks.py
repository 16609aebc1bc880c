"""Checks on what a model returns, run on every scored batch (a model that lies is stopped).

A target's scores decide which images survive, so outputs that are not what the target claims
(NaN, a row that is not a probability distribution for ``--model-outputs probabilities``, the
wrong number of rows or classes) must stop the run with a :class:`TargetError`, at whatever batch
they first appear. Each check is one vectorised pass over the outputs, cheap beside the forward
pass that made them.
"""

from __future__ import annotations

from typing import Any

import torch

from fitness.errors import TargetError

#: How far a row of ``--model-outputs probabilities`` may sum from 1, by forward precision. A
#: float32 softmax over K classes sums to 1 within K * 2^-24 in the worst case (6e-5 for the
#: 1000 ImageNet classes; typically far less), so 1e-3 leaves ample headroom. Outputs that come
#: out of the model in half precision round each probability by up to 2^-11 (fp16) or 2^-8
#: (bf16) of itself, which moves the sum by as much again. Outputs that are not probabilities at
#: all (logits, sigmoids, unnormalised scores, a dropped class) miss 1 by far more.
PROBABILITY_SUM_TOLERANCE = {"fp32": 1e-3, "fp16": 2e-3, "bf16": 1e-2}


def output_shape_error(out: Any, rows: int, num_classes: int) -> TargetError | None:
    """The error for a model output that is not a tensor ``[rows, num_classes]``, else None."""
    if isinstance(out, torch.Tensor) and out.ndim == 2 and tuple(out.shape) == (rows, num_classes):
        return None
    shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
    if isinstance(out, torch.Tensor) and out.ndim == 2 and out.shape[1] == num_classes:
        return TargetError(
            f"model output has shape {shape} for a batch of {rows} inputs, "
            f"expected [{rows}, {num_classes}]"
        )
    return TargetError(
        f"model output has shape {shape}, expected [N, {num_classes}] ({num_classes} class names)"
    )


def check_outputs(parts: list[torch.Tensor], outputs: str, precision: str = "fp32") -> None:
    """Raise a :class:`TargetError` unless every output in ``parts`` (each ``[views, n, K]``,
    float32) is finite and, for ``outputs == "probabilities"``, each row is a distribution:
    values in [0, 1] summing to 1 within :data:`PROBABILITY_SUM_TOLERANCE`."""
    if not parts:
        return
    # One reduction a part in the common case (every output finite); the per-image count for
    # the message is only worked out when something is wrong. This check runs every generation,
    # and at MNIST's size each torch call costs about as much as the arithmetic.
    if not all(bool(torch.isfinite(p).all()) for p in parts):
        images = sum(p.shape[1] for p in parts)
        bad = sum(int((~torch.isfinite(p)).any(dim=2).any(dim=0).sum()) for p in parts)
        raise TargetError(f"model returned NaN or inf for {bad} of {images} images")
    if outputs != "probabilities":
        return
    tolerance = PROBABILITY_SUM_TOLERANCE[precision]
    sums = torch.cat([part.sum(dim=2).flatten() for part in parts])
    worst = float(sums[(sums - 1.0).abs().argmax()])
    if any(bool(((part < 0.0) | (part > 1.0)).any()) for part in parts):
        raise TargetError(
            "--model-outputs probabilities, but the model returned values outside [0, 1] "
            "(if they are logits, use --model-outputs logits)"
        )
    if abs(worst - 1.0) > tolerance:
        raise TargetError(
            f"--model-outputs probabilities, but a row of the model's outputs sums to {worst:.6g}, "
            f"not 1 (within {tolerance:g}); if they are scores, use --model-outputs logits"
        )
