"""The pieces of a gradient step on images: quantisation to 8 bits, steepest-ascent directions,
projection onto an epsilon ball, and Gaussian blur. Tensors are float32 ``[N, C, H, W]`` in [0, 1].
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

NORMS = ("linf", "l2")


def eight_bit_codes(images: torch.Tensor, origin: torch.Tensor | None = None) -> torch.Tensor:
    """The 8-bit codes (0..255, as floats) that ``images`` are saved as.

    Without ``origin``: rounded to the nearest code. With ``origin`` (8-bit images, the PGD
    starts): the change from the origin is rounded towards zero, so each pixel's change never
    grows and the saved image stays inside any L-inf or L2 ball around the origin.
    """
    if origin is None:
        return torch.round(images.clamp(0.0, 1.0) * 255.0)
    start = torch.round(origin * 255.0)
    return (start + torch.trunc((images - origin) * 255.0)).clamp(0.0, 255.0)


def straight_through(images: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """The 8-bit images ``codes / 255`` in the forward pass, with the gradient passing to
    ``images`` unchanged (straight-through estimator): the model scores exactly the image
    that is saved, while the continuous image keeps accumulating small steps."""
    return images + (codes / 255.0 - images).detach()


def ascent_direction(gradient: torch.Tensor, norm: str) -> torch.Tensor:
    """The steepest-ascent step of length 1 under ``norm``: sign(g) for L-inf, g / ||g||_2 per
    image for L2 (a zero gradient gives no step)."""
    if norm == "linf":
        return gradient.sign()
    length = gradient.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
    return gradient / length


def project(images: torch.Tensor, origin: torch.Tensor, epsilon: float, norm: str) -> torch.Tensor:
    """The nearest image within ``epsilon`` of ``origin`` under ``norm``, clipped to [0, 1]."""
    delta = images - origin
    if norm == "linf":
        delta = delta.clamp(-epsilon, epsilon)
    else:
        length = delta.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
        delta = delta * torch.where(length > epsilon, epsilon / length.clamp_min(1e-12), 1.0)
    return (origin + delta).clamp(0.0, 1.0)


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur (kernel radius 3 sigma, reflected borders); sigma 0 is none."""
    if sigma <= 0:
        return images
    radius = max(1, math.ceil(3.0 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = kernel / kernel.sum()
    channels = images.shape[1]
    height, width = images.shape[-2:]
    x = images
    if radius < width:
        x = F.pad(x, (radius, radius, 0, 0), mode="reflect")
    else:
        x = F.pad(x, (radius, radius, 0, 0), mode="replicate")
    x = F.conv2d(x, kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1), groups=channels)
    mode = "reflect" if radius < height else "replicate"
    x = F.pad(x, (0, 0, radius, radius), mode=mode)
    return F.conv2d(x, kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), groups=channels)
