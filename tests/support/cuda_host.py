"""The CUDA render kernel driven from host arrays, for the tests under Numba's CUDA simulator
(where torch has no CUDA tensors). Import it only after ``NUMBA_ENABLE_CUDASIM`` is set."""

from __future__ import annotations

import numpy as np
from numba import cuda

from cppn import render_cuda
from cppn.program import PackedPrograms, ProgramArrays


def render_host(programs: PackedPrograms, grid: np.ndarray, color: str = "raw") -> np.ndarray:
    """float32 [N, C, P] through the kernel, with Numba's own device arrays. ``color`` "raw"
    gives the raw outputs, else one of cppn.color.COLOR_MODES."""
    mode, hue_scale = render_cuda._mode(color)
    out = np.zeros((len(programs), programs.output_slot.shape[1], grid.shape[1]), np.float32)
    if len(programs):
        stream = cuda.stream()
        arrays = ProgramArrays(*(cuda.to_device(a, stream=stream) for a in programs.arrays()))
        grid_d = cuda.to_device(np.ascontiguousarray(grid, dtype=np.float64), stream=stream)
        out_d = cuda.to_device(out, stream=stream)
        _, shape = render_cuda._launch_shape(programs, grid.shape[1])
        scratch = cuda.device_array(shape, dtype=np.float64, stream=stream)
        render_cuda._launch(arrays, grid_d, mode, hue_scale, scratch, out_d, stream)
        out = out_d.copy_to_host(stream=stream)
        stream.synchronize()
    return out
