"""A population of CPPN genomes as a struct of arrays (no Python object per genome).

Nodes and links of all genomes lie end to end in flat arrays; genome ``i`` owns nodes
``node_start[i]:node_start[i + 1]`` and links ``link_start[i]:link_start[i + 1]`` (CSR). Within a
genome, nodes and links keep neat-python's dict insertion order, which the compiled program's link
order follows. Node keys are neat's: outputs ``0..C-1``, hidden nodes above; link ends may also be
the inputs ``-1..-4``. A genome key of -1 marks an empty cell (no nodes, no links).

It is the genome batch of the CPPN encoding: ``len``, gather (``pop[indices]``) and scatter
(``pop[cells] = other``) work on whole batches with index arithmetic, never a per-genome loop.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numba
import numpy as np

from cppn.genome_arrays import GenomeArrays

EMPTY_KEY = -1
#: Per-node and per-link columns, with their dtypes.
NODE_FIELDS = {
    "node_key": np.int64,
    "node_activation": np.int32,  # id in cppn.activations.NAMES
    "node_bias": np.float64,
    "node_response": np.float64,
}
LINK_FIELDS = {
    "link_in": np.int64,
    "link_out": np.int64,
    "link_weight": np.float64,
    "link_innovation": np.int64,
    "link_enabled": np.bool_,
}


class PopulationError(ValueError):
    """Arrays that do not describe a valid population; the message is one line."""


@dataclass
class CppnPopulation:
    """CPPN genomes as flat arrays; see the module docstring for the layout."""

    key: np.ndarray  # int64 [N], EMPTY_KEY for an empty cell
    node_start: np.ndarray  # int64 [N + 1]
    link_start: np.ndarray  # int64 [N + 1]
    node_key: np.ndarray
    node_activation: np.ndarray
    node_bias: np.ndarray
    node_response: np.ndarray
    link_in: np.ndarray
    link_out: np.ndarray
    link_weight: np.ndarray
    link_innovation: np.ndarray
    link_enabled: np.ndarray

    @classmethod
    def empty(cls, n: int) -> CppnPopulation:
        """``n`` empty cells."""
        columns = {name: np.zeros(0, dtype=t) for name, t in {**NODE_FIELDS, **LINK_FIELDS}.items()}
        zeros = np.zeros(n + 1, dtype=np.int64)
        return cls(np.full(n, EMPTY_KEY, dtype=np.int64), zeros, zeros.copy(), **columns)

    def __len__(self) -> int:
        return len(self.key)

    @property
    def occupied(self) -> np.ndarray:
        """Boolean mask of the cells that hold a genome."""
        return self.key != EMPTY_KEY

    @property
    def num_nodes(self) -> np.ndarray:
        """Node count of each genome (outputs and hidden; inputs are implicit)."""
        return np.diff(self.node_start)

    @property
    def num_links(self) -> np.ndarray:
        """Link (connection gene) count of each genome."""
        return np.diff(self.link_start)

    def node_columns(self) -> dict[str, np.ndarray]:
        """The per-node arrays by name."""
        return {name: getattr(self, name) for name in NODE_FIELDS}

    def link_columns(self) -> dict[str, np.ndarray]:
        """The per-link arrays by name."""
        return {name: getattr(self, name) for name in LINK_FIELDS}

    def arrays(self) -> GenomeArrays:
        """The columns as one record for the compiled kernels (the same arrays, no copy)."""
        return GenomeArrays(*(getattr(self, name) for name in GenomeArrays._fields))

    def copy(self) -> CppnPopulation:
        """A deep copy."""
        return CppnPopulation(**{f.name: getattr(self, f.name).copy() for f in fields(self)})

    def __getitem__(self, index: Any) -> CppnPopulation:
        """The genomes at ``index`` (integer array, boolean mask, slice or int) as a new batch."""
        rows = np.arange(len(self))[index]
        return _gather([self], np.atleast_1d(rows), np.zeros(np.size(rows), dtype=np.int64))

    def __setitem__(self, index: Any, other: CppnPopulation) -> None:
        """Replace the genomes at ``index`` with ``other``'s, in place (last write wins)."""
        self.assign(index, other, np.arange(len(other), dtype=np.int64))

    def assign(self, index: Any, other: CppnPopulation, rows: np.ndarray) -> None:
        """``self[index] = other[rows]`` in one gather, without building ``other[rows]``
        (the archive's insert, every generation)."""
        cells = np.atleast_1d(np.arange(len(self))[index])
        rows = np.atleast_1d(np.asarray(rows, dtype=np.int64))
        if len(rows) != len(cells):
            raise ValueError(f"cannot assign {len(rows)} genomes to {len(cells)} cells")
        source_pop = np.zeros(len(self), dtype=np.int64)
        source_row = np.arange(len(self), dtype=np.int64)
        source_pop[cells] = 1
        source_row[cells] = rows
        merged = _gather([self, other], source_row, source_pop)
        for f in fields(self):
            setattr(self, f.name, getattr(merged, f.name))


def concatenate(populations: list[CppnPopulation]) -> CppnPopulation:
    """The populations one after another."""
    if not populations:
        return CppnPopulation.empty(0)
    joined = populations[0][np.arange(len(populations[0]))]
    for pop in populations[1:]:  # pairwise: the gather kernel takes two sources
        rows = np.concatenate([np.arange(len(joined)), np.arange(len(pop))])
        which = np.repeat(np.array([0, 1], dtype=np.int64), [len(joined), len(pop)])
        joined = _gather([joined, pop], rows, which)
    return joined


#: Every column, in the dataclass's order (the order the gather kernel returns them in).
_COLUMNS = tuple(f.name for f in fields(CppnPopulation))


def _gather(sources: list[CppnPopulation], rows: np.ndarray, which: np.ndarray) -> CppnPopulation:
    """Genome ``rows[j]`` of ``sources[which[j]]`` (one or two sources) for each j, as a new
    population; raises IndexError for a row a source does not have."""
    if not 1 <= len(sources) <= 2:
        raise ValueError(f"gather takes one or two source populations, got {len(sources)}")
    # The kernel picks a source per genome, so both must be of one Numba type: contiguous.
    first, second = (
        tuple(np.ascontiguousarray(getattr(pop, name)) for name in _COLUMNS)
        for pop in (sources[0], sources[-1])
    )
    arrays = _gather_kernel(
        np.asarray(rows, dtype=np.int64), np.asarray(which, dtype=np.int64), first, second
    )
    return CppnPopulation(**dict(zip(_COLUMNS, arrays, strict=True)))


@numba.njit(cache=True)
def _gather_kernel(rows, which, first, second):  # noqa: ANN001, ANN202 - Numba kernel
    """Every column of the gathered population, in :data:`_COLUMNS` order; ``first`` and
    ``second`` are the sources' columns in that order.

    One compiled pass (sizes, offsets, then the copies): the NumPy form cost some 40 array
    operations per call, and the loop gathers two or three times a generation, each time just
    after a forward pass has pushed the interpreter's working set out of the caches.
    """
    n = rows.size
    key = np.empty(n, dtype=np.int64)
    node_start = np.zeros(n + 1, dtype=np.int64)
    link_start = np.zeros(n + 1, dtype=np.int64)
    for j in range(n):
        src, r = first if which[j] == 0 else second, rows[j]
        if r < 0 or r >= src[0].size:
            raise IndexError("gather: row out of range")
        key[j] = src[0][r]
        node_start[j + 1] = node_start[j] + src[1][r + 1] - src[1][r]
        link_start[j + 1] = link_start[j] + src[2][r + 1] - src[2][r]
    out = (
        np.empty(node_start[n], dtype=first[3].dtype),
        np.empty(node_start[n], dtype=first[4].dtype),
        np.empty(node_start[n], dtype=first[5].dtype),
        np.empty(node_start[n], dtype=first[6].dtype),
        np.empty(link_start[n], dtype=first[7].dtype),
        np.empty(link_start[n], dtype=first[8].dtype),
        np.empty(link_start[n], dtype=first[9].dtype),
        np.empty(link_start[n], dtype=first[10].dtype),
        np.empty(link_start[n], dtype=first[11].dtype),
    )
    for j in range(n):
        src, r = first if which[j] == 0 else second, rows[j]
        a, o = src[1][r], node_start[j]
        for i in range(node_start[j + 1] - o):
            out[0][o + i] = src[3][a + i]
            out[1][o + i] = src[4][a + i]
            out[2][o + i] = src[5][a + i]
            out[3][o + i] = src[6][a + i]
        a, o = src[2][r], link_start[j]
        for i in range(link_start[j + 1] - o):
            out[4][o + i] = src[7][a + i]
            out[5][o + i] = src[8][a + i]
            out[6][o + i] = src[9][a + i]
            out[7][o + i] = src[10][a + i]
            out[8][o + i] = src[11][a + i]
    return (key, node_start, link_start, *out)
