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
    rows = [np.arange(len(p), dtype=np.int64) for p in populations]
    which = [np.full(len(p), i, dtype=np.int64) for i, p in enumerate(populations)]
    if not populations:
        return CppnPopulation.empty(0)
    return _gather(populations, np.concatenate(rows), np.concatenate(which))


@numba.njit(cache=True)
def _copy_genomes(
    which: np.ndarray,
    source: int,
    rows: np.ndarray,
    src_node_start: np.ndarray,
    src_link_start: np.ndarray,
    node_key: np.ndarray,
    node_activation: np.ndarray,
    node_bias: np.ndarray,
    node_response: np.ndarray,
    link_in: np.ndarray,
    link_out: np.ndarray,
    link_weight: np.ndarray,
    link_innovation: np.ndarray,
    link_enabled: np.ndarray,
    node_start: np.ndarray,
    link_start: np.ndarray,
    out_node_key: np.ndarray,
    out_node_activation: np.ndarray,
    out_node_bias: np.ndarray,
    out_node_response: np.ndarray,
    out_link_in: np.ndarray,
    out_link_out: np.ndarray,
    out_link_weight: np.ndarray,
    out_link_innovation: np.ndarray,
    out_link_enabled: np.ndarray,
) -> None:
    """Copy genome ``rows[j]`` of one source into slot j for each j with ``which[j] == source``.

    One compiled pass over the genomes: the NumPy form (index ranges, then a fancy-indexed gather
    per column) cost some 40 array operations per call, 0.1 ms at any size, and the loop gathers
    two or three times a generation.
    """
    for j in range(rows.size):
        if which[j] != source:
            continue
        r = rows[j]
        a, o = src_node_start[r], node_start[j]
        for i in range(node_start[j + 1] - o):
            out_node_key[o + i] = node_key[a + i]
            out_node_activation[o + i] = node_activation[a + i]
            out_node_bias[o + i] = node_bias[a + i]
            out_node_response[o + i] = node_response[a + i]
        a, o = src_link_start[r], link_start[j]
        for i in range(link_start[j + 1] - o):
            out_link_in[o + i] = link_in[a + i]
            out_link_out[o + i] = link_out[a + i]
            out_link_weight[o + i] = link_weight[a + i]
            out_link_innovation[o + i] = link_innovation[a + i]
            out_link_enabled[o + i] = link_enabled[a + i]


def _gather(sources: list[CppnPopulation], rows: np.ndarray, which: np.ndarray) -> CppnPopulation:
    """Genome ``rows[j]`` of ``sources[which[j]]`` for each j, as a new population."""
    rows = np.asarray(rows, dtype=np.int64)
    which = np.asarray(which, dtype=np.int64)
    key = np.empty(len(rows), dtype=np.int64)
    n_count = np.empty(len(rows), dtype=np.int64)
    l_count = np.empty(len(rows), dtype=np.int64)
    for s, pop in enumerate(sources):  # one step per source population, not per genome
        mask = which == s
        r = rows[mask]
        key[mask] = pop.key[r]
        n_count[mask] = pop.node_start[r + 1] - pop.node_start[r]
        l_count[mask] = pop.link_start[r + 1] - pop.link_start[r]
    node_start = np.zeros(len(rows) + 1, dtype=np.int64)
    link_start = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(n_count, out=node_start[1:])
    np.cumsum(l_count, out=link_start[1:])
    columns = {name: np.empty(node_start[-1], dtype=t) for name, t in NODE_FIELDS.items()}
    columns.update({name: np.empty(link_start[-1], dtype=t) for name, t in LINK_FIELDS.items()})
    for s, pop in enumerate(sources):
        _copy_genomes(
            which, s, rows, pop.node_start, pop.link_start,
            *(getattr(pop, name) for name in columns), node_start, link_start, *columns.values(),
        )  # fmt: skip
    return CppnPopulation(key=key, node_start=node_start, link_start=link_start, **columns)
