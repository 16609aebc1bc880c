"""Defensive distillation (Papernot et al., 2016) of the built-in LeNet.

A teacher is trained at temperature T (cross-entropy on ``softmax(logits / T)``), its soft labels
``softmax(teacher_logits / T)`` on the training digits are computed, and a student of the same
architecture is trained on them, again at T. The student is deployed at T = 1: its logits are
about T times those of a network trained normally, so its softmax saturates (probabilities of
exactly 1.0 and, in float32, 0.0), which is what blunted gradient attacks in the paper.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from fitness.digits import DigitData
from fitness.lenet import LeNet
from fitness.target import InputSpec
from fitness.training import Perturbation, accuracy, logits_of, train_classifier


def soft_labels(model: torch.nn.Module, spec: InputSpec, images: np.ndarray, temperature: float):
    """``softmax(logits / temperature)`` of ``images`` as float32 ``[N, classes]`` (float64
    softmax, so rows are distributions to float32 precision)."""
    logits = logits_of(model, spec, images).double()
    return (logits / temperature).softmax(dim=1).float().numpy()


def sharpness(model: torch.nn.Module, spec: InputSpec, images: np.ndarray) -> dict[str, float]:
    """How saturated the deployed (T = 1) softmax is on ``images``.

    Mean top-1 probability, mean entropy (nats) and the mean gap between the two largest logits;
    from float64 log-softmax, so saturated outputs are still measured (not rounded to 1 and 0).
    """
    logits = logits_of(model, spec, images).double()
    log_p = logits.log_softmax(dim=1)
    top2 = logits.topk(2, dim=1).values
    return {
        "mean_top1_probability": float(log_p.max(dim=1).values.exp().mean()),
        "mean_entropy": float(-(log_p.exp() * log_p).sum(dim=1).mean()),
        "mean_logit_gap": float((top2[:, 0] - top2[:, 1]).mean()),
    }


def train_lenet(
    spec: InputSpec,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    temperature: float = 1.0,
    progress: bool = True,
    description: str = "training mnist-lenet",
    perturb: Perturbation | None = None,
) -> tuple[LeNet, list[dict[str, float]]]:
    """A LeNet with ``seed``'s initial weights, trained on ``labels`` (classes or soft labels)
    at ``temperature`` with ``seed``'s data order (each batch first replaced by ``perturb``'s
    images, if given); the model (in eval mode) and its history."""
    with torch.random.fork_rng():  # the caller's global generator is left as it was
        torch.manual_seed(seed)
        model = LeNet()
        history = train_classifier(
            model,
            spec,
            images,
            labels,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            seed=seed,
            temperature=temperature,
            progress=progress,
            description=description,
            perturb=perturb,
        )
    return model.eval(), history


def distil_lenet(
    data: DigitData,
    spec: InputSpec,
    temperature: float,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    progress: bool = True,
) -> tuple[LeNet, LeNet, dict[str, Any]]:
    """Teacher and student LeNets of defensive distillation at ``temperature``: (student,
    teacher, info). Both start from ``seed``'s initial weights and data order (the paper
    trains the same architecture twice); info holds both test accuracies and sharpness."""
    settings = {"epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate}
    teacher, _ = train_lenet(
        spec, data.train_images, data.train_labels, seed=seed, temperature=temperature,
        progress=progress, description=f"training mnist-lenet teacher at T={temperature:g}",
        **settings,
    )  # fmt: skip
    labels = soft_labels(teacher, spec, data.train_images, temperature)
    student, _ = train_lenet(
        spec, data.train_images, labels, seed=seed, temperature=temperature,
        progress=progress, description=f"training mnist-lenet student at T={temperature:g}",
        **settings,
    )  # fmt: skip
    info = {
        "distill_temperature": temperature,
        "teacher_test_accuracy": accuracy(teacher, spec, data.test_images, data.test_labels),
        "student_train_agreement": float(
            (
                logits_of(student, spec, data.train_images).argmax(1).numpy() == labels.argmax(1)
            ).mean()
        ),
        "teacher_sharpness_at_T": _sharpness_at(teacher, spec, data.test_images, temperature),
        "teacher_sharpness": sharpness(teacher, spec, data.test_images),
        "student_sharpness": sharpness(student, spec, data.test_images),
    }
    return student, teacher, info


def _sharpness_at(
    model: torch.nn.Module, spec: InputSpec, images: np.ndarray, temperature: float
) -> dict[str, float]:
    """:func:`sharpness` of the soft labels the teacher hands the student (logits / T)."""

    class Scaled(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return model(x) / temperature

    return sharpness(Scaled(), spec, images)
