"""Many small CMA-ES instances of one dimension, stepped together: one per archive cell (class).

Each instance ``i`` of :class:`BatchedCmaEs` is an independent (mu/mu_w, lam)-CMA-ES maximising
its own fitness: a mean ``[n]``, a step size ``sigma``, two evolution paths and a covariance,
full ``[n, n]`` (for n up to a few hundred, e.g. a CPPN's connection weights) or diagonal
(sep-CMA-ES, Ros & Hansen 2008, for n in the thousands, e.g. a coarse image grid). One
:meth:`BatchedCmaEs.ask` / :meth:`BatchedCmaEs.tell` pair steps the instances named in ``which``
in vectorised NumPy; the others are untouched. ::

    es = BatchedCmaEs(num_classes, n, covariance="sep")
    es.reset(np.arange(num_classes), elite_params, sigma0=0.2)
    x = es.ask(which, lam, rng)              # [len(which), lam, n], from the run's generator
    es.tell(which, x, log_odds)              # fitness [len(which), lam], larger is better
    stuck = np.flatnonzero(es.stalled())
    es.restart(stuck, elite_params[stuck], sigma0=0.2)

The update is Hansen's (2016, "The CMA Evolution Strategy: A Tutorial", and ``cma/purecma.py``):
positive recombination weights ``log((lam + 1) / 2) - log(i)`` over the best ``mu = lam // 2``,
cumulative step-size adaptation, rank-one and rank-mu covariance updates, the eigendecomposition
of a full covariance refreshed lazily (every ``0.5 lam / ((c1 + cmu) n)`` evaluations, as
purecma). The sep learning rates are pycma's ``c1_sep``, ``cmu_sep`` and ``cc_sep``, about n/2
times faster than the full model's, which is what lets a diagonal model learn in 1,000-D.

Population size: each :meth:`~BatchedCmaEs.tell` derives the weights and learning rates from
its own ``lam`` (the paths and covariance carry over), so the caller may change ``lam`` between
generations. Mirrored (antithetic) sampling: samples ``j`` and ``j + lam/2`` are mirror images
about the mean; selection is pairwise (Brockhoff et al. 2010): only the better of each pair can
be selected, so the mean step stays unbiased under random selection and step sizes do not shrink.

Bounds are the caller's: it clips (or otherwise repairs) the samples it renders, and tells the
unclipped samples it was given, on which the ES updates. Fitness NaN ranks below everything.

State (:meth:`~BatchedCmaEs.state_arrays`) is a dict of float64/int64 arrays, settings
included, that ``np.savez`` stores without pickle; :meth:`~BatchedCmaEs.from_state_arrays`
restores it exactly (a resumed run continues bit for bit) or raises a one-line ValueError.
Memory: the full model keeps the covariance and its eigenvectors, ``16 K n^2`` bytes.
Speed: call :meth:`~BatchedCmaEs.tell` under one BLAS thread where cores are shared (pyribs
wraps its optimisers in ``threadpoolctl.threadpool_limits(1)``): on this project's 2-core
machine, under load, a batch of three 50 x 50 ``eigh`` took 25 ms with OpenBLAS's threads and
about 1 ms with one.

Only NumPy: the state must be ours to save, and many instances step in one call, which the
``cma`` package and pyribs' optimisers (one instance per object) do not do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

COVARIANCE_MODELS = ("full", "sep")
STATE_VERSION = 1

# State arrays: name -> (dtype, shape in terms of K instances and dimension n).
_COMMON_FIELDS = {
    "mean": (np.float64, ("K", "n")),
    "sigma": (np.float64, ("K",)),
    "sigma0": (np.float64, ("K",)),
    "path_sigma": (np.float64, ("K", "n")),
    "path_cov": (np.float64, ("K", "n")),
    "generation": (np.int64, ("K",)),
    "best_fitness": (np.float64, ("K",)),
    "best_params": (np.float64, ("K", "n")),
    "stale_tells": (np.int64, ("K",)),
    "last_range": (np.float64, ("K",)),
    "restarts": (np.int64, ("K",)),
}
_MODEL_FIELDS = {
    "full": {
        "cov": (np.float64, ("K", "n", "n")),
        "eigenvectors": (np.float64, ("K", "n", "n")),
        "eigenvalues": (np.float64, ("K", "n")),
        "eigen_age": (np.int64, ("K",)),
    },
    "sep": {"cov": (np.float64, ("K", "n"))},
}
_SETTINGS = {
    "version": np.int64,
    "covariance": np.int64,  # index into COVARIANCE_MODELS
    "mirrored": np.int64,
    "patience": np.int64,
    "tol_x": np.float64,
    "tol_fun": np.float64,
    "tol_up": np.float64,
    "max_condition": np.float64,
}
# May hold +-inf: an instance not yet told has best -inf and range +inf.
_INFINITE_ALLOWED = ("best_fitness", "last_range")


@dataclass(frozen=True)
class StrategyParameters:
    """Weights and learning rates for one population size ``lam`` (the tutorial's table 1)."""

    weights: np.ndarray  # [mu], positive, best first, summing to 1
    mueff: float
    cs: float  # cumulation for the step-size path
    damps: float
    cc: float  # cumulation for the covariance path
    c1: float  # rank-one learning rate
    cmu: float  # rank-mu learning rate
    chi_n: float  # E||N(0, I)||
    eigen_gap: float  # evaluations between eigendecompositions of a full covariance


def strategy_parameters(dimension: int, lam: int, covariance: str) -> StrategyParameters:
    """CMA-ES's default strategy parameters for ``lam`` samples in ``dimension``; ``sep``: the
    diagonal model's faster rates (pycma's ``c1_sep``, ``cmu_sep``, ``cc_sep``)."""
    n, mu = dimension, lam // 2
    weights = np.log((lam + 1) / 2) - np.log(np.arange(1, mu + 1))
    weights /= weights.sum()
    mueff = 1.0 / float(np.sum(weights**2))
    cs = (mueff + 2) / (n + mueff + 5)
    damps = 1 + 2 * max(0.0, np.sqrt((mueff - 1) / (n + 1)) - 1) + cs
    if covariance == "full":
        cc = (4 + mueff / n) / (n + 4 + 2 * mueff / n)
        c1 = 2 / ((n + 1.3) ** 2 + mueff)
        cmu = min(1 - c1, 2 * (mueff - 2 + 1 / mueff) / ((n + 2) ** 2 + mueff))
    else:
        cc = (1 + 1 / n + mueff / n) / (np.sqrt(n) + 1 / n + 2 * mueff / n)
        c1 = 1 / (n + 2 * np.sqrt(n) + mueff / n)
        cmu = min(1 - c1, (0.25 + mueff + 1 / mueff - 2) / (n + 4 * np.sqrt(n) + mueff / 2))
    chi_n = np.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n**2))
    eigen_gap = 0.5 * lam / ((c1 + cmu) * n)
    return StrategyParameters(weights, mueff, cs, damps, cc, c1, cmu, chi_n, eigen_gap)


class BatchedCmaEs:
    """``num_instances`` independent CMA-ES of dimension ``dimension``, maximising.

    Settings: ``covariance`` "full" or "sep"; ``mirrored`` antithetic samples (``lam`` even);
    :meth:`stalled` rules: ``patience`` tells without a better best, the spread
    ``sigma * sqrt(largest eigenvalue)`` below ``tol_x`` or above ``tol_up * sigma0``, one
    tell's fitness range below ``tol_fun``, a condition number above ``max_condition``.

    Every instance starts at mean 0 with ``sigma`` 1: place it with :meth:`reset`.
    """

    def __init__(
        self,
        num_instances: int,
        dimension: int,
        *,
        covariance: str = "full",
        mirrored: bool = False,
        patience: int = 100,
        tol_x: float = 1e-11,
        tol_fun: float = 1e-12,
        tol_up: float = 1e3,
        max_condition: float = 1e14,
    ) -> None:
        if covariance not in COVARIANCE_MODELS:
            raise ValueError(
                f"unknown covariance model {covariance!r}: choose from "
                f"{', '.join(COVARIANCE_MODELS)}"
            )
        if int(num_instances) < 1 or int(dimension) < 1:
            raise ValueError(
                f"need at least one instance of dimension >= 1, got {num_instances} x {dimension}"
            )
        if int(patience) < 1:
            raise ValueError(f"patience must be at least 1 tell, got {patience}")
        if not (tol_x >= 0 and tol_fun >= 0 and tol_up > 0 and max_condition >= 1):
            raise ValueError("tolerances must be >= 0, tol_up > 0 and max_condition >= 1")
        self.num_instances = int(num_instances)
        self.dimension = int(dimension)
        self.covariance = covariance
        self.mirrored = bool(mirrored)
        self.patience = int(patience)
        self.tol_x, self.tol_fun = float(tol_x), float(tol_fun)
        self.tol_up, self.max_condition = float(tol_up), float(max_condition)
        shapes = {"K": self.num_instances, "n": self.dimension}
        self._arrays = {
            name: np.zeros(tuple(shapes[s] for s in shape), dtype)
            for name, (dtype, shape) in self._fields().items()
        }
        every = np.arange(self.num_instances)
        self.reset(every, np.zeros((self.num_instances, self.dimension)), 1.0)

    # -- settings and read-only views ------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """JSON-able settings: ``BatchedCmaEs(**config())`` makes a fresh one like this."""
        return {
            "num_instances": self.num_instances,
            "dimension": self.dimension,
            "covariance": self.covariance,
            "mirrored": self.mirrored,
            "patience": self.patience,
            "tol_x": self.tol_x,
            "tol_fun": self.tol_fun,
            "tol_up": self.tol_up,
            "max_condition": self.max_condition,
        }

    # Properties are live read-only views: they follow every tell, until a load_state_arrays.

    @property
    def mean(self) -> np.ndarray:
        """Distribution means ``[K, n]`` (read-only)."""
        return _readonly(self._arrays["mean"])

    @property
    def sigma(self) -> np.ndarray:
        """Step sizes ``[K]`` (read-only)."""
        return _readonly(self._arrays["sigma"])

    @property
    def best_fitness(self) -> np.ndarray:
        """Best fitness told since each instance's last (re)start, ``-inf`` before ``[K]``."""
        return _readonly(self._arrays["best_fitness"])

    @property
    def best_params(self) -> np.ndarray:
        """The (unclipped) sample that scored :attr:`best_fitness` ``[K, n]`` (read-only)."""
        return _readonly(self._arrays["best_params"])

    @property
    def generation(self) -> np.ndarray:
        """Tells since each instance's last (re)start ``[K]`` (read-only)."""
        return _readonly(self._arrays["generation"])

    @property
    def restarts(self) -> np.ndarray:
        """Restarts since each instance's last :meth:`reset` ``[K]`` (read-only)."""
        return _readonly(self._arrays["restarts"])

    def condition_number(self) -> np.ndarray:
        """Each covariance's condition number ``[K]`` (the full model's as last decomposed)."""
        low, high = self._eigenvalue_range()
        return high / low

    # -- (re)starting ----------------------------------------------------------------------

    def reset(self, which: np.ndarray, means: np.ndarray, sigma0: float | np.ndarray) -> None:
        """Start the instances ``which`` afresh at ``means`` ``[len(which), n]`` with step size
        ``sigma0`` (a number or one per instance); their restart counts go back to 0."""
        index = self._initialise(which, means, sigma0)
        self._arrays["restarts"][index] = 0

    def restart(self, which: np.ndarray, means: np.ndarray, sigma0: float | np.ndarray) -> None:
        """As :meth:`reset` (best, paths and covariance forgotten) but counting a restart."""
        index = self._initialise(which, means, sigma0)
        self._arrays["restarts"][index] += 1

    def _initialise(self, which: np.ndarray, means: np.ndarray, sigma0: Any) -> np.ndarray:
        index = self._indices(which)
        means = np.asarray(means, dtype=np.float64)
        if means.shape != (len(index), self.dimension):
            raise ValueError(
                f"means must have shape {(len(index), self.dimension)}, got {means.shape}"
            )
        if not np.isfinite(means).all():
            raise ValueError("means hold NaN or inf")
        sigma0 = np.asarray(sigma0, dtype=np.float64)
        if sigma0.ndim > 1 or sigma0.size not in (1, len(index)):
            raise ValueError(f"sigma0 must be a number or {len(index)} numbers")
        sigma0 = np.broadcast_to(sigma0.reshape(-1), (len(index),))
        if not (np.isfinite(sigma0) & (sigma0 > 0)).all():
            raise ValueError("sigma0 must be positive and finite")
        a = self._arrays
        a["mean"][index] = means
        a["sigma"][index] = sigma0
        a["sigma0"][index] = sigma0
        a["path_sigma"][index] = 0.0
        a["path_cov"][index] = 0.0
        a["generation"][index] = 0
        a["best_fitness"][index] = -np.inf
        a["best_params"][index] = means
        a["stale_tells"][index] = 0
        a["last_range"][index] = np.inf
        if self.covariance == "full":
            a["cov"][index] = np.eye(self.dimension)
            a["eigenvectors"][index] = np.eye(self.dimension)
            a["eigenvalues"][index] = 1.0
            a["eigen_age"][index] = 0
        else:
            a["cov"][index] = 1.0
        return index

    # -- ask / tell ------------------------------------------------------------------------

    def ask(self, which: np.ndarray, lam: int, rng: np.random.Generator) -> np.ndarray:
        """``lam`` samples for each instance in ``which``: float64 ``[len(which), lam, n]``,
        drawn from ``rng`` only; changes no state."""
        index = self._indices(which)
        lam = self._population_size(lam)
        shape = (len(index), lam // 2 if self.mirrored else lam, self.dimension)
        z = rng.standard_normal(shape)
        if self.mirrored:
            z = np.concatenate([z, -z], axis=1)
        a = self._arrays
        if self.covariance == "full":
            scaled = z * np.sqrt(a["eigenvalues"][index])[:, None, :]
            steps = scaled @ a["eigenvectors"][index].transpose(0, 2, 1)  # B D^(1/2) z
        else:
            steps = z * np.sqrt(a["cov"][index])[:, None, :]
        return a["mean"][index][:, None, :] + a["sigma"][index][:, None, None] * steps

    def tell(self, which: np.ndarray, samples: np.ndarray, fitness: np.ndarray) -> None:
        """Update the instances ``which`` from their ``samples`` ``[len(which), lam, n]`` (as
        :meth:`ask` gave them, unclipped) and ``fitness`` ``[len(which), lam]``, to maximise."""
        index = self._indices(which)
        samples = np.asarray(samples, dtype=np.float64)
        fitness = np.asarray(fitness, dtype=np.float64)
        k, n = len(index), self.dimension
        if samples.ndim != 3 or samples.shape[0] != k or samples.shape[2] != n:
            raise ValueError(f"samples must have shape ({k}, lam, {n}), got {samples.shape}")
        lam = self._population_size(samples.shape[1])
        if fitness.shape != (k, lam):
            raise ValueError(f"fitness must have shape {(k, lam)}, got {fitness.shape}")
        if not np.isfinite(samples).all():
            raise ValueError("samples hold NaN or inf")
        if k == 0:
            return
        a, p, full = self._arrays, strategy_parameters(n, lam, self.covariance), self._full
        fitness = np.where(np.isnan(fitness), -np.inf, fitness)
        self._track_best(index, samples, fitness)

        mean, sigma = a["mean"][index], a["sigma"][index]
        steps = (samples - mean[:, None, :]) / sigma[:, None, None]  # y_i = (x_i - m) / sigma
        chosen = np.take_along_axis(steps, self._selection(fitness, len(p.weights))[..., None], 1)
        step = np.einsum("j,kjn->kn", p.weights, chosen)  # <y>_w
        if full:  # C^(-1/2) <y>_w with the decomposition the samples were drawn from
            vectors, values = a["eigenvectors"][index], a["eigenvalues"][index]
            rotated = np.einsum("kji,kj->ki", vectors, step) / np.sqrt(values)
            whitened = np.einsum("kij,kj->ki", vectors, rotated)  # B D^(-1/2) B^T <y>_w
        else:
            whitened = step / np.sqrt(a["cov"][index])

        generation = a["generation"][index] + 1
        path_sigma = (1 - p.cs) * a["path_sigma"][index] + np.sqrt(
            p.cs * (2 - p.cs) * p.mueff
        ) * whitened
        norm = np.linalg.norm(path_sigma, axis=1)
        # hsig: stall the covariance path while the step size grows fast (tutorial, eq. 45)
        hsig = norm / np.sqrt(1 - (1 - p.cs) ** (2 * generation)) < (1.4 + 2 / (n + 1)) * p.chi_n
        path_cov = (1 - p.cc) * a["path_cov"][index] + (
            hsig * np.sqrt(p.cc * (2 - p.cc) * p.mueff)
        )[:, None] * step
        c1a = p.c1 * (1 - (~hsig) * p.cc * (2 - p.cc))
        decay = 1 - c1a - p.cmu * p.weights.sum()
        weighted = chosen * p.weights[None, :, None]
        if full:
            cov = (
                decay[:, None, None] * a["cov"][index]
                + p.c1 * path_cov[:, :, None] * path_cov[:, None, :]
                + p.cmu * (weighted.transpose(0, 2, 1) @ chosen)
            )
            cov = (cov + cov.transpose(0, 2, 1)) / 2  # exactly symmetric
        else:
            cov = (
                decay[:, None] * a["cov"][index]
                + p.c1 * path_cov**2
                + p.cmu * np.einsum("kjn,kjn->kn", weighted, chosen)
            )

        a["mean"][index] = mean + sigma[:, None] * step
        a["sigma"][index] = sigma * np.exp(np.minimum(1.0, p.cs / p.damps * (norm / p.chi_n - 1)))
        a["path_sigma"][index] = path_sigma
        a["path_cov"][index] = path_cov
        a["cov"][index] = cov
        a["generation"][index] = generation
        if full:
            self._refresh_eigensystem(index, lam, p.eigen_gap)

    def stalled(self) -> np.ndarray:
        """Instances to restart ``bool [K]``: no better best in ``patience`` tells, spread below
        ``tol_x`` or above ``tol_up * sigma0``, the last tell's fitness range below ``tol_fun``,
        or the covariance's condition number above ``max_condition``."""
        a = self._arrays
        low, high = self._eigenvalue_range()
        spread = a["sigma"] * np.sqrt(high)
        return (
            (a["stale_tells"] >= self.patience)
            | (spread < self.tol_x)
            | ~(spread <= self.tol_up * a["sigma0"])
            | (a["last_range"] < self.tol_fun)
            | ~(high <= self.max_condition * low)
        )

    # -- state -----------------------------------------------------------------------------

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Everything, settings included, as float64/int64 arrays (``np.savez``, no pickle)."""
        settings = {
            "version": STATE_VERSION,
            "covariance": COVARIANCE_MODELS.index(self.covariance),
            "mirrored": int(self.mirrored),
            "patience": self.patience,
            "tol_x": self.tol_x,
            "tol_fun": self.tol_fun,
            "tol_up": self.tol_up,
            "max_condition": self.max_condition,
        }
        arrays = {name: np.array(value, _SETTINGS[name]) for name, value in settings.items()}
        arrays.update({name: values.copy() for name, values in self._arrays.items()})
        return arrays

    @classmethod
    def from_state_arrays(cls, arrays: dict[str, np.ndarray]) -> BatchedCmaEs:
        """The optimiser :meth:`state_arrays` described, exactly; ValueError naming the problem
        if the arrays are damaged."""
        settings = _read_settings(arrays)
        if "mean" not in arrays:
            raise ValueError("CMA-ES state: missing arrays ['mean']")
        mean = np.asarray(arrays["mean"])
        if mean.ndim != 2 or 0 in mean.shape:
            raise ValueError(f"CMA-ES state: 'mean' must be [K, n], got shape {mean.shape}")
        es = cls(mean.shape[0], mean.shape[1], **settings)
        es._load_checked(arrays)
        return es

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore :meth:`state_arrays` of an optimiser with these settings, exactly."""
        settings = _read_settings(arrays)
        mine = {key: value for key, value in self.config().items() if key in settings}
        if settings != mine:
            differ = sorted(key for key in settings if settings[key] != mine[key])
            raise ValueError(f"CMA-ES state: settings differ from this optimiser's: {differ}")
        self._load_checked(arrays)

    def _load_checked(self, arrays: dict[str, np.ndarray]) -> None:
        fields = self._fields()
        unknown = sorted(set(arrays) - set(fields) - set(_SETTINGS))
        if unknown:
            raise ValueError(f"CMA-ES state: unknown arrays {unknown}")
        missing = sorted(set(fields) - set(arrays))
        if missing:
            raise ValueError(f"CMA-ES state: missing arrays {missing}")
        shapes = {"K": self.num_instances, "n": self.dimension}
        loaded = {}
        for name, (dtype, shape) in fields.items():
            values = np.asarray(arrays[name])
            expected = tuple(shapes[s] for s in shape)
            if values.shape != expected:
                raise ValueError(
                    f"CMA-ES state: {name!r} has shape {values.shape}, expected {expected}"
                )
            if values.dtype != dtype:
                raise ValueError(
                    f"CMA-ES state: {name!r} has dtype {values.dtype}, expected {np.dtype(dtype)}"
                )
            bad = np.isnan(values) if name in _INFINITE_ALLOWED else ~np.isfinite(values)
            if bad.any():
                raise ValueError(f"CMA-ES state: {name!r} holds NaN or inf")
            loaded[name] = np.array(values)
        _check_values(loaded, self.covariance)
        self._arrays = loaded

    # -- internals -------------------------------------------------------------------------

    @property
    def _full(self) -> bool:
        return self.covariance == "full"

    def _fields(self) -> dict[str, tuple[type, tuple[str, ...]]]:
        return {**_COMMON_FIELDS, **_MODEL_FIELDS[self.covariance]}

    def _indices(self, which: np.ndarray) -> np.ndarray:
        index = np.asarray(which)
        if index.size == 0:
            return np.zeros(0, np.int64)
        if index.ndim != 1 or index.dtype.kind not in "iu":
            raise ValueError(f"which must be a 1-D array of instance indices, got {index!r}")
        if index.min() < 0 or index.max() >= self.num_instances:
            raise ValueError(f"which must index 0..{self.num_instances - 1}, got {index}")
        if len(np.unique(index)) != len(index):
            raise ValueError("which names an instance twice")
        return index.astype(np.int64)

    def _population_size(self, lam: int) -> int:
        if int(lam) != lam or lam < 2:
            raise ValueError(f"lam must be an integer >= 2, got {lam}")
        if self.mirrored and lam % 2:
            raise ValueError(f"mirrored sampling needs an even lam, got {lam}")
        return int(lam)

    def _selection(self, fitness: np.ndarray, mu: int) -> np.ndarray:
        """Indices ``[k, mu]`` of the samples to recombine, best first (stable on ties)."""
        if not self.mirrored:
            return np.argsort(-fitness, axis=1, kind="stable")[:, :mu]
        half = fitness.shape[1] // 2  # pairwise: the better of samples j and j + half
        first = np.arange(half)
        winners = np.where(fitness[:, half:] > fitness[:, :half], first + half, first)
        order = np.argsort(-np.take_along_axis(fitness, winners, 1), axis=1, kind="stable")
        return np.take_along_axis(winners, order, 1)[:, :mu]

    def _track_best(self, index: np.ndarray, samples: np.ndarray, fitness: np.ndarray) -> None:
        a = self._arrays
        top = np.argmax(fitness, axis=1)
        rows = np.arange(len(index))
        top_fitness = fitness[rows, top]
        better = top_fitness > a["best_fitness"][index]
        a["best_fitness"][index[better]] = top_fitness[better]
        a["best_params"][index[better]] = samples[rows[better], top[better]]
        a["stale_tells"][index] = np.where(better, 0, a["stale_tells"][index] + 1)
        high, low = fitness.max(axis=1), fitness.min(axis=1)
        a["last_range"][index] = np.where(high == low, 0.0, high - low)  # inf - inf is flat

    def _refresh_eigensystem(self, index: np.ndarray, lam: int, gap: float) -> None:
        a = self._arrays
        age = a["eigen_age"][index] + lam
        due = age > gap
        if due.any():
            values, vectors = np.linalg.eigh(a["cov"][index[due]])
            # Rounding can leave a tiny negative eigenvalue: the condition number then tells
            # stalled() to restart, while sampling stays finite meanwhile.
            a["eigenvalues"][index[due]] = np.maximum(values, np.finfo(np.float64).tiny)
            a["eigenvectors"][index[due]] = vectors
            age[due] = 0
        a["eigen_age"][index] = age

    def _eigenvalue_range(self) -> tuple[np.ndarray, np.ndarray]:
        values = self._arrays["eigenvalues" if self._full else "cov"]
        return values.min(axis=1), values.max(axis=1)


def _read_settings(arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """The constructor's settings from state arrays, checked."""
    missing = sorted(set(_SETTINGS) - set(arrays))
    if missing:
        raise ValueError(f"CMA-ES state: missing settings {missing}")
    values = {}
    for name, dtype in _SETTINGS.items():
        value = np.asarray(arrays[name])
        if value.shape != () or value.dtype != dtype:
            raise ValueError(
                f"CMA-ES state: setting {name!r} must be a scalar of dtype {np.dtype(dtype)}"
            )
        values[name] = value.item()
    if values.pop("version") != STATE_VERSION:
        raise ValueError(f"CMA-ES state: unknown version, expected {STATE_VERSION}")
    if values["covariance"] not in range(len(COVARIANCE_MODELS)):
        raise ValueError(f"CMA-ES state: unknown covariance model {values['covariance']}")
    if values["mirrored"] not in (0, 1):
        raise ValueError(f"CMA-ES state: 'mirrored' must be 0 or 1, got {values['mirrored']}")
    values["covariance"] = COVARIANCE_MODELS[values["covariance"]]
    values["mirrored"] = bool(values["mirrored"])
    floats = ("tol_x", "tol_fun", "tol_up", "max_condition")
    if not all(np.isfinite(values[name]) for name in floats):
        raise ValueError("CMA-ES state: a tolerance is NaN or inf")
    return values


def _check_values(arrays: dict[str, np.ndarray], covariance: str) -> None:
    """Values a working optimiser cannot hold (shapes, dtypes and finiteness already checked)."""
    for name in ("sigma", "sigma0"):
        if not (arrays[name] > 0).all():
            raise ValueError(f"CMA-ES state: {name!r} must be positive")
    for name in ("generation", "stale_tells", "restarts", "eigen_age", "last_range"):
        if name in arrays and (arrays[name] < 0).any():
            raise ValueError(f"CMA-ES state: {name!r} must not be negative")
    if covariance == "full":
        cov = arrays["cov"]
        if not (cov == cov.transpose(0, 2, 1)).all():
            raise ValueError("CMA-ES state: 'cov' is not symmetric")
        if not (arrays["eigenvalues"] > 0).all():
            raise ValueError("CMA-ES state: 'eigenvalues' must be positive")
    elif not (arrays["cov"] > 0).all():
        raise ValueError("CMA-ES state: 'cov' (the diagonal) must be positive")


def _readonly(values: np.ndarray) -> np.ndarray:
    view = values.view()
    view.flags.writeable = False
    return view
