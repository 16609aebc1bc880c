"""One device resolver for targets and genomes: what "auto", "cpu", "cuda:N" and "host" mean.

The target runs on a torch device; direct genomes live either on the host (NumPy, Numba
kernels) or on a torch device beside the target, so the population never leaves the GPU.
"""

from __future__ import annotations

import torch

from fitness.target import TargetError

#: Genomes held as NumPy arrays on the host (direct encoding; Numba kernels).
HOST = "host"


def resolve_device(device: str, *, allow_host: bool = False) -> str:
    """A checked device name: "auto" is "cuda" when torch sees a GPU, else "cpu" (or "host"
    where ``allow_host``: genomes then stay NumPy arrays). A malformed name, or a CUDA device
    without a GPU, is a :class:`TargetError` (one line for the user)."""
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        return HOST if allow_host else "cpu"
    if allow_host and device == HOST:
        return HOST
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):  # torch's message lists every backend it knows
        resolved = None
    if resolved is None or resolved.type not in ("cpu", "cuda"):
        choices = "auto, host, cpu, cuda or cuda:N" if allow_host else "auto, cpu, cuda or cuda:N"
        raise TargetError(f"device must be {choices}, got {device!r}")
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise TargetError(f"device {device!r} asked for, but no CUDA GPU is available")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise TargetError(
                f"device {device!r} asked for, but this machine has "
                f"{torch.cuda.device_count()} CUDA GPU(s)"
            )
    return device


def genome_device(target_device: str) -> str:
    """Where direct genomes live for a target on ``target_device`` ("auto", "cpu", "cuda:N"):
    with it on a GPU, so the population never leaves the device; on the host for a CPU target."""
    return HOST if target_device == "cpu" else target_device
