"""Small models for the retraining study's ``package.module:factory`` tests."""

from __future__ import annotations

from torch import nn


def tiny_cnn(num_classes: int = 3) -> nn.Module:
    """A small CNN for 3x12x12 RGB images with ``num_classes`` outputs."""
    return nn.Sequential(
        nn.Conv2d(3, 8, kernel_size=3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(8 * 5 * 5, num_classes),
    )
