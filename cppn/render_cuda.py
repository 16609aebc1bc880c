"""GPU renderer: one Numba CUDA kernel launch renders a whole population into a torch tensor.

A thread interprets a genome's program for one pixel at a time, node by node, and writes the
pixel's channels straight into the output tensor (through ``__cuda_array_interface__``, no host
copy of images); the launch's threads stride over every (genome, pixel) pair. A pixel's value
slots (4 inputs + the nodes) live in a device scratch array [slots, threads], the thread's own
column, so that a warp's accesses coalesce and no compile-time bound limits genome size (a CUDA
local array would need one, and reserve it for every thread). The launch goes on torch's
current stream, so it is ordered with the uploads before it and with whatever reads the images
after it, and the host never waits for it.

What is shared with the CPU kernel (cppn/render_numba.py): the scalar functions themselves,
numba.njit functions that numba-cuda compiles as device functions when this kernel calls them:
:func:`~cppn.render_numba.activate` (and through it the guard and the sine / exp approximations
the CPU kernel vectorises), :func:`~cppn.render_numba.fma`, and
:func:`~cppn.render_numba.pixel_channel` (8-bit quantisation and HLS -> RGB). A node is evaluated
by the same formula on both, activation(fma(response, sum, bias)) with the sum of weight * source
over its links accumulated in link order by fused multiply-adds, per pixel here and over rows of
pixels on the CPU; that loop is written in each kernel. CUDA may fuse a few more multiply-adds
than the CPU does (its compiler contracts by default), so the two agree to rounding, not bit for
bit, and an 8-bit level can differ where a value lies on a boundary.

The kernel is tested on machines without a GPU under Numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``, tests/gpu), where it runs as Python and calls the CPU-compiled
scalar functions. ``numba.cuda`` is imported when this module is, so import it only where the
GPU renderer is asked for.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import cuda
from numba.core import config

from cppn.color import COLOR_MODES, HUE_SECTORS_PER_BYTE, MODE_IDS
from cppn.profile import NUM_INPUTS
from cppn.program import PackedPrograms, ProgramArrays
from cppn.render_numba import activate, fma, pixel_channel


def restore_removed_numpy_aliases(numpy_module: Any = np) -> None:
    """Give NumPy back ``row_stack`` (an alias of ``vstack``) where NumPy 2.5+ removed it.

    numba-cuda (0.30.4 and earlier) registers an overload of ``np.row_stack`` when it first
    compiles a kernel; under NumPy 2.5 that raises AttributeError and no kernel compiles (seen on
    an H200 machine with NumPy 2.5.2). The alias is what NumPy itself defined until 2.4.
    """
    if not hasattr(numpy_module, "row_stack"):
        numpy_module.row_stack = numpy_module.vstack


restore_removed_numpy_aliases()

#: Threads per block.
THREADS = 128
#: At most this many blocks (about two resident waves on an H100's 132 SMs); threads stride over
#: the rest of the (genome, pixel) pairs. It bounds the scratch array: 2 MiB per value slot.
MAX_BLOCKS = 2048

# The simulator runs kernels as Python and has nothing to cache; real kernels cache their code.
_kernel_jit = cuda.jit if config.ENABLE_CUDASIM else cuda.jit(cache=True)


@_kernel_jit
def _render_kernel(programs, grid, mode, hue_scale, scratch, out):  # noqa: ANN001, ANN202
    # ``programs``: a ProgramArrays record of device arrays (a launch passes a tuple's fields as
    # separate kernel arguments). Reads only: a kernel writes into ``scratch`` and ``out``.
    n, channels, pixels = out.shape
    thread = cuda.grid(1)
    values = scratch[:, thread]  # this thread's value slots
    for index in range(thread, n * pixels, cuda.gridsize(1)):
        # Neighbouring threads take neighbouring pixels of one genome: the warp runs in step.
        g = index // pixels
        p = index - g * pixels
        for i in range(NUM_INPUTS):
            values[i] = grid[i, p]
        for k in range(programs.num_nodes[g]):
            total = 0.0
            for link in range(programs.link_start[g, k], programs.link_start[g, k + 1]):
                w, source = programs.link_weight[g, link], programs.link_source[g, link]
                total = fma(w, values[source], total)
            z = fma(programs.response[g, k], total, programs.bias[g, k])
            values[NUM_INPUTS + k] = activate(programs.activation[g, k], z)
        slot = programs.output_slot
        if mode >= 2:  # HLS: three outputs make three channels together
            h = values[slot[g, 0]]
            lum = values[slot[g, 1]]
            s = values[slot[g, 2]]
            for c in range(3):
                out[g, c, p] = pixel_channel(mode, hue_scale, c, h, lum, s)
        else:
            for c in range(channels):
                out[g, c, p] = pixel_channel(mode, hue_scale, c, values[slot[g, c]], 0.0, 0.0)


def _launch_shape(programs: PackedPrograms, pixels: int) -> tuple[int, tuple[int, int]]:
    """Blocks to launch, and the scratch array's shape [slots, threads] for them."""
    blocks = max(1, min(MAX_BLOCKS, math.ceil(len(programs) * pixels / THREADS)))
    return blocks, (NUM_INPUTS + programs.max_nodes, blocks * THREADS)


def _launch(
    programs: ProgramArrays,
    grid: Any,
    mode: int,
    hue_scale: float,
    scratch: Any,
    out: Any,
    stream: Any,
) -> None:
    """One launch over every (genome, pixel) of ``out`` [N, C, P], device arrays all."""
    blocks = scratch.shape[1] // THREADS
    _render_kernel[blocks, THREADS, stream](programs, grid, mode, hue_scale, scratch, out)


def _mode(color: str) -> tuple[int, float]:
    if color == "raw":
        return 0, 0.0
    if color not in COLOR_MODES:
        raise ValueError(f"color must be one of {COLOR_MODES}, got {color!r}")
    return MODE_IDS[color], HUE_SECTORS_PER_BYTE.get(color, 0.0)


def _render_tensor(
    programs: PackedPrograms, grid: np.ndarray, mode: int, hue_scale: float, device: Any
) -> Any:
    """float32 torch tensor [N, C, P] on CUDA ``device``: one launch on torch's current stream.

    The programs and the grid are uploaded with torch; the launch is not waited for (torch
    orders later work on the stream after it).
    """
    import torch

    device = torch.device(device)
    if device.type != "cuda":
        raise ValueError(f"the GPU renderer needs a CUDA device, got {device}")
    index = torch.cuda.current_device() if device.index is None else device.index
    device = torch.device("cuda", index)
    n, channels, pixels = len(programs), programs.output_slot.shape[1], grid.shape[1]
    out = torch.empty((n, channels, pixels), dtype=torch.float32, device=device)
    if n:
        # Copies (np.array) because the cached grid is read-only, which torch warns about.
        arrays = [torch.from_numpy(np.array(a)).to(device) for a in programs.arrays()]
        grid_t = torch.from_numpy(np.array(grid, dtype=np.float64)).to(device)
        _, shape = _launch_shape(programs, pixels)
        scratch = torch.empty(shape, dtype=torch.float64, device=device)
        with cuda.gpus[index]:
            stream = cuda.external_stream(torch.cuda.current_stream(device).cuda_stream)
            # sync=False: every array is used on the stream that produced it, so ordering holds
            # without the host-side synchronisation numba would otherwise do on import. Numba's
            # own device arrays: a kernel argument's tuple takes no other CUDA array.
            views = [cuda.as_cuda_array(a, sync=False) for a in (*arrays, grid_t, scratch, out)]
            record = ProgramArrays(*views[:-3])
            _launch(record, views[-3], mode, hue_scale, views[-2], views[-1], stream)
    return out


def render_outputs(programs: PackedPrograms, grid: np.ndarray, device: Any = "cuda") -> Any:
    """Raw CPPN outputs, float32 torch tensor [N, C, P] on CUDA ``device``."""
    return _render_tensor(programs, grid, 0, 0.0, device)


def render(
    programs: PackedPrograms,
    grid: np.ndarray,
    height: int,
    width: int,
    color: str,
    device: Any = "cuda",
) -> Any:
    """Images, float32 torch tensor [N, C, height, width] in [0, 1] on CUDA ``device``."""
    mode, hue_scale = _mode(color)
    out = _render_tensor(programs, grid, mode, hue_scale, device)
    return out.reshape(len(programs), -1, height, width)
