"""SplitMix64 streams and the geometric-skip and polynomial helpers."""

import math

import numba
import numpy as np
import pytest

from cppn.streams import NEVER, geometric, log_keep, polynomial_delta, polynomial_mutate, uniform


@numba.njit(cache=True)
def _draws(seed, n, keep):
    stream = np.array([seed], dtype=np.uint64)
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        out[i] = geometric(stream, keep)
    return out


@numba.njit(cache=True)
def _uniforms(seed, n):
    stream = np.array([seed], dtype=np.uint64)
    out = np.empty(n)
    for i in range(n):
        out[i] = uniform(stream)
    return out


def test_uniform_is_reproducible_and_in_unit_interval():
    a, b = _uniforms(np.uint64(5), 10_000), _uniforms(np.uint64(5), 10_000)
    np.testing.assert_array_equal(a, b)
    assert a.min() >= 0.0 and a.max() < 1.0 and abs(a.mean() - 0.5) < 0.01


@pytest.mark.parametrize("rate", [0.0, -0.5, 1e-320, 5e-324, float("nan")])
def test_rates_that_never_succeed_give_never(rate):
    keep = log_keep(rate)
    assert keep == 0.0 or rate > 0.0  # a subnormal rate keeps a subnormal log; gaps overflow
    assert (_draws(np.uint64(1), 100, keep) == NEVER).all()


def test_rate_one_succeeds_every_trial_and_tiny_rates_do_not_overflow():
    assert (_draws(np.uint64(1), 100, log_keep(1.0)) == 1).all()
    gaps = _draws(np.uint64(2), 1000, log_keep(1e-300))  # log1p(-1e-300) = -1e-300, not 0
    assert (gaps >= 1).all() and (gaps <= NEVER).all()


def test_geometric_mean_matches_the_rate():
    gaps = _draws(np.uint64(3), 200_000, log_keep(0.1))
    # Mean 1/p = 10, standard error sqrt(1-p)/p/sqrt(n) ~ 0.021: 0.15 is > 7 standard errors.
    assert abs(gaps.mean() - 10.0) < 0.15


def test_polynomial_delta_bounds_and_infinite_eta():
    assert polynomial_delta(0.0, 15.0) == -1.0
    assert polynomial_delta(0.5, 15.0) == 0.0
    assert polynomial_delta(0.25, math.inf) == 0.0 and polynomial_delta(0.75, math.inf) == 0.0
    assert polynomial_mutate(9.9, 0.999999, 0.0, -10.0, 10.0) == 10.0  # clipped at the bound
    r = 0.3
    expected = (2 * r) ** (1 / 16) - 1
    assert polynomial_delta(r, 15.0) == pytest.approx(expected, rel=1e-15)
