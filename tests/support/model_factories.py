"""Small models for the ``package.module:factory`` target tests."""

from __future__ import annotations

import torch
from torch import nn

from fitness.lenet import LeNet


def lenet() -> nn.Module:
    """An untrained LeNet (weights come from --weights)."""
    return LeNet()


def nan_model() -> nn.Module:
    """A model whose outputs are NaN for any input (a broken classifier)."""

    class NanModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(784, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.linear(x.flatten(1)) * float("nan")

    return NanModel()


def not_a_module() -> str:
    """A factory that returns something that is not a model."""
    return "not a model"


class _Flaky(nn.Module):
    """LeNet-sized inputs; sound outputs for the first ``good_calls`` forward passes, then
    ``broken(outputs)`` (a model that starts to misbehave mid-run)."""

    def __init__(self, good_calls: int, broken, softmax: bool = False) -> None:  # noqa: ANN001
        super().__init__()
        self.linear = nn.Linear(784, 10)
        self.good_calls, self.broken, self.softmax, self.calls = good_calls, broken, softmax, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.linear(x.flatten(1))
        out = out.softmax(dim=1) if self.softmax else out
        self.calls += 1
        return out if self.calls <= self.good_calls else self.broken(out)


def drops_a_row_later() -> nn.Module:
    """Sound at load, then returns one row fewer than the batch."""
    return _Flaky(2, lambda out: out[1:])


def nan_later() -> nn.Module:
    """Sound at load, then NaN for every image."""
    return _Flaky(2, lambda out: out * float("nan"))


def sigmoid_probabilities() -> nn.Module:
    """Per-class sigmoids: each in [0, 1], but a row does not sum to 1 (not a distribution)."""
    return _Flaky(0, torch.sigmoid)


def softmax_probabilities() -> nn.Module:
    """A sound probability model (softmax outputs)."""
    return _Flaky(10**9, lambda out: out, softmax=True)


def thousand_classes() -> nn.Module:
    """1000 outputs for 8x8 grey images: an ImageNet-sized archive that is cheap to fill."""
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 1000))


def no_gradient() -> nn.Module:
    """Sound outputs that carry no gradient (its forward pass runs under ``no_grad``), as a
    model exported for inference only may: ``--gradients`` must refuse it."""

    class Frozen(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(784, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                return self.linear(x.flatten(1))

    return Frozen()
