"""One elite per cell; a cell is a class of the target classifier.

Struct of arrays, as in pyribs: each field is one preallocated array indexed by cell, so a whole
batch is inserted with vectorised index arithmetic. The archive owns its arrays: readers get
read-only views, only :meth:`EliteArchive.insert` writes, and parents are drawn here
(:meth:`EliteArchive.sample_elites`). A candidate competes for EVERY cell (as in the
original code), not only for its argmax class: it replaces each elite whose fitness it beats
strictly. Within a batch the first of equally good candidates wins, which is what inserting the
batch one candidate at a time with a strict comparison would give.

Fitness is the cell's class probability (float64), and the probability decides every comparison
it can. Where two probabilities are exactly equal the cell's **log-odds** ``log p - log(1 - p)``,
computed by the target from its logits (:mod:`fitness.scores`), decides instead: a float64
probability is exactly 0.0 once the class's logit trails the top one by more than about 745 and
exactly 1.0 once it leads by more than about 37, so the images of a distilled network tie there
and selection would be blind (measured at T = 100: four digits never left 0.0). Breaking only
exact ties, rather than ranking by log-odds alone, keeps every decision the probability made
before bit for bit (the log-odds, computed apart from the probability, could round the other way
for two nearly equal probabilities), so runs that never saturate are unchanged.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numba
import numpy as np

from archives.atomic import atomic_save_npz
from archives.first_reached import FirstReached
from archives.fooled import all_fooled, count_fooled

ARCHIVE_FORMAT = "fooling-archive"
#: Version 2 added ``log_odds``; version 1 archives load with log-odds derived from the stored
#: probabilities (:func:`log_odds_of`), which keep the ties they had.
ARCHIVE_VERSION = 2
READABLE_VERSIONS = (1, 2)
GENOME_PREFIX = "genome/"


class ArchiveError(ValueError):
    """A saved archive or checkpoint is missing, corrupt or from something else."""


class EliteArchive:
    """Per-class elites: genomes, fitness and log-odds, full probability vectors and when each
    was found.

    ``cell_classes[i]`` is the index, in the target's output, of the class that cell ``i`` holds.
    ``genomes`` is the encoding's empty genome storage for ``len(cell_classes)`` cells.
    """

    def __init__(
        self,
        cell_classes: Sequence[int],
        class_names: Sequence[str],
        genomes: np.ndarray,
    ) -> None:
        self.cell_classes = np.asarray(cell_classes, dtype=np.int64)
        self.class_names = list(class_names)
        cells = len(self.cell_classes)
        if len(genomes) != cells:
            raise ValueError(f"genome storage holds {len(genomes)} cells, expected {cells}")
        if cells and (self.cell_classes.min() < 0 or self.cell_classes.max() >= len(class_names)):
            raise ValueError("cell_classes must index class_names")
        self._genomes = genomes
        #: The run this archive belongs to (stored in its files' metadata; None: no run id).
        self.run_id: str | None = None
        self._fitness = np.full(cells, -np.inf)
        self._log_odds = np.full(cells, -np.inf)
        self._probabilities = np.zeros((cells, len(self.class_names)))
        self._generation = np.full(cells, -1, dtype=np.int64)
        self._evaluation = np.full(cells, -1, dtype=np.int64)
        # How many scorings each elite's fitness averages (1 from its entry; more only when
        # rescores are averaged, --robust-elites average): the weight of its running mean.
        self._scorings = np.zeros(cells, dtype=np.int64)
        # Told every scored batch when set (a run sets it): queries to success per cell. Not
        # part of the archive's files; the run checkpoints it.
        self.first_reached: FirstReached | None = None

    # ------------------------------------------------------------------ read-only views
    @property
    def genomes(self) -> Any:
        """The elites' genomes by cell (read-only where the storage supports it)."""
        return _read_only(self._genomes)

    @property
    def fitness(self) -> np.ndarray:
        """Fitness (the cell's class probability) by cell; -inf where empty. Read-only."""
        return _read_only(self._fitness)

    @property
    def log_odds(self) -> np.ndarray:
        """Log-odds of each elite's fitness, the tie-breaker of equal fitness; -inf where empty.
        Read-only."""
        return _read_only(self._log_odds)

    @property
    def probabilities(self) -> np.ndarray:
        """Each elite's whole probability vector, [cells, classes]. Read-only."""
        return _read_only(self._probabilities)

    @property
    def generation(self) -> np.ndarray:
        """The generation that found each elite (-1 where empty). Read-only."""
        return _read_only(self._generation)

    @property
    def evaluation(self) -> np.ndarray:
        """The evaluation number (1-based, over the run) of each elite. Read-only."""
        return _read_only(self._evaluation)

    @property
    def scorings(self) -> np.ndarray:
        """How many scorings each elite's fitness is the mean of (0 where empty). Read-only."""
        return _read_only(self._scorings)

    @property
    def num_cells(self) -> int:
        """Number of cells (classes competed for)."""
        return len(self.cell_classes)

    @property
    def occupied(self) -> np.ndarray:
        """Boolean mask of cells that hold an elite."""
        return np.isfinite(self._fitness)

    @property
    def cell_names(self) -> list[str]:
        """The class name of each cell."""
        return [self.class_names[c] for c in self.cell_classes]

    def insert(
        self,
        genomes: np.ndarray,
        probabilities: np.ndarray,
        generation: int,
        evaluations_before: int,
        *,
        log_odds: np.ndarray | None = None,
    ) -> np.ndarray:
        """Insert a scored batch; return the indices of the cells whose elite was replaced.

        ``probabilities`` and ``log_odds`` are ``[N, num_classes]`` (``log_odds`` None: derived
        from the probabilities, which breaks no tie); candidate ``j`` is counted as evaluation
        number ``evaluations_before + j + 1`` of the run. ``first_reached``, when set, is told
        the whole batch (its first candidate at the threshold may not be the one kept).
        """
        probabilities, log_odds = self._checked_scores(len(genomes), probabilities, log_odds)
        if self.first_reached is not None:
            self.first_reached.note(probabilities, generation, evaluations_before)
        # Filled by the kernel, which returns how many cells it filled: arrays handed in cost
        # less than arrays handed back (a few us a call, every generation).
        cells = np.empty(self.num_cells, dtype=np.int64)
        rows = np.empty(self.num_cells, dtype=np.int64)
        fitness, keys = np.empty(self.num_cells), np.empty(self.num_cells)
        count = _challengers(
            np.ascontiguousarray(probabilities, dtype=np.float64),
            np.ascontiguousarray(log_odds, dtype=np.float64),
            self.cell_classes, self._fitness, self._log_odds, cells, rows, fitness, keys,
        )  # fmt: skip
        cells, rows, fitness, keys = cells[:count], rows[:count], fitness[:count], keys[:count]
        if count:
            self._replace(
                cells, genomes, rows, fitness, keys, probabilities, generation, evaluations_before
            )
        return cells

    def _checked_scores(
        self, rows: int, probabilities: np.ndarray, log_odds: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Both score arrays as ``[rows, num_classes]``; log-odds derived if not given."""
        probabilities = np.asarray(probabilities)
        expected = (rows, len(self.class_names))
        if probabilities.shape != expected:
            raise ValueError(f"probabilities have shape {probabilities.shape}, expected {expected}")
        log_odds = log_odds_of(probabilities) if log_odds is None else np.asarray(log_odds)
        if log_odds.shape != expected:
            raise ValueError(f"log-odds have shape {log_odds.shape}, expected {expected}")
        return probabilities, log_odds

    def insert_assigned(
        self,
        genomes: Any,
        probabilities: np.ndarray,
        cells: np.ndarray,
        generation: int,
        evaluations_before: int,
        *,
        log_odds: np.ndarray | None = None,
    ) -> np.ndarray:
        """Insert a scored batch where candidate ``j`` competes only for cell ``cells[j]``
        (gradient ascent optimises one image per class); return the cells replaced.

        The cells must be distinct. Counting and ``log_odds`` are as in :meth:`insert`.
        """
        cells = np.asarray(cells, dtype=np.int64)
        if cells.shape != (len(genomes),):
            raise ValueError("need one probability row and one cell per candidate")
        probabilities, log_odds = self._checked_scores(len(genomes), probabilities, log_odds)
        if len(np.unique(cells)) != len(cells):
            raise ValueError("each cell can be assigned one candidate")
        if self.first_reached is not None:
            self.first_reached.note_assigned(probabilities, cells, generation, evaluations_before)
        rows, classes = np.arange(len(cells)), self.cell_classes[cells]
        fitness, keys = probabilities[rows, classes], log_odds[rows, classes]
        better = np.flatnonzero(_beats(fitness, keys, self._fitness[cells], self._log_odds[cells]))
        replaced = cells[better]
        if better.size:
            self._replace(
                replaced,
                genomes,
                better,
                fitness[better],
                keys[better],
                probabilities,
                generation,
                evaluations_before,
            )
        return replaced

    def rescore(
        self,
        cells: np.ndarray,
        probabilities: np.ndarray,
        *,
        log_odds: np.ndarray | None = None,
        average: bool = False,
    ) -> None:
        """Give the elites of ``cells`` new scores (``probabilities`` and ``log_odds`` row ``i``
        for ``cells[i]``, e.g. under fresh random views); which image holds each cell does not
        change.

        ``average``: the elite's fitness and probabilities become the running mean of all its
        scorings (this one and every earlier one, its entry score included), an estimate that
        sharpens with age; otherwise the new score replaces the old one.
        """
        cells = np.asarray(cells, dtype=np.int64)
        probabilities, log_odds = self._checked_scores(len(cells), probabilities, log_odds)
        if not self.occupied[cells].all():
            raise ValueError("only occupied cells can be rescored")
        rows, classes = np.arange(len(cells)), self.cell_classes[cells]
        cell_log_odds = log_odds[rows, classes]
        if average:
            weight = self._scorings[cells].astype(np.float64)
            probabilities = (self._probabilities[cells] * weight[:, None] + probabilities) / (
                weight[:, None] + 1.0
            )
            # The tie-breaker follows the same running mean, taken on the log-odds: it is only
            # consulted where averaged probabilities tie exactly (saturated at 0 or 1).
            cell_log_odds = (self._log_odds[cells] * weight + cell_log_odds) / (weight + 1.0)
            self._scorings[cells] += 1
        self._fitness[cells] = probabilities[rows, classes]
        self._log_odds[cells] = cell_log_odds
        self._probabilities[cells] = probabilities

    def _replace(
        self,
        cells: np.ndarray,
        genomes: Any,
        rows: np.ndarray,
        fitness: np.ndarray,
        log_odds: np.ndarray,
        probabilities: np.ndarray,
        generation: int,
        evaluations_before: int,
    ) -> None:
        """Make candidate ``rows[i]`` of the batch the elite of ``cells[i]``, with its fitness
        and log-odds."""
        if hasattr(self._genomes, "assign"):  # CPPN populations: one gather, not two
            self._genomes.assign(cells, genomes, rows)
        else:
            self._genomes[cells] = genomes[rows]
        self._fitness[cells] = fitness
        self._log_odds[cells] = log_odds
        self._probabilities[cells] = probabilities[rows]
        self._generation[cells] = generation
        self._evaluation[cells] = evaluations_before + rows + 1
        self._scorings[cells] = 1

    def sample_elites(self, count: int, rng: np.random.Generator) -> Any:
        """``count`` elites' genomes drawn uniformly, with replacement, from occupied cells.

        An image that holds k cells is drawn with k times the weight, as in the original code.
        """
        occupied = np.flatnonzero(self.occupied)
        if occupied.size == 0:
            raise RuntimeError("cannot sample elites from an empty archive")
        return self._genomes[occupied[rng.integers(occupied.size, size=count)]]

    def cell_fitness(self) -> np.ndarray:
        """Fitness per cell with empty cells counted as 0 (no confidence)."""
        return np.where(self.occupied, self.fitness, 0.0)

    def stats(self, threshold: float) -> dict[str, Any]:
        """Coverage, QD-score (sum of cell fitness) and the spread of cell fitness.

        Empty cells count as fitness 0, so the minimum is the weakest class's confidence.
        """
        values = self.cell_fitness()
        n = self.num_cells
        # One sort gives min, max and median (np.median's values: the middle one, or the mean of
        # the middle two); the metrics line asks every generation, and np.median alone cost more
        # than the rest together.
        ordered = np.sort(values)
        qd_score = float(values.sum())
        return {
            "coverage": int(self.occupied.sum()) / n if n else 0.0,
            "qd_score": qd_score,
            "min": float(ordered[0]) if n else 0.0,
            "median": float((ordered[(n - 1) // 2] + ordered[n // 2]) / 2) if n else 0.0,
            "mean": qd_score / n if n else 0.0,
            "max": float(ordered[-1]) if n else 0.0,
            "cells_at_threshold": count_fooled(values, threshold),
            "threshold": threshold,
        }

    def all_at(self, threshold: float) -> bool:
        """Whether every cell holds an elite that counts as fooling at ``threshold``."""
        return all_fooled(self.cell_fitness(), threshold)

    def best_by_class(self) -> dict[str, float]:
        """Map from class name to the best confidence found for it (0 when empty)."""
        return {
            name: float(v) for name, v in zip(self.cell_names, self.cell_fitness(), strict=True)
        }

    # ----------------------------------------------------------------------------- persistence
    def to_arrays(self, encoding: Any) -> dict[str, np.ndarray]:
        """All fields as plain arrays (genomes through ``encoding.to_arrays``), for ``np.savez``."""
        meta = {
            "format": ARCHIVE_FORMAT,
            "version": ARCHIVE_VERSION,
            "class_names": self.class_names,
            "encoding": encoding.name,
            **({"run_id": self.run_id} if self.run_id is not None else {}),
        }
        arrays = {
            "meta": np.array(json.dumps(meta)),
            "cell_classes": self.cell_classes,
            "fitness": self.fitness,
            "log_odds": self.log_odds,
            "probabilities": self.probabilities,
            "generation": self.generation,
            "evaluation": self.evaluation,
            "scorings": self.scorings,
        }
        for key, value in encoding.to_arrays(self._genomes).items():
            arrays[GENOME_PREFIX + key] = value
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], encoding: Any) -> EliteArchive:
        """Rebuild an archive saved by :meth:`to_arrays`; raise :class:`ArchiveError` if foreign."""
        try:
            meta = json.loads(str(arrays["meta"]))
            if meta.get("format") != ARCHIVE_FORMAT:
                raise ArchiveError("not a fooling archive")
            if meta.get("version") not in READABLE_VERSIONS:
                raise ArchiveError(f"archive format version {meta.get('version')} is not supported")
            if meta.get("encoding") != encoding.name:
                raise ArchiveError(
                    f"archive holds {meta.get('encoding')} genomes, expected {encoding.name}"
                )
            genome_arrays = {
                key[len(GENOME_PREFIX) :]: arrays[key]
                for key in arrays
                if key.startswith(GENOME_PREFIX)
            }
            genomes = encoding.from_arrays(genome_arrays)
            archive = cls(arrays["cell_classes"], meta["class_names"], genomes)
            archive.run_id = meta.get("run_id")
            archive._fitness = np.array(arrays["fitness"], dtype=np.float64)
            archive._log_odds = (
                np.array(arrays["log_odds"], dtype=np.float64)
                if meta["version"] >= 2
                else log_odds_of(archive._fitness)
            )
            archive._probabilities = np.array(arrays["probabilities"], dtype=np.float64)
            archive._generation = np.array(arrays["generation"], dtype=np.int64)
            archive._evaluation = np.array(arrays["evaluation"], dtype=np.int64)
            # Archives saved before scorings were counted: each elite was scored once.
            archive._scorings = (
                np.array(arrays["scorings"], dtype=np.int64)
                if "scorings" in arrays
                else archive.occupied.astype(np.int64)
            )
            cells, classes = archive.num_cells, len(archive.class_names)
            per_cell = (
                archive.fitness,
                archive.log_odds,
                archive.generation,
                archive.evaluation,
                archive.scorings,
            )
            if archive.probabilities.shape != (cells, classes) or any(
                field.shape != (cells,) for field in per_cell
            ):
                raise ArchiveError("archive fields have inconsistent shapes")
            # An empty cell's log-odds are never compared (any candidate beats fitness -inf).
            archive._log_odds[~archive.occupied] = -np.inf
            problem = archive._problem()
            if problem is not None:
                raise ArchiveError(problem)
        except ArchiveError:
            raise
        except (AttributeError, KeyError, ValueError, TypeError, json.JSONDecodeError) as exc:
            raise ArchiveError(f"archive is corrupt or foreign ({exc})") from None
        return archive

    def _problem(self) -> str | None:
        """What is wrong with stored values (NaN, out of range, negative counters), or None."""
        occupied = self.occupied
        fitness = self._fitness
        if np.isnan(fitness).any() or (fitness[~occupied] != -np.inf).any():
            return "fitness holds NaN or +inf"
        if ((fitness[occupied] < 0) | (fitness[occupied] > 1)).any():
            return "fitness outside [0, 1]"
        if np.isnan(self._log_odds[occupied]).any():
            return "log_odds hold NaN"
        probabilities = self._probabilities[occupied]
        if not np.isfinite(probabilities).all() or (probabilities < 0).any():
            return "probabilities hold NaN or negative values"
        if (probabilities > 1).any():
            return "probabilities above 1"
        classes = self.cell_classes
        if len(classes) and (classes.min() < 0 or classes.max() >= len(self.class_names)):
            return "cell_classes do not index class_names"
        if (self._generation[occupied] < 0).any() or (self._evaluation[occupied] < 1).any():
            return "an elite has a negative generation or evaluation counter"
        if (self._scorings[occupied] < 1).any():
            return "an elite's scorings count is below 1"
        return None

    def save(self, path: str | Path, encoding: Any) -> None:
        """Write the archive atomically as ``.npz`` (no pickle)."""
        atomic_save_npz(path, self.to_arrays(encoding))

    @classmethod
    def load(cls, path: str | Path, encoding: Any) -> EliteArchive:
        """Load an archive written by :meth:`save`."""
        return cls.from_arrays(read_npz(path), encoding)


def log_odds_of(probabilities: np.ndarray) -> np.ndarray:
    """Log-odds ``log p - log(1 - p)`` of probabilities when they are all there is (a version 1
    archive, a caller with no logits): -inf at 0 and +inf at 1, so saturated values keep the
    ties they had, and empty cells (-inf) stay -inf."""
    p = np.asarray(probabilities, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p == -np.inf, -np.inf, np.log(p) - np.log1p(-p))


@numba.njit(cache=True, inline="always")
def _ranks_above(fitness: float, log_odds: float, old_fitness: float, old_log_odds: float) -> bool:
    """The archive's one comparison: the probability decides, and only its exact ties go to the
    higher log-odds (a NaN never ranks above anything)."""
    return fitness > old_fitness or (fitness == old_fitness and log_odds > old_log_odds)


@numba.njit(cache=True)
def _beats(
    fitness: np.ndarray, log_odds: np.ndarray, old_fitness: np.ndarray, old_log_odds: np.ndarray
) -> np.ndarray:
    """Whether each (fitness, log-odds) pair ranks strictly above the old one
    (:func:`_ranks_above`)."""
    out = np.empty(fitness.size, dtype=np.bool_)
    for i in range(fitness.size):
        out[i] = _ranks_above(fitness[i], log_odds[i], old_fitness[i], old_log_odds[i])
    return out


@numba.njit(cache=True)
def _challengers(  # noqa: PLR0913 - a compiled kernel takes its arrays one by one
    probabilities: np.ndarray,
    log_odds: np.ndarray,
    cell_classes: np.ndarray,
    old_fitness: np.ndarray,
    old_log_odds: np.ndarray,
    cells: np.ndarray,
    rows: np.ndarray,
    fitness: np.ndarray,
    keys: np.ndarray,
) -> int:
    """For each cell, the batch's best candidate: the first row with the highest (probability,
    log-odds) of the cell's class; where it beats the elite, its cell, row, fitness and log-odds
    go to the next slot of the output arrays. Returns how many did.

    One compiled pass, rows outermost (the arrays are row-major): the NumPy form took some 15
    array operations a generation, a quarter of the archive's share of the loop at MNIST's size.
    """
    n_cells = cell_classes.size
    # No candidate yet: -inf loses to any probability, and a NaN score never wins a comparison.
    best_row = np.full(n_cells, -1, dtype=np.int64)
    best_fitness = np.full(n_cells, -np.inf)
    best_key = np.full(n_cells, -np.inf)
    for row in range(probabilities.shape[0]):
        for cell in range(n_cells):
            f, k = probabilities[row, cell_classes[cell]], log_odds[row, cell_classes[cell]]
            if _ranks_above(f, k, best_fitness[cell], best_key[cell]):
                best_row[cell], best_fitness[cell], best_key[cell] = row, f, k
    count = 0
    for cell in range(n_cells):
        f, k = best_fitness[cell], best_key[cell]
        if best_row[cell] >= 0 and _ranks_above(f, k, old_fitness[cell], old_log_odds[cell]):
            cells[count], rows[count], fitness[count], keys[count] = cell, best_row[cell], f, k
            count += 1
    return count


def read_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Read every array of an ``.npz`` without pickle; raise :class:`ArchiveError` if unreadable."""
    path = Path(path)
    if not path.is_file():
        raise ArchiveError(f"no such file: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ArchiveError(f"{path} is corrupt or not an npz file ({exc})") from None


def _read_only(values: Any) -> Any:
    """A view of ``values`` that cannot be written (NumPy); other storage as it is."""
    if isinstance(values, np.ndarray):
        view = values.view()
        view.flags.writeable = False
        return view
    return values
