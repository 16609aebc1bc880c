"""A target rebuilt elsewhere (a Ray worker) from its options and weights, never by pickling
the live model: the architecture is built as :func:`fitness.loading.load_target` builds it, the
driver's weights are loaded into it, and its fingerprint must match the driver's."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch

from fitness.builtin import LENET_SPEC, lenet_class_names
from fitness.imagenet import IMAGENET_TARGETS, efficientnet_lite
from fitness.lenet import LeNet
from fitness.loading import TargetOptions, target_from_options, user_model
from fitness.target import InputSpec, Target, TargetError


@dataclass(frozen=True)
class ReplicaSpec:
    """What a worker needs besides the weights: the target's options (as stored in a run's
    config.json), its class names and the fingerprint its weights must have."""

    options: dict[str, Any]
    class_names: tuple[str, ...]
    fingerprint: str

    @classmethod
    def of(cls, target: Target) -> ReplicaSpec:
        """The spec of a loaded target (one from :func:`fitness.loading.load_target`)."""
        if target.options is None:
            raise TargetError("the target was not loaded from options; it cannot be replicated")
        return cls(target.options.to_dict(), tuple(target.class_names), target.fingerprint)


def target_weights(target: Target) -> dict[str, torch.Tensor]:
    """The model's parameters and buffers on the CPU: what a worker loads into its replica."""
    return {name: t.detach().cpu() for name, t in target.model.state_dict().items()}


def _architecture(options: TargetOptions, class_names: tuple[str, ...]) -> tuple[Any, InputSpec]:
    """The untrained-or-shipped model of ``options`` and its input spec (weights come later)."""
    if options.target == "mnist-lenet":
        lenet_class_names(len(class_names))  # 10 or 11 classes, as the driver's weights have
        return LeNet(len(class_names)), LENET_SPEC
    if options.target in IMAGENET_TARGETS:
        model, spec, _ = efficientnet_lite(options.target, options.weights)
        return model, spec
    # A factory or model file, as the driver built it (model files must exist on the worker).
    return user_model(options, "cpu"), options.input_spec()


def build_replica(spec: ReplicaSpec, weights: dict[str, torch.Tensor], device: str) -> Target:
    """The target ``spec`` describes on ``device``, with the driver's ``weights``."""
    options = replace(TargetOptions.from_dict(spec.options), device=device)
    model, input_spec = _architecture(options, spec.class_names)
    try:
        model.load_state_dict(weights)
    except Exception as exc:  # the worker's files or packages differ from the driver's
        raise TargetError(f"the worker cannot load the driver's weights: {exc}") from None
    target = target_from_options(model, input_spec, spec.class_names, options, device)
    if target.fingerprint != spec.fingerprint:
        raise TargetError("the worker's replica of the target differs from the driver's")
    return target
