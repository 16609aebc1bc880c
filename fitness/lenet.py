"""The paper's MNIST network: Caffe's LeNet."""

from __future__ import annotations

import torch
from torch import nn


class LeNet(nn.Module):
    """conv 20@5x5, max-pool 2, conv 50@5x5, max-pool 2, fc 500, ReLU, fc ``num_classes``.

    As in Caffe's LeNet there is no ReLU after the convolutions. ``num_classes`` is 11 when the
    retraining study adds a "fooling" class.
    """

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, kernel_size=5)
        self.conv2 = nn.Conv2d(20, 50, kernel_size=5)
        self.fc1 = nn.Linear(50 * 4 * 4, 500)
        self.fc2 = nn.Linear(500, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of 1x28x28 images."""
        x = nn.functional.max_pool2d(self.conv1(x), 2)
        x = nn.functional.max_pool2d(self.conv2(x), 2)
        x = torch.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)
