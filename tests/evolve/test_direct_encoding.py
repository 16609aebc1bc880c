"""Direct encoding: genes, the compiled variation kernel and quantised expression."""

from __future__ import annotations

import numpy as np
import pytest

from evolve.encodings import DirectEncoding, build_encoding
from evolve.encodings.direct import MIN_MUTATION_RATE, vary_genes


def test_random_genes_are_uniform_in_unit_interval() -> None:
    genes = DirectEncoding().random(500, np.random.default_rng(0))
    assert genes.shape == (500, 784) and genes.dtype == np.float32
    assert genes.min() >= 0.0 and genes.max() < 1.0
    assert abs(genes.mean() - 0.5) < 0.01


def test_mutation_touches_about_the_mutation_rate_of_genes_within_bounds() -> None:
    encoding = DirectEncoding(mutation_rate=0.1, crossover_rate=0.0, halve_every=0)
    parents = encoding.random(400, np.random.default_rng(1))
    children = encoding.vary(parents, np.random.default_rng(2), generation=1)
    changed = (children != parents).mean()
    assert 0.09 < changed < 0.11
    assert children.min() >= 0.0 and children.max() <= 1.0
    # Polynomial mutation with eta 15 makes mostly small steps.
    steps = np.abs(children - parents)[children != parents]
    assert np.median(steps) < 0.1


def test_halving_schedule() -> None:
    encoding = DirectEncoding(mutation_rate=0.1, halve_every=1000)
    assert encoding.mutation_rate_at(999) == pytest.approx(0.1)
    assert encoding.mutation_rate_at(1000) == pytest.approx(0.05)
    assert encoding.mutation_rate_at(2500) == pytest.approx(0.025)
    assert DirectEncoding(halve_every=0).mutation_rate_at(5000) == pytest.approx(0.1)


def test_sbx_children_stay_between_bounds_and_mix_parents() -> None:
    encoding = DirectEncoding(mutation_rate=0.0, crossover_rate=1.0)
    parents = np.stack([np.zeros(784, np.float32), np.ones(784, np.float32)] * 50)
    children = encoding.vary(parents, np.random.default_rng(3), generation=1)
    assert children.min() >= 0.0 and children.max() <= 1.0
    crossed = (children != parents).mean()
    assert 0.4 < crossed < 0.6  # each gene is crossed with probability 0.5
    np.testing.assert_allclose(children[0::2] + children[1::2], 1.0, atol=1e-6)


def test_variation_depends_only_on_the_generator_state() -> None:
    encoding = DirectEncoding(crossover_rate=0.5)
    parents = encoding.random(33, np.random.default_rng(4))
    a = encoding.vary(parents, np.random.default_rng(5), 1)
    b = encoding.vary(parents, np.random.default_rng(5), 1)
    c = encoding.vary(parents, np.random.default_rng(6), 1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_expression_is_8_bit_and_shaped_like_the_target_input() -> None:
    encoding = DirectEncoding(channels=1, height=28, width=28)
    genes = np.array([[0.0, 0.5, 0.999, 1.0] * 196], dtype=np.float32)
    images = encoding.express(genes)
    assert images.shape == (1, 1, 28, 28)
    np.testing.assert_allclose(images.flatten()[:4] * 255, [0, 127, 254, 255], atol=1e-4)
    with pytest.raises(ValueError):
        encoding.express(genes, size=(56, 56))


def test_config_rebuilds_the_same_encoding() -> None:
    encoding = DirectEncoding(channels=3, height=8, width=8, mutation_rate=0.2, halve_every=7)
    assert build_encoding(encoding.config()).config() == encoding.config()
    with pytest.raises(ValueError, match="unknown encoding"):
        build_encoding({"name": "bitmap"})


# ---------------------------------------------------- schedules and kernels that cannot break
EXTREME_RATES = (0.0, 1e-300, 5e-17, MIN_MUTATION_RATE, 0.5, 1.0)
EXTREME_ETAS = (1e-300, 1e-6, 15.0, 1e12, 1e300)


@pytest.mark.parametrize("halve_every", [1, 8, 1000])
def test_schedule_stays_finite_at_its_floor_and_never_rises(halve_every) -> None:
    encoding = DirectEncoding(mutation_rate=0.1, halve_every=halve_every)
    generations = np.unique(np.concatenate([np.arange(3000), np.geomspace(1, 10**6, 2000)]))
    rates = np.array([encoding.mutation_rate_at(int(g)) for g in generations])
    assert np.isfinite(rates).all()
    assert rates.min() == MIN_MUTATION_RATE and rates.max() == pytest.approx(0.1)
    assert (np.diff(rates) <= 0).all()
    assert encoding.mutation_rate_at(10**18) == MIN_MUTATION_RATE


def test_a_zero_rate_stays_zero_and_a_rate_below_the_floor_is_kept() -> None:
    assert DirectEncoding(mutation_rate=0.0).mutation_rate_at(10**6) == 0.0
    assert DirectEncoding(mutation_rate=1e-13).mutation_rate_at(10**6) == 1e-13


@pytest.mark.parametrize("device", ["host", "cpu"])
def test_variation_runs_past_the_end_of_the_halving_schedule(device) -> None:
    # halve_every=1: generation 51 used to reach rate 4.4e-17, where log(1 - rate) == 0 and the
    # Numba kernel divided by zero (generation 51,000 at the default halve_every).
    encoding = DirectEncoding(halve_every=1, device=device)
    parents = encoding.random(6, np.random.default_rng(0))
    for generation in (51, 60, 2000, 10**6):
        children = np.asarray(encoding.vary(parents, np.random.default_rng(1), generation))
        assert np.isfinite(children).all()
        assert children.min() >= 0.0 and children.max() <= 1.0


@pytest.mark.parametrize("eta", EXTREME_ETAS)
@pytest.mark.parametrize("rate", EXTREME_RATES)
def test_kernel_is_safe_for_any_rate_and_eta(rate, eta) -> None:
    parents = np.random.default_rng(2).random((9, 784), dtype=np.float32)
    genes = parents.copy()
    seeds = np.arange(5, dtype=np.uint64)
    vary_genes(genes, seeds, 1.0, eta, rate, eta)  # crossover and mutation at the same extremes
    assert np.isfinite(genes).all() and genes.min() >= 0.0 and genes.max() <= 1.0
    if rate == 0.0 or rate <= MIN_MUTATION_RATE:
        only_mutation = parents.copy()
        vary_genes(only_mutation, seeds, 0.0, eta, rate, eta)
        np.testing.assert_array_equal(only_mutation, parents)  # 1e-12 * 7056 genes: ~never


def test_kernel_mutates_every_gene_at_rate_one() -> None:
    parents = np.random.default_rng(3).random((4, 784), dtype=np.float32)
    genes = parents.copy()
    vary_genes(genes, np.arange(2, dtype=np.uint64), 0.0, 10.0, 1.0, 1.0)
    assert (genes != parents).mean() > 0.99
