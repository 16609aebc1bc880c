"""Reference renderer: NumPy, one genome at a time, vectorised over pixels, float64."""

from __future__ import annotations

import numpy as np

from cppn import activations
from cppn.color import outputs_to_image
from cppn.profile import NUM_INPUTS
from cppn.program import PackedPrograms


def render_outputs(programs: PackedPrograms, grid: np.ndarray) -> np.ndarray:
    """Raw CPPN outputs, float64 [N, C, P], for input grid [4, P] (see cppn.image.input_grid)."""
    n, channels, pixels = len(programs), programs.output_slot.shape[1], grid.shape[1]
    out = np.empty((n, channels, pixels), dtype=np.float64)
    values = np.empty((NUM_INPUTS + programs.max_nodes, pixels), dtype=np.float64)
    values[:NUM_INPUTS] = grid
    with np.errstate(over="ignore", invalid="ignore"):
        for g in range(n):
            starts = programs.link_start[g]
            for k in range(programs.num_nodes[g]):
                z = np.zeros(pixels)
                for link in range(starts[k], starts[k + 1]):
                    z += programs.link_weight[g, link] * values[programs.link_source[g, link]]
                z = programs.bias[g, k] + programs.response[g, k] * z
                values[NUM_INPUTS + k] = activations.apply_numpy(programs.activation[g, k], z)
            out[g] = values[programs.output_slot[g]]
    return out


def render(
    programs: PackedPrograms, grid: np.ndarray, height: int, width: int, color: str
) -> np.ndarray:
    """Images float32 [N, C, height, width] in [0, 1]."""
    outputs = render_outputs(programs, grid)
    return outputs_to_image(outputs.reshape(len(programs), -1, height, width), color)
