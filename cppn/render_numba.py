"""CPU renderer, and the scalar pieces it shares with the CUDA kernel (cppn/render_cuda.py).

The kernel runs one parallel task per (genome, block of up to ``BLOCK`` pixels) and evaluates the
genome's program node by node over the block's contiguous pixels: node k's weighted input sum is
one loop per link, and its activation one loop per node, with the choice of activation made once
per node, outside the pixel loop. Every hot pixel loop is branch-free and call-free, so LLVM
vectorises it (AVX2 / AVX-512 where the CPU has them).

Libm's ``sin`` and ``exp`` are scalar calls that stop vectorisation, and Numba cannot use Intel's
SVML vector library here: Numba enables it only when ``llvmlite.binding.targets.has_svml()``, and
the PyPI llvmlite wheel's LLVM is not SVML-patched (``numba -s``: "llvmlite Using SVML Patched
LLVM: False", "SVML State: False"), so the ``icc_rt`` / ``intel-cmplr-lib-rt`` packages, which
only provide ``libsvml.so``, cannot change that. So sine and exp are written out here in
arithmetic: SLEEF's sine (reduction by multiples of pi in four parts, one odd polynomial) and exp
by ln 2 reduction and Taylor's series, both within 2.3e-16 of libm; ``2**n`` is built from its
bits (:func:`_bits_to_float`), and polynomial steps are fused multiply-adds (:func:`fma`).
Arguments where the reduction would lose accuracy (|x| > ``SINE_LIMIT``) are rare and recomputed
with ``math.sin`` in a fix-up loop that runs only for a block that has one. Functions use NumPy's
error model: Python's tests every divisor for zero, and that branch alone kept the exp loops
scalar. Per pixel, one thread, on the bench genomes' activations (AMD EPYC, a loaded machine, so
the ratios are the point): sine 13 -> 1.7 ns, sigmoid 11 -> 2.3 ns, gaussian 7 -> 2.2 ns.

Arithmetic stays float64 and the images float32. float32 arithmetic fails the 1e-5 parity with
neat-python's double-precision reference: evaluating the parity tests' genomes in float32 (NumPy,
6x7 grids) misses by 3.5e-5 to 6.7e-5 on the deep ones, 8.3e-4 to 3.0e-3 on the wide ones and up
to 1.3e-2 on the default ones with raw coordinates (CPPN weights reach +-10 and sine layers
amplify rounding errors), while this float64 kernel is within 3e-8 (the float32 rounding of its
output). float64 SIMD is still eight lanes an instruction with AVX-512. No fastmath flags: they
would let LLVM drop the NaN guards and reorder sums.

Shared with the CUDA kernel, as the very same ``numba.njit`` functions (numba-cuda compiles a CPU
``@jit`` function called from a kernel as a device function): the guard :func:`guard`, the
activations :func:`sine_reduced`, :func:`exp_limited`, :func:`bipolar_sigmoid`,
:func:`gaussian`, :func:`linear` (with :func:`sine` and :func:`activate`, the per-pixel forms the
GPU calls), :func:`fma`, and the colour functions :func:`to_byte`, :func:`hls_channel` and
:func:`pixel_channel`. They use ``math``, arithmetic and two LLVM intrinsics (a bit cast and
llvm.fma), which both targets compile. They are scalar twins of cppn.activations / cppn.color
(whose NumPy ufunc forms serve neat-python and the NumPy reference); tests hold them to those.

Results do not depend on the thread count: pixels are split into blocks by image size only, and
each pixel's value is computed by the same instructions whatever thread runs its block.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from llvmlite import ir
from numba import prange
from numba.core import cgutils, types
from numba.extending import intrinsic

from cppn.activations import Z_LIMIT
from cppn.color import COLOR_MODES, HUE_SECTORS_PER_BYTE, MODE_IDS
from cppn.profile import NUM_INPUTS
from cppn.program import PackedPrograms, ProgramArrays

#: Most pixels per task: the value buffer ((4 + nodes) x BLOCK float64) stays in L2.
BLOCK = 1024
#: Block lengths are multiples of this (eight float64 lanes of AVX-512), so that most pixels
#: fall in full vectors rather than the scalar tail.
LANES = 8

#: Largest |x| :func:`sine_reduced` takes (it is accurate well beyond; libm takes the rest).
SINE_LIMIT = 1.0e6

# sine: SLEEF's xsin (Boost Software License): x = q pi + r with pi in four parts, so that
# q * part is exact, and an odd polynomial for sin(r) on [-pi/2, pi/2].
_ONE_OVER_PI = 0.318309886183790671538
_PI_A = 3.1415926218032836914
_PI_B = 3.1786509424591713469e-08
_PI_C = 1.2246467864107188502e-16
_PI_D = 1.2736634327021899816e-24
_SIN = (
    -7.97255955009037868891952e-18,
    2.81009972710863200091251e-15,
    -7.64712219118158833288484e-13,
    1.60590430605664501629054e-10,
    -2.50521083763502045810755e-08,
    2.75573192239198747630416e-06,
    -0.000198412698412696162806809,
    0.00833333333333332974823815,
    -0.166666666666666657414808,
)
# exp: x = n ln 2 + s (ln 2 in two parts, SLEEF's), then Taylor's series of exp(s) to s^13:
# |s| <= ln(2) / 2, where the first term left out is below 4e-18.
_LOG2E = 1.4426950408889634073599
_LN2_HI = 0.69314718055966295651160180568695068359375
_LN2_LO = 0.28235290563031577122588448175013436025525412068e-12
_INV_FACTORIAL = tuple(1.0 / math.factorial(k) for k in range(14))
#: exp() below this is under 3.3e-308; returning 0 there keeps 2**n a normal number.
_EXP_MIN = -708.0
_EXP_MAX = 709.0

#: Every function here: cached, and with NumPy's error model, so that a float division is a plain
#: division (Python's model tests each divisor for zero to raise, and that branch stops
#: vectorisation; a zero divisor cannot occur here: 1 + exp() is positive). No fastmath: numba-cuda
#: copies these options when it compiles a function for the GPU, where fastmath would also drop
#: the NaN guards; products are fused with :func:`fma` where wanted instead.
_jit = numba.njit(cache=True, error_model="numpy")
#: The same, inlined by Numba into the caller: the kernel's steps take the programs record, and a
#: call passes its eight arrays field by field (about 70 words), measurably slower per node.
_inline = numba.njit(cache=True, error_model="numpy", inline="always")


@intrinsic
def _bits_to_float(typingctx, bits):  # noqa: ANN001, ANN202, ARG001 - Numba intrinsic
    """The float64 whose IEEE bits are the int64 ``bits`` (a register move on both targets)."""
    signature = types.float64(types.int64)

    def codegen(context, builder, sig, args):  # noqa: ANN001, ANN202, ARG001
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return signature, codegen


@intrinsic
def _llvm_fma(typingctx, a, b, c):  # noqa: ANN001, ANN202, ARG001 - Numba intrinsic
    """LLVM's llvm.fma.f64 (an intrinsic, so compiled code only: see :func:`fma`)."""
    signature = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, sig, args):  # noqa: ANN001, ANN202, ARG001
        double = ir.DoubleType()
        llvm_fma = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(double, (double, double, double)), "llvm.fma.f64"
        )
        return builder.call(llvm_fma, args)

    return signature, codegen


@numba.njit(cache=True, error_model="numpy", inline="always")
def fma(a: float, b: float, c: float) -> float:
    """a * b + c rounded once: one vfmadd on x86-64 CPUs with FMA, fma.rn.f64 on CUDA, so a
    polynomial step costs one instruction and rounds the same on both targets. A function, not
    the bare intrinsic, so that the CUDA simulator's Python kernels can call it (compiled);
    inlined by Numba itself, as LLVM left the calls in place and the loops scalar."""
    return _llvm_fma(a, b, c)


@_jit
def _nearest(v: float) -> int:
    """v rounded to a nearest integer (halves away from zero), as int64, branch-free."""
    return np.int64(v + (0.5 if v >= 0.0 else -0.5))


@_jit
def guard(z: float) -> float:
    """NaN -> 0 and clip to +-Z_LIMIT: cppn.activations' nan_to_num, branch-free."""
    z = z if z == z else 0.0
    return min(max(z, -Z_LIMIT), Z_LIMIT)


@_jit
def sine_reduced(x: float) -> float:
    """sin(x) for |x| <= SINE_LIMIT: x = q pi + r, sin(x) = (-1)^q sin(r)."""
    j = _nearest(x * _ONE_OVER_PI)
    q = float(j)
    r = fma(q, -_PI_A, x)
    r = fma(q, -_PI_B, r)
    r = fma(q, -_PI_C, r)
    r = fma(q, -_PI_D, r)
    s = r * r
    u = _SIN[0]
    for c in _SIN[1:]:  # unrolled by Numba: a tuple of constants
        u = fma(u, s, c)
    u = fma(s, u * r, r)
    return -u if (j & 1) != 0 else u


@_jit
def sine(z: float) -> float:
    """Activation 0, per pixel: sin(guard(z))."""
    x = guard(z)
    return sine_reduced(x) if abs(x) <= SINE_LIMIT else math.sin(x)


@_jit
def exp_limited(x: float) -> float:
    """exp(x) for x <= 709; 0 below -708, where exp(x) < 3.3e-308."""
    t = min(max(x, _EXP_MIN), _EXP_MAX)
    n = _nearest(t * _LOG2E)
    q = float(n)
    s = fma(q, -_LN2_HI, t)
    s = fma(q, -_LN2_LO, s)
    u = _INV_FACTORIAL[13]
    for k in range(12, 1, -1):
        u = fma(u, s, _INV_FACTORIAL[k])
    u = fma(s * s, u, s) + 1.0
    value = u * _bits_to_float((n + 1023) << 52)
    return value if x >= _EXP_MIN else 0.0


@_jit
def bipolar_sigmoid(z: float) -> float:
    """Activation 1: 2 / (1 + exp(-z)) - 1, z guarded and clipped to +-60."""
    x = min(max(guard(z), -60.0), 60.0)
    e = exp_limited(-x)
    return (1.0 - e) / (1.0 + e)  # = 2 / (1 + e) - 1, one operation fewer


@_jit
def gaussian(z: float) -> float:
    """Activation 2: exp(-z^2), z guarded and clipped to +-60."""
    x = min(max(guard(z), -60.0), 60.0)
    return exp_limited(-(x * x))


@_jit
def linear(z: float) -> float:
    """Activation 3: clip(z, -3, 3) / 3."""
    return min(max(guard(z), -3.0), 3.0) / 3.0


@_jit
def activate(activation: int, z: float) -> float:
    """Activation ``activation`` (id of cppn.activations.NAMES) of z, per pixel."""
    if activation == 0:
        return sine(z)
    if activation == 1:
        return bipolar_sigmoid(z)
    if activation == 2:
        return gaussian(z)
    return linear(z)


@_jit
def to_byte(v: float) -> float:
    """cppn.color.to_byte: floor(clip(|v|, 0, 1) * 255), NaN reads as 0."""
    v = v if v == v else 0.0
    return float(math.floor(min(abs(v), 1.0) * 255.0))


@_jit
def hls_channel(h_byte: float, l_byte: float, s_byte: float, hue_scale: float, n: float) -> float:
    """cppn.color.hls_channel for one pixel (k >= 0 here, so % is NumPy's mod)."""
    light = l_byte / 255.0
    a = (s_byte / 255.0) * min(light, 1.0 - light)
    k = (n + 2.0 * (h_byte * hue_scale)) % 12.0
    value = light - a * max(-1.0, min(min(k - 3.0, 9.0 - k), 1.0))
    return float(round(value * 255.0)) / 255.0  # round() is round-half-even, as np.rint


@_jit
def pixel_channel(mode: int, hue_scale: float, c: int, v0: float, v1: float, v2: float) -> float:
    """Channel ``c`` of a pixel whose outputs are v0 (v1, v2) in colour mode ``mode``
    (cppn.color.MODE_IDS: 0 raw outputs, 1 gray/rgb bytes, 2-3 8-bit HLS -> RGB);
    for modes 0-1, v0 is channel c's own output."""
    if mode == 0:
        return v0
    if mode == 1:
        return to_byte(v0) / 255.0
    n = 0.0 if c == 0 else (8.0 if c == 1 else 4.0)
    return hls_channel(to_byte(v0), to_byte(v1), to_byte(v2), hue_scale, n)


@_jit
def _activate_row(
    activation: int, bias: float, response: float, z: np.ndarray, dest: np.ndarray, count: int
) -> None:
    """dest[:count] = activation(bias + response * z[:count]), one vectorised loop."""
    if activation == 0:
        large = False
        for p in range(count):
            x = guard(fma(response, z[p], bias))
            dest[p] = sine_reduced(x)
            large |= abs(x) > SINE_LIMIT
        if large:  # rare: redo those pixels with libm's exact reduction
            for p in range(count):
                x = guard(fma(response, z[p], bias))
                if abs(x) > SINE_LIMIT:
                    dest[p] = math.sin(x)
    elif activation == 1:
        for p in range(count):
            dest[p] = bipolar_sigmoid(fma(response, z[p], bias))
    elif activation == 2:
        for p in range(count):
            dest[p] = gaussian(fma(response, z[p], bias))
    else:
        for p in range(count):
            dest[p] = linear(fma(response, z[p], bias))


@_jit
def _blocks(pixels: int) -> tuple[int, int]:
    """(blocks, pixels per block) for an image of ``pixels``: equal blocks of up to BLOCK pixels,
    a multiple of LANES each, rather than full ones and a short tail."""
    blocks = (pixels + BLOCK - 1) // BLOCK
    size = (pixels + blocks - 1) // blocks
    size = (size + LANES - 1) // LANES * LANES
    return (pixels + size - 1) // size, size


@_inline
def _node_sum(
    programs: ProgramArrays, g: int, k: int, values: np.ndarray, z: np.ndarray, count: int
) -> None:
    """z[:count] = node k's weighted input sum over the block, its links in order."""
    # Fields read once, before the loops (see cppn.genome_arrays).
    link_source, link_weight = programs.link_source, programs.link_weight
    first, last = programs.link_start[g, k], programs.link_start[g, k + 1]
    if first == last:  # a node without inputs: activation(bias)
        for p in range(count):
            z[p] = 0.0
    else:  # the first link sets the sum, so it needs no zeroing pass
        w = link_weight[g, first]
        source = values[link_source[g, first]]
        for p in range(count):
            z[p] = w * source[p]
    for link in range(first + 1, last):
        w = link_weight[g, link]
        source = values[link_source[g, link]]
        for p in range(count):
            z[p] = fma(w, source[p], z[p])


@_inline
def _evaluate_block(
    programs: ProgramArrays, g: int, grid: np.ndarray, start: int, count: int, values: np.ndarray
) -> None:
    """Genome g's value slots over pixels start:start + count: the inputs, then each node."""
    z = np.empty(values.shape[1], dtype=np.float64)
    for i in range(NUM_INPUTS):
        for p in range(count):
            values[i, p] = grid[i, start + p]
    for k in range(programs.num_nodes[g]):
        _node_sum(programs, g, k, values, z, count)
        _activate_row(
            programs.activation[g, k],
            programs.bias[g, k],
            programs.response[g, k],
            z,
            values[NUM_INPUTS + k],
            count,
        )


@_inline
def _write_block(
    output_slot: np.ndarray,
    values: np.ndarray,
    mode: int,
    hue_scale: float,
    out: np.ndarray,
    start: int,
    count: int,
) -> None:
    """The block's pixels of one image, ``out`` [C, P], from the value slots of its outputs
    (``output_slot``, [C]) in colour mode ``mode`` (see :func:`pixel_channel`)."""
    if mode == 0:
        for c in range(out.shape[0]):
            v = values[output_slot[c]]
            for p in range(count):
                out[c, start + p] = v[p]
    elif mode == 1:
        for c in range(out.shape[0]):
            v = values[output_slot[c]]
            for p in range(count):
                out[c, start + p] = to_byte(v[p]) / 255.0
    else:
        h = values[output_slot[0]]
        lum = values[output_slot[1]]
        s = values[output_slot[2]]
        for c in range(3):
            for p in range(count):
                out[c, start + p] = pixel_channel(mode, hue_scale, c, h[p], lum[p], s[p])


@_inline
def _render_task(
    task: int,
    blocks: int,
    size: int,
    programs: ProgramArrays,
    grid: np.ndarray,
    mode: int,
    hue_scale: float,
    out: np.ndarray,
) -> None:
    """One task: a block of one genome's pixels, evaluated and written into ``out``."""
    g = task // blocks
    start = (task % blocks) * size
    count = min(size, out.shape[2] - start)
    values = np.empty((NUM_INPUTS + programs.activation.shape[1], size), dtype=np.float64)
    _evaluate_block(programs, g, grid, start, count, values)
    _write_block(programs.output_slot[g], values, mode, hue_scale, out[g], start, count)


@numba.njit(parallel=True, cache=True, error_model="numpy")
def _render_kernel(
    programs: ProgramArrays, grid: np.ndarray, mode: int, hue_scale: float, out: np.ndarray
) -> None:
    """Every image of ``out`` [N, C, P] from the programs over ``grid`` [4, P], one parallel
    task per (genome, block of pixels)."""
    blocks, size = _blocks(out.shape[2])
    for task in prange(out.shape[0] * blocks):
        # Inlined, as a call per task cost 1-3% at 28x28: it reads the record, and writes only
        # into ``out`` and its own arrays, never through a record (see cppn.genome_arrays).
        _render_task(task, blocks, size, programs, grid, mode, hue_scale, out)


def _run(programs: PackedPrograms, grid: np.ndarray, mode: int, hue_scale: float) -> np.ndarray:
    out = np.empty((len(programs), programs.output_slot.shape[1], grid.shape[1]), np.float32)
    if len(programs):
        grid = np.ascontiguousarray(grid, dtype=np.float64)
        _render_kernel(programs.arrays(), grid, mode, hue_scale, out)
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
