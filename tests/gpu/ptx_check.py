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


def signature():  # noqa: ANN201 - a Numba signature
    """The kernel's argument types: the programs record (PackedPrograms' dtypes), the grid, the
    colour mode, the hue scale, the scratch array and the output."""
    from numba.core import types as nb

    from cppn.program import ProgramArrays

    def array(dtype, ndim):  # noqa: ANN001, ANN202
        return nb.Array(dtype, ndim, "C")

    i32, f64 = nb.int32, nb.float64
    fields = (array(i32, 1), array(i32, 2), array(f64, 2), array(f64, 2), array(i32, 2),
              array(i32, 2), array(f64, 2), array(i32, 2))  # fmt: skip
    programs = nb.NamedTuple(fields, ProgramArrays)
    return nb.void(programs, array(f64, 2), nb.int64, f64, array(f64, 2), array(nb.float32, 3))


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
        ptx, _ = cuda.compile_ptx(render_cuda._render_kernel.py_func, signature(), cc=(9, 0))
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
