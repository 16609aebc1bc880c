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
        rows = np.atleast_1d(np.arange(len(self))[index])
        if len(other) != len(rows):
            raise ValueError(f"cannot assign {len(other)} genomes to {len(rows)} cells")
        source_pop = np.zeros(len(self), dtype=np.int64)
        source_row = np.arange(len(self), dtype=np.int64)
        source_pop[rows] = 1
        source_row[rows] = np.arange(len(rows))
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


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + c)`` for each (s, c), without a Python loop."""
    total = int(counts.sum())
    out_start = np.cumsum(counts) - counts
    return np.repeat(starts - out_start, counts) + np.arange(total, dtype=np.int64)


def _gather(sources: list[CppnPopulation], rows: np.ndarray, which: np.ndarray) -> CppnPopulation:
    """Genome ``rows[j]`` of ``sources[which[j]]`` for each j: concatenate, then gather."""
    offsets_n = np.cumsum([0] + [len(p.node_key) for p in sources])
    offsets_l = np.cumsum([0] + [len(p.link_in) for p in sources])
    rows = np.asarray(rows, dtype=np.int64)
    key = np.empty(len(rows), dtype=np.int64)
    n_first = np.empty(len(rows), dtype=np.int64)
    n_count = np.empty(len(rows), dtype=np.int64)
    l_first = np.empty(len(rows), dtype=np.int64)
    l_count = np.empty(len(rows), dtype=np.int64)
    for s, pop in enumerate(sources):  # one step per source population, not per genome
        mask = which == s
        r = rows[mask]
        key[mask] = pop.key[r]
        n_first[mask] = pop.node_start[r] + offsets_n[s]
        n_count[mask] = pop.node_start[r + 1] - pop.node_start[r]
        l_first[mask] = pop.link_start[r] + offsets_l[s]
        l_count[mask] = pop.link_start[r + 1] - pop.link_start[r]
    node_index = _ranges(n_first, n_count)
    link_index = _ranges(l_first, l_count)

    def column(name: str, index: np.ndarray) -> np.ndarray:
        if len(sources) == 1:
            return getattr(sources[0], name)[index]
        return np.concatenate([getattr(p, name) for p in sources])[index]

    columns = {name: column(name, node_index) for name in NODE_FIELDS}
    columns.update({name: column(name, link_index) for name in LINK_FIELDS})
    return CppnPopulation(
        key=key,
        node_start=np.concatenate([[0], np.cumsum(n_count)]).astype(np.int64),
        link_start=np.concatenate([[0], np.cumsum(l_count)]).astype(np.int64),
        **columns,
    )
