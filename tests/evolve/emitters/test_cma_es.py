"""The batched CMA-ES: convergence of many instances at once, steps confined to ``which``,
stall detection and restarts, and a state that resumes bit for bit from an npz."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest

from evolve.emitters.cma_es import BatchedCmaEs, strategy_parameters

K = 3  # instances stepped together, each with its own optimum


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """OpenBLAS threads on shared cores make a 50 x 50 eigh 20-30 times slower (25 ms instead of
    1); threadpoolctl comes with scikit-learn (through mlxtend) and is used where present."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # the tests pass without it, only slower
        limits = contextlib.nullcontext()
    else:
        limits = threadpool_limits(limits=1, user_api="blas")
    with limits:
        yield


def sphere(x: np.ndarray) -> np.ndarray:
    return np.sum(x**2, axis=-1)


def ellipsoid(condition: float, rotated: bool, n: int):
    """``sum_i condition^(i/(n-1)) u_i^2``, ``u = Q x`` for a fixed random rotation ``Q``."""
    scales = condition ** (np.arange(n) / (n - 1))
    rotation = np.linalg.qr(np.random.default_rng(42).standard_normal((n, n)))[0]

    def f(x: np.ndarray) -> np.ndarray:
        u = x @ rotation.T if rotated else x
        return np.sum(scales * u**2, axis=-1)

    return f


def minimise(es: BatchedCmaEs, f, optima: np.ndarray, lam: int, generations: int, tol: float):
    """Step all instances on ``f(x - optimum_k)`` until each one's best is below ``tol``;
    return the generations used."""
    rng = np.random.default_rng(1)
    which = np.arange(len(optima))
    for generation in range(1, generations + 1):
        x = es.ask(which, lam, rng)
        es.tell(which, x, -f(x - optima[:, None, :]))  # the ES maximises
        if (-es.best_fitness < tol).all():
            return generation
    return generations + 1


# covariance, n, objective, mirrored, generation budget, tolerance: about 1.5 times the
# generations 3 instances took at lam = 4 + 3 ln n (optima of seeds 7 and 8: 139, 389, 595,
# 633, 867 (full) and 119, 327, 288, 896, 876 (sep))
CONVERGENCE = [
    ("full", 10, "sphere", False, 220, 1e-8),
    ("full", 50, "sphere", False, 600, 1e-8),
    ("full", 10, "rotated ellipsoid 1e6", False, 900, 1e-8),
    ("full", 10, "rotated ellipsoid 1e6", True, 950, 1e-8),
    ("full", 50, "rotated ellipsoid 1e2", False, 1300, 1e-6),
    ("sep", 10, "sphere", False, 180, 1e-8),
    ("sep", 50, "sphere", True, 500, 1e-8),
    ("sep", 10, "ellipsoid 1e6", False, 450, 1e-8),
    ("sep", 50, "ellipsoid 1e6", False, 1350, 1e-8),
    ("sep", 50, "ellipsoid 1e6", True, 1350, 1e-8),
]


@pytest.mark.parametrize("covariance,n,objective,mirrored,budget,tol", CONVERGENCE)
def test_instances_converge_to_their_own_optima(
    covariance: str, n: int, objective: str, mirrored: bool, budget: int, tol: float
) -> None:
    if objective == "sphere":
        f = sphere
    else:
        condition = float(objective.split()[-1])
        f = ellipsoid(condition, objective.startswith("rotated"), n)
    optima = np.random.default_rng(7).uniform(-2, 2, (K, n))
    es = BatchedCmaEs(K, n, covariance=covariance, mirrored=mirrored, patience=10**6)
    es.reset(np.arange(K), np.zeros((K, n)), 1.0)
    lam = 4 + int(3 * np.log(n))
    lam += mirrored and lam % 2
    used = minimise(es, f, optima, lam, budget, tol)
    assert used <= budget, f"best {-es.best_fitness} after {budget} generations"
    assert np.abs(es.best_params - optima).max() < 1e-2
    assert np.abs(es.mean - optima).max() < 1e-2
    assert not es.stalled().any()


def test_population_size_may_change_between_tells() -> None:
    n = 20
    optima = np.random.default_rng(3).uniform(-1, 1, (K, n))
    for covariance in ("full", "sep"):
        es = BatchedCmaEs(K, n, covariance=covariance)
        es.reset(np.arange(K), np.zeros((K, n)), 0.5)
        rng = np.random.default_rng(0)
        for generation in range(400):
            lam = (6, 13, 24)[generation % 3]
            x = es.ask(np.arange(K), lam, rng)
            assert x.shape == (K, lam, n)
            es.tell(np.arange(K), x, -sphere(x - optima[:, None, :]))
        assert (-es.best_fitness < 1e-10).all(), covariance


@pytest.mark.parametrize("covariance", ["full", "sep"])
def test_only_the_instances_in_which_change(covariance: str) -> None:
    es = BatchedCmaEs(4, 6, covariance=covariance)
    es.reset(np.arange(4), np.arange(24.0).reshape(4, 6), [0.1, 0.2, 0.3, 0.4])
    rng = np.random.default_rng(0)
    for _ in range(30):  # past the first eigendecomposition
        before = es.state_arrays()
        which = np.array([2, 0])
        x = es.ask(which, 8, rng)
        es.tell(which, x, -sphere(x))
        after = es.state_arrays()
        for name, values in after.items():
            if values.ndim:
                assert np.array_equal(values[[1, 3]], before[name][[1, 3]]), name
        assert not np.array_equal(after["mean"][[0, 2]], before["mean"][[0, 2]])
    assert list(es.generation) == [30, 0, 30, 0]


def test_the_same_seed_gives_the_same_samples() -> None:
    def samples(seed: int) -> list[np.ndarray]:
        es = BatchedCmaEs(2, 5, covariance="full", mirrored=True)
        es.reset(np.arange(2), np.ones((2, 5)), 0.3)
        rng, out = np.random.default_rng(seed), []
        for _ in range(20):
            x = es.ask(np.arange(2), 6, rng)
            es.tell(np.arange(2), x, -sphere(x))
            out.append(x)
        return out

    first, again, other = samples(5), samples(5), samples(6)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], other[0])


def test_mirrored_samples_come_in_pairs_about_the_mean() -> None:
    es = BatchedCmaEs(2, 4, covariance="sep", mirrored=True)
    es.reset(np.arange(2), np.array([[1.0, 2, 3, 4], [-1, -2, -3, -4]]), 0.5)
    x = es.ask(np.arange(2), 10, np.random.default_rng(0))
    assert np.allclose(x[:, :5] + x[:, 5:], 2 * es.mean[:, None, :], rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="even lam"):
        es.ask(np.arange(2), 7, np.random.default_rng(0))


@pytest.mark.parametrize(
    "covariance,mirrored", [("full", False), ("full", True), ("sep", False), ("sep", True)]
)
def test_a_state_saved_mid_run_resumes_bit_for_bit(
    tmp_path: Path, covariance: str, mirrored: bool
) -> None:
    n, which = 8, np.arange(3)
    f = ellipsoid(1e3, rotated=True, n=n)

    def generations(es: BatchedCmaEs, rng: np.random.Generator, start: int, stop: int):
        out = []
        for generation in range(start, stop):
            lam = 6 if generation % 2 else 10  # the population size changes too
            part = which[generation % 3 :]  # and which instances step
            x = es.ask(part, lam, rng)
            es.tell(part, x, -f(x - 1.0))
            if generation == 25:
                es.restart(np.array([1]), np.full((1, n), 0.5), 0.2)
            out.append(x)
        return out

    def fresh() -> BatchedCmaEs:
        es = BatchedCmaEs(3, n, covariance=covariance, mirrored=mirrored)
        es.reset(which, np.zeros((3, n)), 1.0)
        return es

    whole = fresh()
    uninterrupted = generations(whole, np.random.default_rng(9), 0, 60)

    es, rng = fresh(), np.random.default_rng(9)
    before = generations(es, rng, 0, 30)
    np.savez(tmp_path / "cma.npz", **es.state_arrays())
    generator_state = rng.bit_generator.state
    del es, rng
    with np.load(tmp_path / "cma.npz", allow_pickle=False) as stored:
        resumed = BatchedCmaEs.from_state_arrays(dict(stored))
    rng = np.random.default_rng()
    rng.bit_generator.state = generator_state
    after = generations(resumed, rng, 30, 60)

    for a, b in zip(uninterrupted, before + after, strict=True):
        assert np.array_equal(a, b)
    for name, values in whole.state_arrays().items():
        assert np.array_equal(values, resumed.state_arrays()[name]), name
    assert resumed.config() == whole.config()
    assert whole.restarts[1] == 1


def test_load_state_arrays_restores_into_an_optimiser_with_the_same_settings() -> None:
    es = BatchedCmaEs(2, 3, covariance="sep")
    es.reset(np.arange(2), np.ones((2, 3)), 0.5)
    x = es.ask(np.arange(2), 4, np.random.default_rng(0))
    es.tell(np.arange(2), x, -sphere(x))
    other = BatchedCmaEs(**es.config())
    other.load_state_arrays(es.state_arrays())
    assert all(np.array_equal(v, other.state_arrays()[k]) for k, v in es.state_arrays().items())
    with pytest.raises(ValueError, match="settings differ.*patience"):
        BatchedCmaEs(2, 3, covariance="sep", patience=7).load_state_arrays(es.state_arrays())
    with pytest.raises(ValueError, match="'mean' has shape"):
        BatchedCmaEs(2, 4, covariance="sep").load_state_arrays(es.state_arrays())


def _flat(x: np.ndarray) -> np.ndarray:
    return np.zeros(x.shape[:-1])


def _linear(x: np.ndarray) -> np.ndarray:
    return x[..., 0]


# what makes an instance stall: settings, objective (maximised), sigma0, tells before it stalls
STALLS = [
    ("a flat tell (tol_fun)", {}, _flat, 1.0, 1),
    ("no better best in `patience` tells", {"tol_fun": 0.0, "patience": 5}, _flat, 1.0, 6),
    ("the spread below tol_x", {}, lambda x: -sphere(x), 1e-12, 0),
    ("sigma growing 1,000-fold (tol_up)", {}, _linear, 1.0, None),
]


@pytest.mark.parametrize("covariance", ["full", "sep"])
@pytest.mark.parametrize("reason,settings,f,sigma0,tells", STALLS, ids=[s[0] for s in STALLS])
def test_stalled_instances_are_detected_and_restarted(
    covariance: str, reason: str, settings: dict, f, sigma0: float, tells: int | None
) -> None:
    es = BatchedCmaEs(2, 5, covariance=covariance, **settings)
    es.reset(np.arange(2), np.zeros((2, 5)), sigma0)
    es.reset(np.array([1]), np.zeros((1, 5)), 0.5)  # instance 1 is a healthy sphere search
    rng, told = np.random.default_rng(0), 0
    while not es.stalled()[0]:
        assert told < 500, reason
        x = es.ask(np.arange(2), 8, rng)
        es.tell(np.arange(2), x, np.stack([f(x[0]), -sphere(x[1])]))
        told += 1
    if tells is not None:
        assert told == tells, reason
    assert list(es.stalled()) == [True, False]

    es.restart(np.array([0]), np.full((1, 5), 2.0), 0.3)
    assert list(es.stalled()) == [False, False]
    assert es.restarts[0] == 1 and es.generation[0] == 0 and es.sigma[0] == 0.3
    assert np.array_equal(es.mean[0], np.full(5, 2.0)) and es.best_fitness[0] == -np.inf
    state = es.state_arrays()
    assert np.array_equal(state["cov"][0], np.eye(5) if covariance == "full" else np.ones(5))
    assert not state["path_sigma"][0].any() and not state["path_cov"][0].any()
    es.reset(np.array([0]), np.zeros((1, 5)), 1.0)
    assert es.restarts[0] == 0


def test_an_ill_conditioned_covariance_stalls() -> None:
    es = BatchedCmaEs(2, 3, covariance="sep", max_condition=1e6)
    state = es.state_arrays()
    state["cov"][1] = [1.0, 1e-3, 1e-7]
    es.load_state_arrays(state)
    assert list(es.stalled()) == [False, True]
    assert es.condition_number()[1] == pytest.approx(1e7)


def test_nan_fitness_ranks_last_and_never_becomes_the_best() -> None:
    es = BatchedCmaEs(1, 2, covariance="sep")
    es.reset(np.arange(1), np.zeros((1, 2)), 1.0)
    x = es.ask(np.arange(1), 4, np.random.default_rng(0))
    es.tell(np.arange(1), x, np.array([[np.nan, 1.0, np.nan, 0.5]]))
    assert es.best_fitness[0] == 1.0 and np.array_equal(es.best_params[0], x[0, 1])
    assert np.isfinite(es.state_arrays()["mean"]).all()


def _corrupt(name: str, value):
    def change(state: dict[str, np.ndarray]) -> None:
        state[name] = value(state[name]) if callable(value) else value

    return change


def _set(name: str, index, value):
    def change(state: dict[str, np.ndarray]) -> None:
        state[name][index] = value

    return change


# (covariance, change to a valid state, what the error names)
BAD_STATES = [
    ("full", _set("mean", (0, 1), np.nan), "'mean' holds NaN"),
    ("sep", _set("path_sigma", (1, 0), np.inf), "'path_sigma' holds NaN or inf"),
    ("full", _set("sigma", 1, -0.5), "'sigma' must be positive"),
    ("sep", _set("sigma", 0, 0.0), "'sigma' must be positive"),
    ("sep", _set("cov", (0, 2), -1.0), "'cov'.*must be positive"),
    ("full", _set("cov", (0, 0, 1), 0.25), "'cov' is not symmetric"),
    ("full", _set("eigenvalues", (1, 1), 0.0), "'eigenvalues' must be positive"),
    ("full", _corrupt("cov", lambda v: v[:, :2]), r"'cov' has shape \(2, 2, 3\)"),
    ("sep", _corrupt("sigma", lambda v: v.astype(np.float32)), "'sigma' has dtype float32"),
    ("sep", _set("generation", 0, -1), "'generation' must not be negative"),
    ("full", _corrupt("extra", np.zeros(2)), r"unknown arrays \['extra'\]"),
    ("sep", _corrupt("mean", lambda v: v[None]), "'mean' must be"),
    ("sep", _corrupt("version", np.int64(99)), "unknown version"),
    ("sep", _corrupt("covariance", np.int64(5)), "unknown covariance model"),
    ("sep", _corrupt("patience", np.float64(3)), "'patience' must be a scalar of dtype int64"),
]


@pytest.mark.parametrize("covariance,change,message", BAD_STATES)
def test_damaged_state_arrays_are_refused_in_one_line(covariance: str, change, message) -> None:
    es = BatchedCmaEs(2, 3, covariance=covariance)
    es.reset(np.arange(2), np.ones((2, 3)), 0.5)
    state = es.state_arrays()
    change(state)
    with pytest.raises(ValueError, match=message) as error:
        BatchedCmaEs.from_state_arrays(state)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("name", ["sigma0", "eigenvectors", "tol_fun"])
def test_a_missing_array_is_named(name: str) -> None:
    state = BatchedCmaEs(2, 3, covariance="full").state_arrays()
    del state[name]
    with pytest.raises(ValueError, match=f"missing .*'{name}'"):
        BatchedCmaEs.from_state_arrays(state)


def test_bad_arguments_are_refused() -> None:
    es = BatchedCmaEs(3, 2)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="twice"):
        es.ask(np.array([1, 1]), 4, rng)
    with pytest.raises(ValueError, match="index 0..2"):
        es.ask(np.array([3]), 4, rng)
    with pytest.raises(ValueError, match="lam must be"):
        es.ask(np.array([0]), 1, rng)
    x = es.ask(np.array([0, 2]), 4, rng)
    with pytest.raises(ValueError, match="fitness must have shape"):
        es.tell(np.array([0, 2]), x, np.zeros((2, 5)))
    with pytest.raises(ValueError, match="samples must have shape"):
        es.tell(np.array([0]), x, np.zeros((2, 4)))
    with pytest.raises(ValueError, match="sigma0 must be positive"):
        es.reset(np.array([0]), np.zeros((1, 2)), -1.0)
    with pytest.raises(ValueError, match="unknown covariance model 'diag'"):
        BatchedCmaEs(1, 2, covariance="diag")
    assert es.ask(np.array([], np.int64), 4, rng).shape == (0, 4, 2)


def test_the_separable_model_learns_faster_than_the_full_one() -> None:
    for n in (10, 768):
        full, sep = strategy_parameters(n, 12, "full"), strategy_parameters(n, 12, "sep")
        assert sep.c1 > full.c1 and sep.cmu > full.cmu
        assert np.isclose(full.weights.sum(), 1) and len(full.weights) == 6
        assert (np.diff(full.weights) < 0).all() and full.weights[-1] > 0


def test_the_separable_model_makes_progress_on_a_3x16x16_grid() -> None:
    n = 3 * 16 * 16
    f = ellipsoid(1e2, rotated=False, n=n)
    optima = np.random.default_rng(7).uniform(-1, 1, (2, n))
    es = BatchedCmaEs(2, n, covariance="sep", mirrored=True)
    es.reset(np.arange(2), np.zeros((2, n)), 0.5)
    used = minimise(es, f, optima, 24, 300, 0.0)
    assert used == 301 and not es.stalled().any()
    assert (-es.best_fitness < 0.6 * f(optima)).all()  # 0.40 and 0.47 measured
