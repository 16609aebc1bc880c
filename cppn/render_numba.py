"""CPU renderer, and the scalar pieces it shares with the CUDA kernel (cppn/render_cuda.py).

The kernel runs one parallel task per (genome, block of ``BLOCK`` pixels) and evaluates the
genome's program node by node over the block's contiguous pixels: node k's weighted input sum is
one loop per link, and its activation is one loop per node, with the choice of activation made
once per node, outside the pixel loop. Every pixel loop is branch-free and call-free, so LLVM
vectorises it (AVX2 / AVX-512 where the CPU has them).

Libm's ``sin`` and ``exp`` are scalar calls that stop vectorisation, and Numba here cannot use
Intel's SVML vector library (the llvmlite wheel's LLVM is not SVML-patched: ``numba -s`` reports
"llvmlite Using SVML Patched LLVM: False", so installing ``icc_rt`` / ``intel-cmplr-lib-rt``
changes nothing). So sine and exp are written out here as Cephes' double-precision
approximations (Cody-Waite argument reduction and a polynomial, a few ulp from libm), in
arithmetic only; ``2**n`` is built from its bits by :func:`_bits_to_float`. Arguments where the
reduction loses accuracy (|x| > ``SINE_LIMIT``) are rare and recomputed with ``math.sin`` in a
fix-up loop that runs only when a block has one.

Arithmetic stays float64 and the images float32: CPPN weights reach +-10 and sine layers
amplify rounding errors, so float32 arithmetic drifts from neat-python's double-precision
reference on deep genomes beyond the 1e-5 the parity tests allow (measured for this module:
up to 4e-3 on the deep test genomes), while float64 SIMD is still eight lanes with AVX-512. No
fastmath flags: they would let LLVM drop the NaN guards and reorder sums.

Shared with the CUDA kernel, as the very same ``numba.njit`` functions (numba-cuda compiles a
CPU ``@jit`` function called from a kernel as a device function): the activation guard
:func:`guard`, the activations :func:`sine_reduced`, :func:`exp_limited`,
:func:`bipolar_sigmoid`, :func:`gaussian`, :func:`linear` (with :func:`sine` and
:func:`activate` the per-pixel forms the GPU calls), and the colour functions :func:`to_byte`,
:func:`hls_channel` and :func:`pixel_channel`. They use ``math`` and arithmetic only, which both
targets compile. They are scalar twins of cppn.activations / cppn.color (whose NumPy ufunc forms
serve neat-python and the NumPy reference); the parity tests hold them to those.
Results do not depend on the thread count: pixels are split into blocks by image size only, and
each pixel's value is computed by the same instructions whatever thread runs its block.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange
from numba.core import types
from numba.extending import intrinsic

from cppn.activations import Z_LIMIT
from cppn.color import COLOR_MODES, HUE_SECTORS_PER_BYTE, MODE_IDS
from cppn.profile import NUM_INPUTS
from cppn.program import PackedPrograms

#: Most pixels per task: the value buffer ((4 + nodes) x BLOCK float64) stays in L2.
BLOCK = 1024
#: Block lengths are multiples of this (eight float64 lanes of AVX-512), so that most pixels
#: fall in full vectors rather than the scalar tail.
LANES = 8

#: Largest |x| :func:`sine_reduced` takes: the reduction's multiples of pi/4 stay exact.
SINE_LIMIT = 1.0e6

# Cephes sin.c: pi/4 in three parts (the first two with trailing zero bits, so j * part is
# exact), 4/pi, and the sine and cosine polynomials on [-pi/4, pi/4].
_DP1 = 7.85398125648498535156e-1
_DP2 = 3.77489470793079817668e-8
_DP3 = 2.69515142907905952645e-15
_FOUR_OVER_PI = 1.27323954473516268615
_S0, _S1, _S2 = 1.58962301576546568060e-10, -2.50507477628578072866e-8, 2.75573136213857245213e-6
_S3, _S4, _S5 = -1.98412698295895385996e-4, 8.33333333332211858878e-3, -1.66666666666666307295e-1
_C0, _C1, _C2 = -1.13585365213876817300e-11, 2.08757008419747316778e-9, -2.75573141792967388112e-7
_C3, _C4, _C5 = 2.48015872888517045348e-5, -1.38888888888730564116e-3, 4.16666666666665929218e-2
# Cephes exp.c: ln 2 in two parts, and the rational approximation's coefficients.
_LOG2E = 1.4426950408889634073599
_LN2_HI = 6.93145751953125e-1
_LN2_LO = 1.42860682030941723212e-6
_P0, _P1, _P2 = 1.26177193074810590878e-4, 3.02994407707441961300e-2, 9.99999999999999999910e-1
_Q0, _Q1 = 3.00198505138664455042e-6, 2.52448340349684104192e-3
_Q2, _Q3 = 2.27265548208155028766e-1, 2.00000000000000000009e0
#: exp() below this is under 3.3e-308; returning 0 there keeps 2**n a normal number.
_EXP_MIN = -708.0
_EXP_MAX = 709.0

#: Every function here: cached, and with NumPy's error model, so that a float division is a plain
#: division (Python's model tests each divisor for zero to raise, and that branch stops
#: vectorisation; a zero divisor cannot occur here: 1 + exp() and q - p are positive).
_jit = numba.njit(cache=True, error_model="numpy")


@intrinsic
def _bits_to_float(typingctx, bits):  # noqa: ANN001, ANN202, ARG001 - Numba intrinsic
    """The float64 whose IEEE bits are the int64 ``bits`` (a register move on both targets)."""
    signature = types.float64(types.int64)

    def codegen(context, builder, sig, args):  # noqa: ANN001, ANN202, ARG001
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return signature, codegen


@_jit
def guard(z: float) -> float:
    """NaN -> 0 and clip to +-Z_LIMIT: cppn.activations' nan_to_num, branch-free."""
    z = z if z == z else 0.0
    return min(max(z, -Z_LIMIT), Z_LIMIT)


@_jit
def sine_reduced(x: float) -> float:
    """sin(x) for |x| <= SINE_LIMIT (Cephes): x = j pi/4 + r, then sin or cos of r by octant."""
    a = abs(x)
    j = np.int64(a * _FOUR_OVER_PI)
    j += j & 1  # even octant index: r in [-pi/4, pi/4]
    y = float(j)
    r = ((a - y * _DP1) - y * _DP2) - y * _DP3
    rr = r * r
    sin_poly = ((((_S0 * rr + _S1) * rr + _S2) * rr + _S3) * rr + _S4) * rr + _S5
    cos_poly = ((((_C0 * rr + _C1) * rr + _C2) * rr + _C3) * rr + _C4) * rr + _C5
    s = r + r * rr * sin_poly
    c = 1.0 - 0.5 * rr + rr * rr * cos_poly
    # Octant 2 or 6 (mod 8): the cosine; octant 4 or 6: the negation (bit tests, not a
    # short-circuit "or", whose branch would stop vectorisation).
    value = c if (j & 2) != 0 else s
    return -value if (x < 0.0) != ((j & 4) != 0) else value


@_jit
def sine(z: float) -> float:
    """Activation 0, per pixel: sin(guard(z))."""
    x = guard(z)
    return sine_reduced(x) if abs(x) <= SINE_LIMIT else math.sin(x)


@_jit
def exp_limited(x: float) -> float:
    """exp(x) for x <= 709 (Cephes); 0 below -708, where exp(x) < 3.3e-308."""
    t = min(max(x, _EXP_MIN), _EXP_MAX)
    n = math.floor(_LOG2E * t + 0.5)
    fn = float(n)
    r = (t - fn * _LN2_HI) - fn * _LN2_LO
    rr = r * r
    p = r * ((_P0 * rr + _P1) * rr + _P2)
    q = ((_Q0 * rr + _Q1) * rr + _Q2) * rr + _Q3
    mantissa = 1.0 + 2.0 * (p / (q - p))
    value = mantissa * _bits_to_float(np.int64(n + 1023) << 52)
    return value if x >= _EXP_MIN else 0.0


@_jit
def bipolar_sigmoid(z: float) -> float:
    """Activation 1: 2 / (1 + exp(-z)) - 1, z guarded and clipped to +-60."""
    x = min(max(guard(z), -60.0), 60.0)
    return 2.0 / (1.0 + exp_limited(-x)) - 1.0


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
        large = 0
        for p in range(count):
            x = guard(bias + response * z[p])
            dest[p] = sine_reduced(x)
            large |= abs(x) > SINE_LIMIT
        if large:  # rare: redo those pixels with libm's exact reduction
            for p in range(count):
                x = guard(bias + response * z[p])
                if abs(x) > SINE_LIMIT:
                    dest[p] = math.sin(x)
    elif activation == 1:
        for p in range(count):
            dest[p] = bipolar_sigmoid(bias + response * z[p])
    elif activation == 2:
        for p in range(count):
            dest[p] = gaussian(bias + response * z[p])
    else:
        for p in range(count):
            dest[p] = linear(bias + response * z[p])


@numba.njit(parallel=True, cache=True, error_model="numpy")
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
):  # noqa: ANN001, ANN202
    n, channels, pixels = out.shape
    max_nodes = activation.shape[1]
    # Equal blocks (up to LANES) rather than full ones and a short tail.
    blocks = (pixels + BLOCK - 1) // BLOCK
    size = (pixels + blocks - 1) // blocks
    size = (size + LANES - 1) // LANES * LANES
    blocks = (pixels + size - 1) // size
    for task in prange(n * blocks):
        g = task // blocks
        start = (task % blocks) * size
        count = min(size, pixels - start)
        values = np.empty((NUM_INPUTS + max_nodes, size), dtype=np.float64)
        z = np.empty(size, dtype=np.float64)
        for i in range(NUM_INPUTS):
            for p in range(count):
                values[i, p] = grid[i, start + p]
        for k in range(num_nodes[g]):
            first, last = link_start[g, k], link_start[g, k + 1]
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
                    z[p] += w * source[p]
            _activate_row(
                activation[g, k], bias[g, k], response[g, k], z, values[NUM_INPUTS + k], count
            )
        if mode == 0:
            for c in range(channels):
                v = values[output_slot[g, c]]
                for p in range(count):
                    out[g, c, start + p] = v[p]
        elif mode == 1:
            for c in range(channels):
                v = values[output_slot[g, c]]
                for p in range(count):
                    out[g, c, start + p] = to_byte(v[p]) / 255.0
        else:
            h = values[output_slot[g, 0]]
            lum = values[output_slot[g, 1]]
            s = values[output_slot[g, 2]]
            for c in range(3):
                for p in range(count):
                    out[g, c, start + p] = pixel_channel(mode, hue_scale, c, h[p], lum[p], s[p])


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
