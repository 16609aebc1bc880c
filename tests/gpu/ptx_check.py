"""Compile the CUDA kernel to PTX for a Hopper GPU on a machine without one (no driver needed).

Run by tests/gpu/test_gpu_render.py in a subprocess: it replaces numba-cuda's device query
(``get_current_device``, which device functions ask for their compute capability) with a fixed
sm_90 for this process only, so the kernel and the CPU ``@jit`` scalar functions it calls go
through CUDA typing, lowering and NVVM: what the simulator, which runs them as Python, does not
check. Prints "skip: <reason>" and exits 0 where numba-cuda or NVVM is missing.
"""

from __future__ import annotations

import sys
import types

SIGNATURE = (
    "void(int32[::1], int32[:, ::1], float64[:, ::1], float64[:, ::1], int32[:, ::1],"
    " int32[:, ::1], float64[:, ::1], int32[:, ::1], float64[:, ::1], int64, float64,"
    " float64[:, ::1], float32[:, :, ::1])"
)


def main() -> int:
    """Compile; 0 on success or skip, 1 on a compile error (traceback printed)."""
    try:
        import numba_cuda  # noqa: F401 - the NVIDIA-maintained target, not numba's built-in one
        from numba.cuda import dispatcher
    except ImportError as error:
        print(f"skip: numba-cuda is not installed ({error})")
        return 0
    dispatcher.get_current_device = lambda: types.SimpleNamespace(compute_capability=(9, 0))
    from numba import cuda

    from cppn import render_cuda

    try:
        ptx, _ = cuda.compile_ptx(render_cuda._render_kernel.py_func, SIGNATURE, cc=(9, 0))
    except Exception as error:  # NVVM missing shows up as one of several error types
        text = f"{type(error).__name__}: {error}"
        missing = ("nvvm", "nvrtc", "libdevice", "dynamiclibnotfound")
        if any(word in text.lower() for word in missing):
            print(f"skip: no NVVM to compile with ({text.splitlines()[0]})")
            return 0
        raise
    assert ".entry" in ptx
    print(f"ok: {len(ptx)} characters of PTX")
    return 0


if __name__ == "__main__":
    sys.exit(main())
