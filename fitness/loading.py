"""Turning a ``--target`` string and its options into a :class:`Target`."""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch

from fitness.builtin import (
    LENET_SPEC,
    MNIST_CLASS_NAMES,
    LenetSettings,
    first_line,
    lenet_from_weights,
    load_state_dict,
    trained_lenet,
)
from fitness.class_names import class_names_problem
from fitness.devices import resolve_device
from fitness.errors import FoolingWarning
from fitness.factories import absolute_factory, build_seeded, import_factory, is_factory_target
from fitness.imagenet import IMAGENET_TARGETS, efficientnet_lite
from fitness.model_files import load_model_file
from fitness.target import InputSpec, Target, TargetError

BUILTIN_TARGETS = ("mnist-lenet", *IMAGENET_TARGETS)


@dataclass(frozen=True)
class TargetOptions:
    """Everything needed to load a target again (stored in a run's config.json)."""

    target: str = "mnist-lenet"
    weights: str | None = None
    input_shape: tuple[int, int, int] | None = None
    class_names_file: str | None = None
    input_scale: float = 1.0
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    outputs: str = "logits"
    device: str = "auto"
    max_batch: int = 1024
    image_size: tuple[int, int] | None = None  # evolved images' (H, W); None: the model's input
    crops: str = "resize"
    precision: str = "fp32"
    channels_last: bool = False
    random_weights: bool = False  # a factory model used untrained, on purpose (no warning)

    def input_spec(self) -> InputSpec:
        """The input spec of a user's model (``--input-shape`` and normalisation options)."""
        if self.input_shape is None:
            raise TargetError("--input-shape C,H,W is required for your own model")
        channels, height, width = self.input_shape
        return InputSpec(
            channels,
            height,
            width,
            scale=self.input_scale,
            mean=self.mean or (0.0,),
            std=self.std or (1.0,),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form with paths made absolute, so a run can be resumed from anywhere."""
        data = asdict(self)
        for key in ("weights", "class_names_file"):
            if data[key] is not None:
                data[key] = str(Path(data[key]).resolve())
        if is_factory_target(self.target):
            data["target"] = absolute_factory(self.target)
        elif self.target not in BUILTIN_TARGETS:
            data["target"] = str(Path(self.target).resolve())
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TargetOptions:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise TargetError(f"unknown target option(s): {', '.join(sorted(unknown))}")
        data = dict(data)
        for key in ("input_shape", "mean", "std", "image_size"):
            if data.get(key) is not None:
                data[key] = tuple(data[key])
        return cls(**data)


def split_weights(spec: str, option: str = "--target") -> tuple[str, str | None]:
    """``NAME=WEIGHTS`` as (NAME, WEIGHTS); anything else (an existing file too) as (spec, None).
    ``option``: the option that named ``spec``, for the message when a part is missing."""
    if "=" in spec and not Path(spec).exists():
        name, weights = spec.split("=", 1)
        if not name or not weights:
            raise TargetError(f"{option} {spec!r}: give NAME=WEIGHTS with both parts")
        return name, weights
    return spec, None


def read_class_names(path: str) -> list[str]:
    """One class name per line (blank lines ignored)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise TargetError(f"cannot read class names file {path}: {first_line(exc)}") from None
    names = [line.strip() for line in lines if line.strip()]
    if not names:
        raise TargetError(f"class names file {path} is empty")
    problem = class_names_problem(names)
    if problem is not None:
        raise TargetError(f"class names file {path}: {problem}")
    return names


def user_model(options: TargetOptions, device: str = "cpu") -> torch.nn.Module:
    """A factory's or model file's model (also what a Ray worker rebuilds, see
    :mod:`fitness.replica`)."""
    if is_factory_target(options.target):
        return _factory_model(options)
    path = Path(options.target)
    if not path.is_file():
        raise missing_target(options.target)
    if options.weights is not None:
        raise TargetError("--weights applies to built-in and factory models, not model files")
    if options.random_weights:
        raise TargetError("--random-weights applies to package.module:factory targets only")
    return load_model_file(path, device)


def _factory_model(options: TargetOptions) -> torch.nn.Module:
    """The factory's model (built seeded) with --weights loaded if given."""
    if options.random_weights and options.weights is not None:
        raise TargetError("--random-weights and --weights exclude each other")
    try:
        model = build_seeded(import_factory(options.target))
    except Exception as exc:  # import or construction failed: report it as bad input
        raise TargetError(f"cannot build model {options.target}: {first_line(exc)}") from None
    if not isinstance(model, torch.nn.Module):
        raise TargetError(f"{options.target} returned {type(model).__name__}, not a Module")
    if options.weights is not None:
        load_state_dict(model, options.weights)
    return model


def warn_if_untrained(options: TargetOptions) -> None:
    """A :class:`fitness.errors.FoolingWarning` for a factory model without --weights, unless
    --random-weights says that is intended (said once the target loaded: a target that fails
    shows only its error)."""
    if is_factory_target(options.target) and options.weights is None:
        if not options.random_weights:
            warnings.warn(
                f"{options.target} has no --weights, so it is untrained (random "
                "weights); give --weights FILE, or --random-weights if that is intended",
                FoolingWarning,
                stacklevel=3,
            )


#: Endings that mark a --target as a model file (torch.export or TorchScript) rather than a name.
MODEL_FILE_SUFFIXES = (".pt2", ".pt", ".pth", ".ts", ".jit", ".torchscript")


def missing_target(target: str) -> TargetError:
    """The error for a --target that is neither built in, nor a file, nor a factory."""
    if target.endswith(MODEL_FILE_SUFFIXES) or "/" in target or "\\" in target:  # a file
        return TargetError(f"target file not found: {target}")
    return TargetError(
        f"unknown target {target!r}: use one of {', '.join(BUILTIN_TARGETS)}, "
        "a model file (.pt2 or TorchScript) or package.module:factory"
    )


def _builtin(options: TargetOptions, progress: bool) -> tuple[torch.nn.Module, InputSpec, list]:
    for name in ("input_shape", "class_names_file", "mean", "std"):
        if getattr(options, name) is not None:
            raise TargetError(f"--{name.replace('_', '-')} applies to your own models only")
    if options.random_weights:
        raise TargetError("--random-weights applies to package.module:factory targets only")
    if options.target in IMAGENET_TARGETS:
        return efficientnet_lite(options.target, options.weights)
    if options.weights is not None:
        model, class_names = lenet_from_weights(options.weights)
        return model, LENET_SPEC, class_names
    model, _ = trained_lenet(LenetSettings(), progress=progress)
    return model, LENET_SPEC, MNIST_CLASS_NAMES


def load_target(options: TargetOptions, *, progress: bool = True) -> Target:
    """Build the target ``options`` describe and check that it answers sensibly."""
    device = resolve_device(options.device)
    if options.target in BUILTIN_TARGETS:
        model, spec, class_names = _builtin(options, progress)
    else:
        factory = is_factory_target(options.target)
        if not factory and not Path(options.target).is_file():
            raise missing_target(options.target)
        if factory:  # a factory: check the cheap options before building it
            spec = options.input_spec()
            model = user_model(options, device)
        else:  # a file: that it cannot be read is the first thing to say
            model = user_model(options, device)
            spec = options.input_spec()
        class_names = (
            read_class_names(options.class_names_file) if options.class_names_file else None
        )
        if class_names is None:
            class_names = [str(i) for i in range(_probe_output_size(model, spec))]
    target = target_from_options(model, spec, class_names, options, device)
    _probe(target)
    warn_if_untrained(options)
    return target


def target_from_options(
    model: torch.nn.Module,
    spec: InputSpec,
    class_names: list[str],
    options: TargetOptions,
    device: str,
) -> Target:
    """A :class:`Target` around ``model`` scoring as ``options`` say, remembering them (for
    config.json and for replicas built elsewhere from the same options)."""
    target = Target(
        model,
        spec,
        class_names,
        device=device,
        max_batch=options.max_batch,
        outputs=options.outputs,
        name=options.target,
        image_size=options.image_size,
        crops=options.crops,
        precision=options.precision,
        channels_last=options.channels_last,
    )
    target.options = options
    return target


def _probe_output_size(model: torch.nn.Module, spec: InputSpec) -> int:
    # On the model's device: a .pt2 program is moved there when loaded (its graph constants too).
    device = next((t.device for t in (*model.parameters(), *model.buffers())), "cpu")
    try:
        with torch.inference_mode():
            out = model(torch.zeros(2, *spec.shape, device=device))
    except Exception as exc:  # the model rejected an input of the declared shape
        raise TargetError(
            f"model fails on input of shape [N, {', '.join(map(str, spec.shape))}]: "
            f"{first_line(exc)}"
        ) from None
    if not isinstance(out, torch.Tensor) or out.ndim != 2:
        raise TargetError("model must return a 2-D tensor [N, classes]")
    return int(out.shape[1])


def _probe(target: Target) -> None:
    """Score two blank images: catches wrong input shapes and output sizes before a run starts."""
    import numpy as np

    try:
        target.probabilities(np.zeros((2, *target.image_shape), dtype=np.float32))
    except TargetError:
        raise
    except Exception as exc:  # the model itself failed
        raise TargetError(
            f"model fails on input of shape [N, {', '.join(map(str, target.spec.shape))}]: "
            f"{first_line(exc)}"
        ) from None
    target.queries = 0
