"""Training and evaluating classifiers (the built-in LeNet, and the retraining study)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from fitness.target import InputSpec

#: Replaces a training batch before the step: (model, spec, images in [0, 1], labels) -> images.
Perturbation = Callable[[nn.Module, InputSpec, torch.Tensor, torch.Tensor], torch.Tensor]


def as_unit_images(images: np.ndarray, spec: InputSpec) -> torch.Tensor:
    """uint8 ``[N, H, W]`` / ``[N, C, H, W]`` or float images in [0, 1] as float32 NCHW."""
    array = np.asarray(images)
    if array.ndim == 3:
        array = array[:, None]
    # torch.tensor copies, so read-only arrays (memory-mapped IDX files) raise no warning.
    if array.dtype == np.uint8:
        tensor = torch.tensor(array, dtype=torch.float32).div_(255.0)
    else:
        tensor = torch.tensor(array, dtype=torch.float32)
    if tuple(tensor.shape[1:]) != spec.shape:
        raise ValueError(f"images have shape {tuple(tensor.shape[1:])}, expected {spec.shape}")
    return tensor


def train_classifier(
    model: nn.Module,
    spec: InputSpec,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    epochs: int = 10,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    seed: int = 0,
    temperature: float = 1.0,
    progress: bool = True,
    description: str = "training",
    perturb: Perturbation | None = None,
) -> list[dict[str, float]]:
    """Train ``model`` in place with Adam and cross-entropy; return per-epoch loss and accuracy.

    ``labels`` are class indices ``[N]``, or soft labels ``[N, classes]`` (rows are
    distributions: defensive distillation's student learns the teacher's). The loss is taken on
    ``softmax(logits / temperature)``, as Papernot et al. (2016) train both of their networks;
    the model itself is unchanged, so it is deployed at temperature 1. Accuracy counts the argmax
    of soft labels. ``perturb`` replaces each batch's images first (adversarial training,
    :mod:`fitness.adversarial`); accuracy is then that on the replaced images. Shuffling uses
    its own seeded generator, so the same settings give the same weights.
    """
    x = as_unit_images(images, spec)
    array = np.asarray(labels)
    soft = array.ndim == 2
    y = torch.as_tensor(array, dtype=torch.float32 if soft else torch.int64)
    y_class = y.argmax(1) if soft else y
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
    loss_fn = nn.CrossEntropyLoss()
    history = []
    model.train()
    bar = tqdm(range(epochs), desc=description, unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        order = torch.randperm(len(x), generator=generator)
        total_loss, correct = 0.0, 0
        for start in range(0, len(x), batch_size):
            batch = order[start : start + batch_size]
            inputs = x[batch] if perturb is None else perturb(model, spec, x[batch], y[batch])
            logits = model(spec.prepare(inputs))
            # CrossEntropyLoss takes class indices or probabilities as targets alike.
            loss = loss_fn(logits / temperature if temperature != 1.0 else logits, y[batch])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total_loss += float(loss.detach()) * len(batch)
            correct += int((logits.argmax(1) == y_class[batch]).sum())
        record = {"epoch": epoch + 1, "loss": total_loss / len(x), "accuracy": correct / len(x)}
        history.append(record)
        bar.set_postfix(loss=f"{record['loss']:.4f}", acc=f"{record['accuracy']:.4f}")
    model.eval()
    return history


def logits_of(
    model: nn.Module, spec: InputSpec, images: np.ndarray, batch_size: int = 1000
) -> torch.Tensor:
    """Raw model outputs ``[N, classes]`` (float32) for ``images``, without gradients."""
    x = as_unit_images(images, spec)
    model.eval()
    with torch.inference_mode():
        parts = [
            model(spec.prepare(x[start : start + batch_size]))
            for start in range(0, len(x), batch_size)
        ]
    return torch.cat(parts) if parts else torch.zeros((0, 0))


def predict(
    model: nn.Module, spec: InputSpec, images: np.ndarray, batch_size: int = 1000
) -> np.ndarray:
    """Argmax class of each image."""
    logits = logits_of(model, spec, images, batch_size)
    return logits.argmax(1).numpy() if len(logits) else np.zeros(0, dtype=np.int64)


def accuracy(model: nn.Module, spec: InputSpec, images: np.ndarray, labels: np.ndarray) -> float:
    """Share of ``images`` whose argmax class equals ``labels``."""
    if len(labels) == 0:
        return float("nan")
    return float((predict(model, spec, images) == np.asarray(labels)).mean())
