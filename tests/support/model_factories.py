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
