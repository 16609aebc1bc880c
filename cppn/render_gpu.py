"""GPU renderer: torch ops over the padded program batch; images stay on the device.

Every step evaluates node k of all genomes at once over all pixels: a gather of the node's input
slots ([N, F, P]), a weighted sum, and the activation chosen per genome with ``torch.where``.
Padding nodes compute values into slots no output reads. Arithmetic is float64 (see
cppn.render_numba for why); images are float32. torch is imported lazily, and the same code runs
on the CPU (``device="cpu"``), which is how it is tested on machines without a GPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cppn import activations
from cppn import color as color_module
from cppn.profile import NUM_INPUTS
from cppn.program import PackedPrograms

#: Upper bound on float64 elements of the value buffer per chunk of genomes (~1 GiB).
MAX_BUFFER_ELEMENTS = 1 << 27


def _apply(activation: Any, z: Any) -> Any:
    """Per-genome activation: activation [N, 1] int ids, z [N, P]."""
    import torch

    result = torch.zeros_like(z)
    for act_id in range(len(activations.NAMES)):
        chosen = activation == act_id
        # Skipping an unused function saves work on the CPU; on a GPU asking would stall the
        # queue (a device-to-host sync per node and function), which costs more than computing.
        if z.is_cuda or bool(chosen.any()):
            result = torch.where(chosen, activations.apply_torch(act_id, z), result)
    return result


def _render_chunk(
    programs: PackedPrograms, source: Any, weight: Any, grid: Any, lo: int, hi: int, device: Any
) -> Any:
    """Raw outputs float64 [hi - lo, C, P] for genomes lo..hi."""
    import torch

    n, pixels = hi - lo, grid.shape[1]
    k_max = programs.max_nodes
    as_t = lambda a, dt=torch.float64: torch.as_tensor(a[lo:hi], dtype=dt, device=device)  # noqa: E731
    act, bias, resp = (
        as_t(programs.activation, torch.int64),
        as_t(programs.bias),
        as_t(programs.response),
    )
    src, w = source[lo:hi], weight[lo:hi]
    values = torch.empty((n, NUM_INPUTS + k_max, pixels), dtype=torch.float64, device=device)
    values[:, :NUM_INPUTS] = grid
    for k in range(k_max):
        idx = src[:, k, :, None].expand(-1, -1, pixels)  # [n, F, P]
        z = (torch.gather(values, 1, idx) * w[:, k, :, None]).sum(dim=1)
        z = bias[:, k, None] + resp[:, k, None] * z
        values[:, NUM_INPUTS + k] = _apply(act[:, k, None], z)
    out_slot = torch.as_tensor(programs.output_slot[lo:hi], dtype=torch.int64, device=device)
    return torch.gather(values, 1, out_slot[:, :, None].expand(-1, -1, pixels))


def render_outputs(programs: PackedPrograms, grid: np.ndarray, device: Any = "cuda") -> Any:
    """Raw CPPN outputs, float64 torch tensor [N, C, P] on ``device``."""
    import torch

    source_np, weight_np = programs.dense_links()
    source = torch.as_tensor(source_np, device=device)
    weight = torch.as_tensor(weight_np, device=device)
    grid_t = torch.as_tensor(grid, dtype=torch.float64, device=device)
    per_genome = (NUM_INPUTS + programs.max_nodes + source_np.shape[2]) * grid.shape[1]
    chunk = max(1, MAX_BUFFER_ELEMENTS // max(per_genome, 1))
    parts = [
        _render_chunk(programs, source, weight, grid_t, lo, min(lo + chunk, len(programs)), device)
        for lo in range(0, len(programs), chunk)
    ]
    if not parts:
        channels = programs.output_slot.shape[1]
        return torch.empty((0, channels, grid.shape[1]), dtype=torch.float64, device=device)
    return torch.cat(parts)


def render(
    programs: PackedPrograms,
    grid: np.ndarray,
    height: int,
    width: int,
    color: str,
    device: Any = "cuda",
) -> Any:
    """Images, float32 torch tensor [N, C, height, width] in [0, 1] on ``device``."""
    out = render_outputs(programs, grid, device)
    return color_module.pixels_from_outputs(out, color).reshape(len(programs), -1, height, width)
