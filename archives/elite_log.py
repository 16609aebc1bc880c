"""A log of elites across generations: every new elite at or above a confidence, in order.

The archive keeps only the current elite per class; studies that need many fooling images (the
retraining loop) draw them from this log instead. It is saved with each checkpoint and truncated to
the checkpoint's generation on resume, so a resumed run logs exactly what an uninterrupted one does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from archives.atomic import atomic_save_npz
from archives.elite_archive import ArchiveError, read_npz

FIELDS = ("cell", "generation", "fitness")
GENOME_PREFIX = "genome/"


class EliteLog:
    """Append-only columns: cell, generation, fitness, and the genome as plain arrays."""

    def __init__(self) -> None:
        self._chunks: list[dict[str, np.ndarray]] = []

    def __len__(self) -> int:
        return sum(len(chunk["cell"]) for chunk in self._chunks)

    def append(
        self,
        genome_arrays: dict[str, np.ndarray],
        cells: np.ndarray,
        generation: int,
        fitness: np.ndarray,
    ) -> None:
        """Log elites (genomes already converted with ``encoding.to_arrays``)."""
        if len(cells) == 0:
            return
        chunk = {
            "cell": np.asarray(cells, dtype=np.int64),
            "generation": np.full(len(cells), generation, dtype=np.int64),
            "fitness": np.asarray(fitness, dtype=np.float64),
        }
        chunk.update({GENOME_PREFIX + key: value for key, value in genome_arrays.items()})
        self._chunks.append(chunk)

    def columns(self) -> dict[str, np.ndarray]:
        """All entries, one array per column."""
        if not self._chunks:
            return {
                name: np.zeros(0, dtype=np.float64 if name == "fitness" else np.int64)
                for name in FIELDS
            }
        return {key: _stack_rows([c[key] for c in self._chunks]) for key in self._chunks[0]}

    def genome_arrays(self) -> dict[str, np.ndarray]:
        """The genome columns, keyed as ``encoding.to_arrays`` returned them."""
        return {
            key[len(GENOME_PREFIX) :]: value
            for key, value in self.columns().items()
            if key.startswith(GENOME_PREFIX)
        }

    def truncate(self, last_generation: int) -> None:
        """Drop entries logged after ``last_generation``."""
        columns = self.columns()
        keep = columns["generation"] <= last_generation
        self._chunks = [{key: value[keep] for key, value in columns.items()}] if keep.any() else []

    def save(self, path: str | Path) -> None:
        """Write atomically as ``.npz``."""
        atomic_save_npz(path, self.columns())

    @classmethod
    def load(cls, path: str | Path) -> EliteLog:
        """Read a log written by :meth:`save`."""
        columns = read_npz(path)
        if any(name not in columns for name in FIELDS):
            raise ArchiveError(f"{path} is not an elite log")
        log = cls()
        if len(columns["cell"]):
            log._chunks = [columns]
        return log


def _stack_rows(parts: list[np.ndarray]) -> np.ndarray:
    """Concatenate by row; trailing axes of different lengths (ragged genomes) are zero-padded."""
    shape = tuple(max(sizes) for sizes in zip(*(p.shape[1:] for p in parts), strict=True))
    return np.concatenate(
        [
            p
            if p.shape[1:] == shape
            else np.pad(p, [(0, 0)] + [(0, s - n) for s, n in zip(shape, p.shape[1:], strict=True)])
            for p in parts
        ]
    )
