"""PGD adversarial training (Madry et al., "Towards Deep Learning Models Resistant to
Adversarial Attacks", ICLR 2018) of the built-in LeNet: a robust target.

Each training batch is replaced by its projected-gradient-descent adversarial examples: from a
uniformly random start in the L-inf ball of radius epsilon around each digit, ``steps`` signed
gradient steps of ``step_size`` on the cross-entropy of the true label, each projected back
into the ball and into [0, 1]; the network is trained on those alone (Madry et al.'s MNIST
recipe, there with 40 steps of 0.01 at epsilon 0.3). Epsilon grows linearly from 0 over the
first ``warmup_epochs`` (a curriculum: trained at the full radius from the first step, a small
network on 4,000 digits settles on guessing one class).

Robust accuracy is measured with the training attack and with a stronger one (more steps,
Madry et al.'s step size of 2.5 epsilon / steps), both from seeded random starts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from fitness.digits import DigitData
from fitness.lenet import LeNet
from fitness.target import InputSpec
from fitness.training import as_unit_images

#: Steps of the stronger evaluation attack (at least; never fewer than training's).
STRONG_STEPS = 40


@dataclass(frozen=True)
class PgdAttack:
    """L-inf PGD with a random start: radius, number of steps and step size, in [0, 1] pixels."""

    epsilon: float
    steps: int
    step_size: float

    def strong(self) -> PgdAttack:
        """The evaluation attack: more steps of 2.5 epsilon / steps (Madry et al.)."""
        steps = max(STRONG_STEPS, self.steps)
        return PgdAttack(self.epsilon, steps, 2.5 * self.epsilon / steps)

    def at(self, epsilon: float) -> PgdAttack:
        """The same attack at another radius, its step size scaled with it (warm-up)."""
        return PgdAttack(epsilon, self.steps, self.step_size * epsilon / self.epsilon)

    def __call__(
        self,
        model: nn.Module,
        spec: InputSpec,
        images: torch.Tensor,
        labels: torch.Tensor,
        generator: torch.Generator,
    ) -> torch.Tensor:
        """Adversarial versions of ``images`` ([0, 1], NCHW) against the true ``labels``."""
        if self.epsilon == 0.0:
            return images
        lower = (images - self.epsilon).clamp_(0.0, 1.0)
        upper = (images + self.epsilon).clamp_(0.0, 1.0)
        start = torch.rand(images.shape, generator=generator, dtype=images.dtype)
        x = (images + (2.0 * start - 1.0) * self.epsilon).clamp_(0.0, 1.0)
        loss_fn = nn.CrossEntropyLoss(reduction="sum")
        for _ in range(self.steps):
            x.requires_grad_(True)
            with torch.enable_grad():
                loss = loss_fn(model(spec.prepare(x)), labels)
                (gradient,) = torch.autograd.grad(loss, x)
            moved = x.detach() + self.step_size * gradient.sign()
            x = torch.minimum(torch.maximum(moved, lower), upper)
        return x.detach()


def robust_accuracy(
    model: nn.Module,
    spec: InputSpec,
    images: np.ndarray,
    labels: np.ndarray,
    attack: PgdAttack,
    *,
    seed: int = 0,
    batch_size: int = 500,
) -> float:
    """Share of ``images`` still classified as ``labels`` under ``attack`` (seeded starts)."""
    x, y = as_unit_images(images, spec), torch.as_tensor(np.asarray(labels), dtype=torch.int64)
    if len(y) == 0:
        return float("nan")
    generator = torch.Generator().manual_seed(seed)
    model.eval()
    correct = 0
    for start in range(0, len(x), batch_size):
        piece = slice(start, start + batch_size)
        adversarial = attack(model, spec, x[piece], y[piece], generator)
        with torch.inference_mode():
            correct += int((model(spec.prepare(adversarial)).argmax(1) == y[piece]).sum())
    return correct / len(y)


class EpsilonSchedule:
    """The training attack of each batch: epsilon linear from 0 over ``warmup_epochs``, then
    the full radius (a :func:`fitness.training.train_classifier` perturbation)."""

    def __init__(
        self, attack: PgdAttack, warmup_epochs: int, batches_per_epoch: int, seed: int
    ) -> None:
        self.attack = attack
        self.warmup_batches = warmup_epochs * batches_per_epoch
        self.batch = 0
        self.generator = torch.Generator().manual_seed(seed + 1)  # not the shuffling stream

    def __call__(
        self, model: nn.Module, spec: InputSpec, images: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        """The batch's adversarial examples at this point of the schedule."""
        share = 1.0 if self.batch >= self.warmup_batches else self.batch / self.warmup_batches
        self.batch += 1
        attack = self.attack if share == 1.0 else self.attack.at(self.attack.epsilon * share)
        return attack(model, spec, images, labels, self.generator)


def pgd_trained_lenet(
    data: DigitData,
    spec: InputSpec,
    attack: PgdAttack,
    *,
    warmup_epochs: int,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    progress: bool = True,
) -> tuple[LeNet, dict[str, Any]]:
    """A LeNet trained on PGD examples of ``data``'s training digits, and its record: robust
    test accuracy under the training attack and under :meth:`PgdAttack.strong`."""
    from fitness.distillation import train_lenet

    batches = -(-len(data.train_labels) // batch_size)
    schedule = EpsilonSchedule(attack, min(warmup_epochs, epochs), batches, seed)
    model, history = train_lenet(
        spec,
        data.train_images,
        data.train_labels,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        progress=progress,
        description=f"PGD training mnist-lenet at epsilon {attack.epsilon:g}",
        perturb=schedule,
    )
    strong = attack.strong()
    test = (data.test_images, data.test_labels)
    return model, {
        "adversarial": "pgd",
        "pgd_attack": {**asdict(attack), "random_start": True},
        "pgd_test_accuracy": robust_accuracy(model, spec, *test, attack, seed=seed),
        "strong_pgd_attack": {**asdict(strong), "random_start": True},
        "strong_pgd_test_accuracy": robust_accuracy(model, spec, *test, strong, seed=seed),
        # On the training batches' adversarial examples, at the last epoch's radius.
        "train_adversarial_accuracy": history[-1]["accuracy"] if history else None,
    }
