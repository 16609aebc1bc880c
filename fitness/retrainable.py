"""Targets that can be trained again with an extra output: the retraining study's networks.

Two kinds of target can grow a "fooling" class:

- ``mnist-lenet``: the built-in LeNet; a network with 11 outputs loads again with
  ``--target mnist-lenet --weights FILE`` (its classes are 0-9 and "fooling").
- ``package.module:factory``: your model, where ``factory(num_classes=K)`` returns a fresh
  ``torch.nn.Module`` with K outputs (``factory()`` with no argument must give the original
  network, as ``fooling evolve --target package.module:factory`` builds it). A retrained network
  is saved as a state dict and as a ``torch.export`` program (``.pt2``, dynamic batch) with its
  class-names file, so the study's evolution, gallery and evaluation load it like any other
  model-file target. (Studies from before kept ``.torchscript`` files, which still load.)

A model file cannot be built again with another number of outputs, so it cannot be retrained.
Training runs on the CPU with :func:`fitness.training.train_classifier`.
"""

from __future__ import annotations

import inspect
import io
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from archives.atomic import atomic_write_bytes
from fitness import factories
from fitness.builtin import (
    FOOLING_CLASS_NAME,
    LENET_SPEC,
    MNIST_CLASS_NAMES,
    first_line,
    load_digits,
    save_state_dict,
)
from fitness.class_names import class_names_problem
from fitness.image_folder import LabelledImages, load_image_folder, split_fraction
from fitness.lenet import LeNet
from fitness.loading import TargetOptions, read_class_names
from fitness.model_files import EXPORTED_SUFFIX
from fitness.target import InputSpec, Target, TargetError
from fitness.training import train_classifier


@dataclass(frozen=True)
class TrainingSet:
    """The real classes' data: uint8 images ``[N, C, H, W]`` with labels, train and test."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    class_names: list[str]
    source: str

    def class_counts(self) -> np.ndarray:
        """Training images per class."""
        return np.bincount(self.train_labels, minlength=len(self.class_names))


@dataclass(frozen=True)
class TrainSettings:
    """How every network of a study is trained (Adam, cross-entropy)."""

    epochs: int = 10  # as the built-in mnist-lenet, so DNN_1 matches it
    batch_size: int = 64
    learning_rate: float = 1e-3


class Retrainable:
    """A target family: builds a network with any number of outputs and saves trained ones."""

    def __init__(
        self,
        options: TargetOptions,
        spec: InputSpec,
        class_names: list[str],
        build: Callable[[int], torch.nn.Module],
    ) -> None:
        if FOOLING_CLASS_NAME in class_names:
            raise TargetError(f'the target already has a class named "{FOOLING_CLASS_NAME}"')
        self.options = options
        self.spec = spec
        self.class_names = list(class_names)  # the real classes, in output order
        self._build = build

    @property
    def is_builtin(self) -> bool:
        """Whether this is the built-in LeNet (saved as weights for ``--target mnist-lenet``)."""
        return self.options.target == "mnist-lenet"

    def build(self, num_classes: int, seed: int) -> torch.nn.Module:
        """A freshly initialised network with ``num_classes`` outputs (seeded, reproducible)."""
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            try:
                model = self._build(num_classes)
            except TargetError:
                raise
            except Exception as exc:  # the user's factory failed
                raise TargetError(
                    f"{self.options.target}(num_classes={num_classes}) failed: {first_line(exc)}"
                ) from None
        if not isinstance(model, torch.nn.Module):
            raise TargetError(f"{self.options.target} returned {type(model).__name__}")
        return model

    def names_for(self, num_classes: int) -> list[str]:
        """Class names of a network with ``num_classes`` outputs (K real, or K + "fooling")."""
        if num_classes == len(self.class_names):
            return list(self.class_names)
        if num_classes == len(self.class_names) + 1:
            return [*self.class_names, FOOLING_CLASS_NAME]
        raise TargetError(
            f"a network of this study has {len(self.class_names)} or one more outputs"
        )

    def save(self, model: torch.nn.Module, num_classes: int, stem: Path) -> TargetOptions:
        """Write ``stem.pt`` (state dict; plus a torch.export ``.pt2`` program and class names for
        a user's model); return the target options that load the saved network."""
        weights = stem.with_suffix(".pt")
        save_state_dict(model, weights)
        if self.is_builtin:
            return replace(self.options, weights=str(weights.resolve()))
        names_file = stem.with_suffix(".classes.txt")
        atomic_write_bytes(names_file, ("\n".join(self.names_for(num_classes)) + "\n").encode())
        program_file = stem.with_suffix(EXPORTED_SUFFIX)
        model = model.eval()
        example = torch.zeros(2, *self.spec.shape)  # batch 2: torch.export specialises 0 and 1
        try:
            program = torch.export.export(
                model, (example,), dynamic_shapes=({0: torch.export.Dim("batch", min=1)},)
            )
        except Exception as exc:  # an unexportable model: say so rather than crash later
            raise TargetError(
                f"cannot export the retrained {self.options.target} with torch.export: "
                f"{first_line(exc)}"
            ) from None
        buffer = io.BytesIO()
        torch.export.save(program, buffer)
        atomic_write_bytes(program_file, buffer.getvalue())
        return replace(
            self.options,
            target=str(program_file.resolve()),
            weights=None,
            input_shape=self.spec.shape,
            class_names_file=str(names_file.resolve()),
        )


def import_factory(target: str) -> Callable[..., Any]:
    """The callable named by ``package.module:factory`` or ``file.py:factory``."""
    try:
        return factories.import_factory(target)
    except Exception as exc:  # import errors of any kind are the user's to fix
        raise TargetError(f"cannot import {target}: {first_line(exc)}") from None


def retrainable(options: TargetOptions, train_dir: str | None) -> Retrainable:
    """The family of ``options``' target; a TargetError if it cannot grow an output."""
    if options.target == "mnist-lenet":
        names = list(MNIST_CLASS_NAMES)
        return Retrainable(options, LENET_SPEC, names, lambda k: LeNet(k))
    if not factories.is_factory_target(options.target):
        raise TargetError(
            "retraining needs --target mnist-lenet or package.module:factory, where "
            "factory(num_classes=K) builds the model with K outputs (a model file "
            "cannot grow an extra output)"
        )
    factory = import_factory(options.target)
    try:
        accepts = "num_classes" in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        accepts = False
    if not accepts:
        raise TargetError(f"{options.target} must accept a num_classes argument to be retrained")
    spec = options.input_spec()
    if options.class_names_file:
        names = read_class_names(options.class_names_file)
    elif train_dir is not None:
        names = load_class_folders(train_dir)
    else:
        raise TargetError("a package.module:factory target needs --train-dir to be retrained")
    return Retrainable(options, spec, names, lambda k: factory(num_classes=k))


def load_class_folders(root: str) -> list[str]:
    """Sorted class sub-folder names of an image folder."""
    path = Path(root)
    if not path.is_dir():
        raise TargetError(f"training folder not found: {root}")
    names = sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    problem = class_names_problem(names)
    if names and problem is not None:
        raise TargetError(f"{root}: sub-folder names are class names: {problem}")
    return names


def training_set(
    family: Retrainable,
    *,
    data_dir: str | None = None,
    train_dir: str | None = None,
    test_dir: str | None = None,
    test_fraction: float = 0.1,
    seed: int = 0,
) -> TrainingSet:
    """The real classes' training and test data.

    ``train_dir`` (class sub-folders) for any target, with ``test_dir`` or a stratified
    ``test_fraction`` held out of it; else, for mnist-lenet, the bundled digits (or the full MNIST
    IDX files in ``data_dir``).
    """
    shape = family.spec.shape
    if train_dir is None:
        if not family.is_builtin:
            raise TargetError("--train-dir is required for your own model")
        digits = load_digits(data_dir)
        return TrainingSet(
            digits.train_images[:, None],
            digits.train_labels,
            digits.test_images[:, None],
            digits.test_labels,
            list(family.class_names),
            digits.source,
        )
    train = load_image_folder(train_dir, shape, family.class_names)
    if test_dir is not None:
        test = load_image_folder(test_dir, shape, family.class_names)
        source = f"{train.source} + test {test.source}"
    else:
        keep, held = split_fraction(train.labels, test_fraction, seed)
        test = LabelledImages(train.images[held], train.labels[held], train.class_names, "")
        train = LabelledImages(train.images[keep], train.labels[keep], train.class_names, "")
        source = f"folder:{Path(train_dir)} ({test_fraction:.0%} held out as test)"
    return TrainingSet(
        train.images, train.labels, test.images, test.labels, list(family.class_names), source
    )


def grow_state(old: dict[str, torch.Tensor], model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """``model``'s state with ``old``'s values: equal shapes copied, a grown output layer's
    first rows copied (the new class's row keeps its fresh initialisation)."""
    state = model.state_dict()
    for key, value in state.items():
        previous = old.get(key)
        if previous is None:
            raise TargetError(f"cannot fine-tune: the previous network has no {key}")
        if previous.shape == value.shape:
            state[key] = previous.clone()
        elif previous.ndim == value.ndim and previous.shape[1:] == value.shape[1:]:
            grown = value.clone()
            grown[: previous.shape[0]] = previous
            state[key] = grown
        else:
            raise TargetError(f"cannot fine-tune: {key} changed shape {tuple(previous.shape)}")
    return state


def train_network(
    family: Retrainable,
    num_classes: int,
    images: np.ndarray,
    labels: np.ndarray,
    settings: TrainSettings,
    *,
    seed: int,
    start_from: dict[str, torch.Tensor] | None = None,
    progress: bool = False,
) -> tuple[torch.nn.Module, list[dict[str, float]]]:
    """Train a network with ``num_classes`` outputs: from scratch, or from ``start_from``."""
    model = family.build(num_classes, seed)
    if start_from is not None:
        model.load_state_dict(grow_state(start_from, model))
    with torch.random.fork_rng():
        torch.manual_seed(seed)  # dropout and the like, if the model has any
        history = train_classifier(
            model,
            family.spec,
            images,
            labels,
            epochs=settings.epochs,
            batch_size=settings.batch_size,
            learning_rate=settings.learning_rate,
            seed=seed,
            progress=progress,
            description=f"training ({num_classes} classes)",
        )
    return model.eval(), history


def predict_classes(target: Target, images: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """The target's argmax class for uint8 images ``[N, C, H, W]``, scored in chunks."""
    out = [
        target.probabilities(images[start : start + chunk].astype(np.float32) / 255.0).argmax(1)
        for start in range(0, len(images), chunk)
    ]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)
