"""The CMA emitter: one CMA-ES per class, each maximising its class's log-odds (CMA-ME's
improvement emitters, Fontaine et al. 2020, with one strategy per cell of a discrete archive).

Each generation the emitter picks the classes still below the run's threshold, in turn (a
cursor goes round them, so every class is served before any is served twice), gives each
picked class ``lam`` children sampled from its strategy, and tells each strategy its children's
log-odds for its class. A strategy starts, and restarts when it stalls (:meth:`BatchedCmaEs.
stalled`), from its class's current elite, whichever emitter found it. Classes already at the
threshold get no children; once every class is there the emitter serves them all again (the run
goes on only if its stop conditions say so). It asks for at most ``count`` children: fewer when
few classes are left, so a fooled class costs no more evaluations.

What it searches is :mod:`evolve.emitters.parameters`: a coarse logit grid for direct genomes,
the connection weights of the elite's network for CPPNs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from archives import EliteArchive
from evolve.emitters.base import EmitterError
from evolve.emitters.cma_es import COVARIANCE_MODELS, BatchedCmaEs
from evolve.emitters.parameters import CppnWeights, GridImage, default_grid
from fitness.scores import Scores

#: Defaults, documented with their sources in docs/protocol.md ("Emitters").
DEFAULT_LAM = 10
DEFAULT_SIGMA = {"direct": 2.0, "cppn": 2.0}
DEFAULT_WEIGHTS = 64


class CmaEmitter:
    """Per-class CMA-ES over a low-dimensional parameterisation of the run's genomes."""

    name = "cma"

    def __init__(
        self,
        encoding: Any,
        archive_classes: np.ndarray,
        threshold: float,
        *,
        lam: int = DEFAULT_LAM,
        sigma: float | None = None,
        grid: int | None = None,
        weights: int = DEFAULT_WEIGHTS,
        covariance: str = "sep",
    ) -> None:
        if not isinstance(lam, int) or lam < 2:
            raise EmitterError(f"cma lam must be an integer >= 2, got {lam!r}")
        if covariance not in COVARIANCE_MODELS:
            raise EmitterError(f"cma covariance must be one of {', '.join(COVARIANCE_MODELS)}")
        kind = encoding.name
        sigma = DEFAULT_SIGMA[kind] if sigma is None else sigma
        if not (isinstance(sigma, int | float) and 0 < sigma < np.inf):
            raise EmitterError(f"cma sigma must be a positive number, got {sigma!r}")
        self.cell_classes = np.asarray(archive_classes, dtype=np.int64)
        num_cells = len(self.cell_classes)
        if kind == "direct":
            if weights != DEFAULT_WEIGHTS:
                raise EmitterError("cma weights is a CPPN setting; the direct encoding has grid")
            grid = default_grid(*encoding.image_shape[1:]) if grid is None else grid
            self.parameters: Any = GridImage(encoding, grid)
        else:
            if grid is not None:
                raise EmitterError("cma grid is a direct-encoding setting; CPPNs have weights")
            self.parameters = CppnWeights(encoding, num_cells, weights)
        self.kind, self.threshold = kind, float(threshold)
        self.lam, self.sigma, self.grid, self.weights = lam, float(sigma), grid, weights
        self.strategies = BatchedCmaEs(num_cells, self.parameters.dimension, covariance=covariance)
        self.started = np.zeros(num_cells, dtype=bool)
        self.cursor = 0  # the next class in turn
        self._pending: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def min_children(self) -> int:
        """One class's children: the fewest a generation can give this emitter."""
        return self.lam

    def config(self) -> dict[str, Any]:
        """Settings for config.json."""
        settings = {"name": self.name, "lam": self.lam, "sigma": self.sigma}
        settings["covariance"] = self.strategies.covariance
        if self.kind == "direct":
            settings["grid"] = self.grid
        else:
            settings["weights"] = self.weights
        return settings

    # ------------------------------------------------------------------------- ask / tell
    def ask(
        self, archive: EliteArchive, rng: np.random.Generator, generation: int, count: int
    ) -> Any:
        """``lam`` children for each of up to ``count // lam`` classes below the threshold."""
        del generation
        cells = self._cells_in_turn(archive, max(count // self.lam, 1))
        self._start(archive, cells[~self.started[cells]])
        cells = cells[self.started[cells]]  # an empty cell has nothing to start from yet
        samples = self.strategies.ask(cells, self.lam, rng)
        self._pending = (cells, samples)
        return self.parameters.genomes(cells, samples)

    def tell(
        self, children: Any, scores: Scores, archive: EliteArchive, improved: np.ndarray
    ) -> None:
        """Each strategy learns from its children's log-odds for its class; stalled strategies
        restart from their class's elite."""
        del children, improved
        if self._pending is None:
            return
        cells, samples = self._pending
        self._pending = None
        lam = samples.shape[1]
        log_odds = scores.log_odds.reshape(len(cells), lam, -1)
        fitness = np.take_along_axis(log_odds, self.cell_classes[cells][:, None, None], axis=2)[
            ..., 0
        ]
        self.strategies.tell(cells, samples, fitness)
        stalled = np.flatnonzero(self.strategies.stalled())
        if stalled.size:
            self.strategies.restart(stalled, self.parameters.start(archive, stalled), self.sigma)

    def _cells_in_turn(self, archive: EliteArchive, slots: int) -> np.ndarray:
        """Up to ``slots`` cells below the threshold (all cells once none is), in turn."""
        waiting = np.flatnonzero(archive.cell_fitness() < self.threshold)
        if waiting.size == 0:
            waiting = np.arange(archive.num_cells)
        first = np.searchsorted(waiting, self.cursor)  # the first waiting cell at the cursor
        chosen = np.roll(waiting, -first)[:slots]
        self.cursor = int(chosen[-1]) + 1
        return np.sort(chosen)

    def _start(self, archive: EliteArchive, cells: np.ndarray) -> None:
        """Start the strategies of ``cells`` from their elites (cells with none stay unstarted)."""
        cells = cells[archive.occupied[cells]]
        if cells.size:
            self.strategies.reset(cells, self.parameters.start(archive, cells), self.sigma)
            self.started[cells] = True

    # ------------------------------------------------------------------------- state
    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The strategies, which have started, the cursor and the parameterisation's arrays."""
        arrays = {f"es.{k}": v for k, v in self.strategies.state_arrays().items()}
        arrays.update({f"param.{k}": v for k, v in self.parameters.state().items()})
        arrays["started"] = self.started.copy()
        return {"cursor": self.cursor}, arrays

    def load_state(self, values: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore :meth:`state`; a damaged or foreign state raises :class:`EmitterError`."""
        num_cells = len(self.cell_classes)
        cursor = values.get("cursor")
        if set(values) != {"cursor"} or not isinstance(cursor, int) or not 0 <= cursor <= num_cells:
            raise EmitterError("cma: its cursor is missing or out of range")
        started = arrays.get("started")
        if started is None or started.dtype != np.bool_ or started.shape != (num_cells,):
            raise EmitterError(f"cma: expected a started flag for each of {num_cells} cells")
        own = {k[3:]: v for k, v in arrays.items() if k.startswith("es.")}
        params = {k[6:]: v for k, v in arrays.items() if k.startswith("param.")}
        if len(own) + len(params) + 1 != len(arrays):
            raise EmitterError("cma: the checkpoint holds arrays of no part of the emitter")
        try:
            strategies = BatchedCmaEs.from_state_arrays(own)
        except ValueError as exc:
            raise EmitterError(f"cma: {exc}") from None
        expected = (num_cells, self.parameters.dimension, self.strategies.covariance)
        if (strategies.num_instances, strategies.dimension, strategies.covariance) != expected:
            raise EmitterError("cma: its strategies do not fit this run's classes and settings")
        self.parameters.load_state(params, num_cells)
        self.strategies, self.started, self.cursor = strategies, started.copy(), cursor

    def counters(self) -> dict[str, int]:
        """Black-box: no queries beyond its children."""
        return {}
