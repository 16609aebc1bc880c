"""The paper's four CPPN activation functions, defined once for every evaluator.

Each function is written with NumPy ufuncs only, so the *same source* serves three callers:
neat-python's per-pixel ``FeedForwardNetwork`` (Python floats in, NumPy scalars out), the NumPy
reference renderer (whole arrays), and Numba (``numba.njit`` compiles these very functions; the
renderers' vectorised kernels hold scalar twins of them, cppn.render_numba). The torch versions,
for the differentiable renderer, live in :func:`apply_torch` below and are checked against these
by the tests.

Guards, identical everywhere (spelled out in each function: Numba compiles each one alone):
a NaN input is read as 0 (it can only come from ``inf - inf`` in a
sum), infinities are clipped to +-``Z_LIMIT`` before any transcendental, and the sigmoid clips its
argument to +-60 where it is already +-1 to double precision, so ``exp`` never overflows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

#: Inputs beyond this magnitude are clipped (keeps sin() defined for +-inf).
Z_LIMIT = 1.0e30


def sine(z: Any) -> Any:
    """sin(z)."""
    z = np.nan_to_num(z, nan=0.0, posinf=Z_LIMIT, neginf=-Z_LIMIT)
    return np.sin(z)


def bipolar_sigmoid(z: Any) -> Any:
    """2 / (1 + exp(-z)) - 1, in (-1, 1)."""
    z = np.nan_to_num(z, nan=0.0, posinf=Z_LIMIT, neginf=-Z_LIMIT)
    z = np.minimum(np.maximum(z, -60.0), 60.0)
    return 2.0 / (1.0 + np.exp(-z)) - 1.0


def gaussian(z: Any) -> Any:
    """exp(-z^2), in (0, 1]."""
    z = np.nan_to_num(z, nan=0.0, posinf=Z_LIMIT, neginf=-Z_LIMIT)
    z = np.minimum(np.maximum(z, -60.0), 60.0)  # exp(-3600) is already 0.0
    return np.exp(-(z * z))


def linear(z: Any) -> Any:
    """clip(z, -3, 3) / 3, in [-1, 1]."""
    z = np.nan_to_num(z, nan=0.0, posinf=Z_LIMIT, neginf=-Z_LIMIT)
    return np.minimum(np.maximum(z, -3.0), 3.0) / 3.0


#: Activation names in id order; the id is what compiled programs store.
NAMES: tuple[str, ...] = ("sine", "bipolar_sigmoid", "gaussian", "linear")
FUNCTIONS: tuple[Callable[[Any], Any], ...] = (sine, bipolar_sigmoid, gaussian, linear)
IDS: dict[str, int] = {name: i for i, name in enumerate(NAMES)}


def register(genome_config: Any) -> None:
    """Register the four activations with a neat-python ``DefaultGenomeConfig``."""
    for name, function in zip(NAMES, FUNCTIONS, strict=True):
        genome_config.add_activation(name, function)


def apply_numpy(activation_id: int, z: np.ndarray) -> np.ndarray:
    """Apply activation ``activation_id`` to an array."""
    return FUNCTIONS[activation_id](z)


def apply_torch(activation_id: int, z: Any) -> Any:
    """Torch twin of :data:`FUNCTIONS` (same guards), for the differentiable renderer
    (:mod:`cppn.render_torch`).

    The sigmoid is written as the compiled renderers compute it (:mod:`cppn.render_numba`),
    (1 - e) / (1 + e) with e = exp(-z), not 2 / (1 + e) - 1: the two differ by an ulp, and for
    |z| between 36.7 and 37.4 that ulp is an 8-bit level (Numba's 0.9999999999999999 floors to
    254 where 1.0 gives 255), so a differentiable image would not be the image the archive keeps.
    """
    import torch

    z = torch.nan_to_num(z, nan=0.0, posinf=Z_LIMIT, neginf=-Z_LIMIT)
    if activation_id == 0:
        return torch.sin(z)
    if activation_id == 1:
        e = torch.exp(-z.clamp(-60.0, 60.0))
        return (1.0 - e) / (1.0 + e)
    if activation_id == 2:
        z = z.clamp(-60.0, 60.0)
        return torch.exp(-(z * z))
    if activation_id == 3:
        return z.clamp(-3.0, 3.0) / 3.0
    raise ValueError(f"unknown activation id {activation_id}")
