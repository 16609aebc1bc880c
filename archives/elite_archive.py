"""One elite per cell; a cell is a class of the target classifier.

Struct of arrays, as in pyribs: each field is one preallocated array indexed by cell, so a whole
batch is inserted with vectorised index arithmetic. The archive owns its arrays: readers get
read-only views, only :meth:`EliteArchive.insert` writes, and parents are drawn here
(:meth:`EliteArchive.sample_elites`). A candidate competes for EVERY cell (as in the
original code), not only for its argmax class: it replaces each elite whose fitness it beats
strictly. Within a batch the first of equally good candidates wins, which is what inserting the
batch one candidate at a time with a strict comparison would give.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from archives.atomic import atomic_save_npz
from archives.fooled import all_fooled, count_fooled

ARCHIVE_FORMAT = "fooling-archive"
ARCHIVE_VERSION = 1
GENOME_PREFIX = "genome/"


class ArchiveError(ValueError):
    """A saved archive or checkpoint is missing, corrupt or from something else."""


class EliteArchive:
    """Per-class elites: genomes, fitness, full probability vectors and when each was found.

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
        self._fitness = np.full(cells, -np.inf)
        self._probabilities = np.zeros((cells, len(self.class_names)))
        self._generation = np.full(cells, -1, dtype=np.int64)
        self._evaluation = np.full(cells, -1, dtype=np.int64)
        # How many scorings each elite's fitness averages (1 from its entry; more only when
        # rescores are averaged, --robust-elites average): the weight of its running mean.
        self._scorings = np.zeros(cells, dtype=np.int64)

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
    ) -> np.ndarray:
        """Insert a scored batch; return the indices of the cells whose elite was replaced.

        ``probabilities`` is ``[N, num_classes]``; candidate ``j`` is counted as evaluation number
        ``evaluations_before + j + 1`` of the run.
        """
        probabilities = np.asarray(probabilities)
        if probabilities.shape != (len(genomes), len(self.class_names)):
            raise ValueError(
                f"probabilities have shape {probabilities.shape}, "
                f"expected ({len(genomes)}, {len(self.class_names)})"
            )
        fitness = probabilities[:, self.cell_classes]
        best = fitness.argmax(axis=0)
        best_fitness = fitness[best, np.arange(self.num_cells)]
        cells = np.flatnonzero(best_fitness > self.fitness)
        if cells.size:
            winners = best[cells]
            self._replace(
                cells,
                genomes,
                winners,
                best_fitness[cells],
                probabilities,
                generation,
                evaluations_before,
            )
        return cells

    def insert_assigned(
        self,
        genomes: Any,
        probabilities: np.ndarray,
        cells: np.ndarray,
        generation: int,
        evaluations_before: int,
    ) -> np.ndarray:
        """Insert a scored batch where candidate ``j`` competes only for cell ``cells[j]``
        (gradient ascent optimises one image per class); return the cells replaced.

        The cells must be distinct. Counting is as in :meth:`insert`.
        """
        probabilities = np.asarray(probabilities)
        cells = np.asarray(cells, dtype=np.int64)
        if probabilities.shape != (len(genomes), len(self.class_names)) or cells.shape != (
            len(genomes),
        ):
            raise ValueError("need one probability row and one cell per candidate")
        if len(np.unique(cells)) != len(cells):
            raise ValueError("each cell can be assigned one candidate")
        fitness = probabilities[np.arange(len(cells)), self.cell_classes[cells]]
        better = np.flatnonzero(fitness > self._fitness[cells])
        replaced = cells[better]
        if better.size:
            self._replace(
                replaced,
                genomes,
                better,
                fitness[better],
                probabilities,
                generation,
                evaluations_before,
            )
        return replaced

    def rescore(self, cells: np.ndarray, probabilities: np.ndarray, average: bool = False) -> None:
        """Give the elites of ``cells`` new scores (``probabilities`` row ``i`` for ``cells[i]``,
        e.g. under fresh random views); which image holds each cell does not change.

        ``average``: the elite's fitness and probabilities become the running mean of all its
        scorings (this one and every earlier one, its entry score included), an estimate that
        sharpens with age; otherwise the new score replaces the old one.
        """
        cells = np.asarray(cells, dtype=np.int64)
        probabilities = np.asarray(probabilities)
        if probabilities.shape != (len(cells), len(self.class_names)):
            raise ValueError("need one probability row per cell")
        if not self.occupied[cells].all():
            raise ValueError("only occupied cells can be rescored")
        if average:
            weight = self._scorings[cells][:, None].astype(np.float64)
            probabilities = (self._probabilities[cells] * weight + probabilities) / (weight + 1.0)
            self._scorings[cells] += 1
        self._fitness[cells] = probabilities[np.arange(len(cells)), self.cell_classes[cells]]
        self._probabilities[cells] = probabilities

    def _replace(
        self,
        cells: np.ndarray,
        genomes: Any,
        rows: np.ndarray,
        fitness: np.ndarray,
        probabilities: np.ndarray,
        generation: int,
        evaluations_before: int,
    ) -> None:
        """Make candidate ``rows[i]`` of the batch the elite of ``cells[i]``, with its fitness."""
        if hasattr(self._genomes, "assign"):  # CPPN populations: one gather, not two
            self._genomes.assign(cells, genomes, rows)
        else:
            self._genomes[cells] = genomes[rows]
        self._fitness[cells] = fitness
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
        empty = self.num_cells == 0
        return {
            "coverage": float(self.occupied.mean()) if not empty else 0.0,
            "qd_score": float(values.sum()),
            "min": float(values.min()) if not empty else 0.0,
            "median": float(np.median(values)) if not empty else 0.0,
            "mean": float(values.mean()) if not empty else 0.0,
            "max": float(values.max()) if not empty else 0.0,
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
        }
        arrays = {
            "meta": np.array(json.dumps(meta)),
            "cell_classes": self.cell_classes,
            "fitness": self.fitness,
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
            if meta.get("version") != ARCHIVE_VERSION:
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
            archive._fitness = np.array(arrays["fitness"], dtype=np.float64)
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
            if archive.fitness.shape != (cells,) or archive.probabilities.shape != (cells, classes):
                raise ArchiveError("archive fields have inconsistent shapes")
            if (
                archive.generation.shape != (cells,)
                or archive.evaluation.shape != (cells,)
                or archive.scorings.shape != (cells,)
            ):
                raise ArchiveError("archive fields have inconsistent shapes")
            problem = archive._problem()
            if problem is not None:
                raise ArchiveError(problem)
        except ArchiveError:
            raise
        except (KeyError, ValueError, TypeError, json.JSONDecodeError) as exc:
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
