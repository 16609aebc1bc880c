"""Per-child random streams for compiled (Numba) kernels: SplitMix64 and the draws built on it.

A batch kernel gives each child its own stream, seeded by one draw of the run's NumPy Generator
(:func:`child_seeds`), so children can be processed in parallel and the result does not depend
on the thread count or order. A stream is a one-element ``uint64`` array holding its state.
"""

from __future__ import annotations

import numba
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
#: What :func:`geometric` returns for "no success ever": past any array index, far from overflow.
NEVER = 1 << 62


def child_seeds(rng: np.random.Generator, n: int) -> np.ndarray:
    """One ``uint64`` seed per child: a single ``rng.integers`` draw for the whole batch."""
    return rng.integers(0, 2**63, size=n, dtype=np.int64).astype(np.uint64)


@numba.njit(cache=True, inline="always")
def uniform(stream: np.ndarray) -> float:
    """Next float64 in [0, 1) of the SplitMix64 stream whose state is ``stream[0]``."""
    z = stream[0] + _GOLDEN
    stream[0] = z
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True, inline="always")
def below(stream: np.ndarray, n: int) -> int:
    """A uniform integer in [0, n) (n >= 1)."""
    i = int(uniform(stream) * n)
    return i if i < n else n - 1  # guards against rounding up for huge n


@numba.njit(cache=True, inline="always")
def normal(stream: np.ndarray) -> float:
    """A standard normal draw (Box-Muller, two uniforms)."""
    u1 = 1.0 - uniform(stream)  # in (0, 1]: log is finite
    u2 = uniform(stream)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@numba.njit(cache=True)
def log_keep(rate: float) -> float:
    """log(1 - rate) for :func:`geometric`, computed with log1p so small rates keep precision.

    0.0 means "never" (rate <= 0, or so small that log1p underflows), -inf means "always".
    """
    if not rate > 0.0:  # also catches NaN
        return 0.0
    if rate >= 1.0:
        return -np.inf
    return np.log1p(-rate)


@numba.njit(cache=True, inline="always")
def geometric(stream: np.ndarray, log_keep_value: float) -> int:
    """Trials up to and including the first success; ``log_keep_value`` from :func:`log_keep`.

    Returns :data:`NEVER` where success never comes (log_keep 0) or the gap would pass it, so a
    caller that steps through an array with it never divides by zero or overflows.
    """
    if log_keep_value == 0.0:
        return NEVER
    if log_keep_value == -np.inf:
        return 1
    gap = np.log1p(-uniform(stream)) / log_keep_value
    if not gap < NEVER:
        return NEVER
    return int(gap) + 1


@numba.njit(cache=True, inline="always")
def polynomial_delta(r: float, eta: float) -> float:
    """Deb's polynomial mutation shift for a uniform ``r`` in [0, 1) and index ``eta`` >= 0.

    (2r)^(1/(eta+1)) - 1 below r = 0.5, else 1 - (2(1-r))^(1/(eta+1)); eta = inf gives 0.
    """
    power = 1.0 / (eta + 1.0)
    if r < 0.5:
        return (2.0 * r) ** power - 1.0
    return 1.0 - (2.0 * (1.0 - r)) ** power


@numba.njit(cache=True, inline="always")
def polynomial_mutate(value: float, r: float, eta: float, low: float, high: float) -> float:
    """``value`` in [low, high] shifted by :func:`polynomial_delta` on the unit scale, clipped."""
    unit = (value - low) / (high - low) + polynomial_delta(r, eta)
    return min(max(unit, 0.0), 1.0) * (high - low) + low
