"""CPU renderer: one Numba kernel over (genome, block of pixels), the population at once.

Each parallel task evaluates one genome's program on a block of pixels, node by node, so the
inner loops run over contiguous pixels. Values are computed in float64 and stored as float32:
CPPN weights reach +-10 and sine layers amplify rounding errors, so float32 arithmetic drifts
visibly from neat-python's double-precision reference on deep genomes (see the parity tests),
while float64 costs little on a CPU (measured in scripts/bench_render.py).
The activation and colour functions are those of cppn.activations and cppn.color, compiled.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from cppn import activations
from cppn.color import COLOR_MODES, HUE_SECTORS_PER_BYTE, MODE_IDS, hls_channel, to_byte
from cppn.profile import NUM_INPUTS
from cppn.program import PackedPrograms

_sine = numba.njit(cache=True)(activations.sine)
_bipolar_sigmoid = numba.njit(cache=True)(activations.bipolar_sigmoid)
_gaussian = numba.njit(cache=True)(activations.gaussian)
_linear = numba.njit(cache=True)(activations.linear)
_to_byte = numba.njit(cache=True)(to_byte)
_hls_channel = numba.njit(cache=True)(hls_channel)

#: Pixels per task: small enough for the value buffer to stay in cache.
BLOCK = 256


@numba.njit(cache=True)
def _activate(
    activation: int, bias: float, response: float, z: np.ndarray, dest: np.ndarray, count: int
) -> None:
    # The branch sits outside the pixel loop so each loop is a tight one.
    if activation == 0:
        for p in range(count):
            dest[p] = _sine(bias + response * z[p])
    elif activation == 1:
        for p in range(count):
            dest[p] = _bipolar_sigmoid(bias + response * z[p])
    elif activation == 2:
        for p in range(count):
            dest[p] = _gaussian(bias + response * z[p])
    else:
        for p in range(count):
            dest[p] = _linear(bias + response * z[p])


@numba.njit(parallel=True, cache=True, fastmath=False)
def _render_kernel(
    num_nodes,
    activation,
    bias,
    response,
    link_start,
    link_source,
    link_weight,
    output_slot,
    grid,
    mode,
    hue_scale,
    out,
):  # noqa: ANN001
    n, channels, pixels = out.shape
    max_nodes = activation.shape[1]
    blocks = (pixels + BLOCK - 1) // BLOCK
    for task in prange(n * blocks):
        g = task // blocks
        start = (task % blocks) * BLOCK
        count = min(BLOCK, pixels - start)
        values = np.empty((NUM_INPUTS + max_nodes, BLOCK), dtype=np.float64)
        z = np.empty(BLOCK, dtype=np.float64)
        for i in range(NUM_INPUTS):
            for p in range(count):
                values[i, p] = grid[i, start + p]
        for k in range(num_nodes[g]):
            for p in range(count):
                z[p] = 0.0
            for link in range(link_start[g, k], link_start[g, k + 1]):
                w = link_weight[g, link]
                source = values[link_source[g, link]]
                for p in range(count):
                    z[p] += w * source[p]
            _activate(
                activation[g, k], bias[g, k], response[g, k], z, values[NUM_INPUTS + k], count
            )
        for p in range(count):
            if mode == 0:  # raw outputs
                for c in range(channels):
                    out[g, c, start + p] = values[output_slot[g, c], p]
            elif mode == 1:  # gray / rgb
                for c in range(channels):
                    out[g, c, start + p] = _to_byte(values[output_slot[g, c], p]) / 255.0
            else:  # 8-bit HLS -> RGB
                h = _to_byte(values[output_slot[g, 0], p])
                lum = _to_byte(values[output_slot[g, 1], p])
                s = _to_byte(values[output_slot[g, 2], p])
                out[g, 0, start + p] = _hls_channel(h, lum, s, hue_scale, 0.0)
                out[g, 1, start + p] = _hls_channel(h, lum, s, hue_scale, 8.0)
                out[g, 2, start + p] = _hls_channel(h, lum, s, hue_scale, 4.0)


def _run(programs: PackedPrograms, grid: np.ndarray, mode: int, hue_scale: float) -> np.ndarray:
    out = np.empty((len(programs), programs.output_slot.shape[1], grid.shape[1]), np.float32)
    if len(programs):
        _render_kernel(
            programs.num_nodes,
            programs.activation,
            programs.bias,
            programs.response,
            programs.link_start,
            programs.link_source,
            programs.link_weight,
            programs.output_slot,
            np.ascontiguousarray(grid, dtype=np.float64),
            mode,
            hue_scale,
            out,
        )
    return out


def render_outputs(programs: PackedPrograms, grid: np.ndarray) -> np.ndarray:
    """Raw CPPN outputs, float32 [N, C, P], for input grid [4, P]."""
    return _run(programs, grid, 0, 0.0)


def render(
    programs: PackedPrograms, grid: np.ndarray, height: int, width: int, color: str
) -> np.ndarray:
    """Images float32 [N, C, height, width] in [0, 1]."""
    if color not in COLOR_MODES:
        raise ValueError(f"color must be one of {COLOR_MODES}, got {color!r}")
    out = _run(programs, grid, MODE_IDS[color], HUE_SECTORS_PER_BYTE.get(color, 0.0))
    return out.reshape(len(programs), -1, height, width)
