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
    if not populations:
        return CppnPopulation.empty(0)
    joined = populations[0][np.arange(len(populations[0]))]
    for pop in populations[1:]:  # pairwise: the gather kernel takes two sources
        rows = np.concatenate([np.arange(len(joined)), np.arange(len(pop))])
        which = np.repeat(np.array([0, 1], dtype=np.int64), [len(joined), len(pop)])
        joined = _gather([joined, pop], rows, which)
    return joined


_COLUMNS = ("key", "node_start", "link_start", *NODE_FIELDS, *LINK_FIELDS)


def _gather(sources: list[CppnPopulation], rows: np.ndarray, which: np.ndarray) -> CppnPopulation:
    """Genome ``rows[j]`` of ``sources[which[j]]`` (one or two sources) for each j, as a new
    population; raises IndexError for a row a source does not have."""
    if not 1 <= len(sources) <= 2:
        raise ValueError(f"gather takes one or two source populations, got {len(sources)}")
    first, second = sources[0], sources[-1]
    arrays = _gather_kernel(
        np.asarray(rows, dtype=np.int64),
        np.asarray(which, dtype=np.int64),
        *(getattr(first, name) for name in _COLUMNS),
        *(getattr(second, name) for name in _COLUMNS),
    )
    return CppnPopulation(**dict(zip(_COLUMNS, arrays, strict=True)))


@numba.njit(cache=True, inline="always")
def _copy_genome(  # noqa: PLR0913 - a compiled kernel takes its arrays one by one
    r,
    j,
    node_start,
    link_start,
    src_node_start,
    src_link_start,
    src_node_key,
    src_node_activation,
    src_node_bias,
    src_node_response,
    src_link_in,
    src_link_out,
    src_link_weight,
    src_link_innovation,
    src_link_enabled,
    node_key,
    node_activation,
    node_bias,
    node_response,
    link_in,
    link_out,
    link_weight,
    link_innovation,
    link_enabled,
):  # noqa: ANN001, ANN202 - fmt: skip
    """Copy genome ``r`` of a source into slot ``j`` of the output columns."""
    a, o = src_node_start[r], node_start[j]
    for i in range(node_start[j + 1] - o):
        node_key[o + i] = src_node_key[a + i]
        node_activation[o + i] = src_node_activation[a + i]
        node_bias[o + i] = src_node_bias[a + i]
        node_response[o + i] = src_node_response[a + i]
    a, o = src_link_start[r], link_start[j]
    for i in range(link_start[j + 1] - o):
        link_in[o + i] = src_link_in[a + i]
        link_out[o + i] = src_link_out[a + i]
        link_weight[o + i] = src_link_weight[a + i]
        link_innovation[o + i] = src_link_innovation[a + i]
        link_enabled[o + i] = src_link_enabled[a + i]


@numba.njit(cache=True)
def _gather_kernel(  # noqa: PLR0913, PLR0915 - a compiled kernel takes its arrays one by one
    rows,
    which,
    a_key,
    a_node_start,
    a_link_start,
    a_node_key,
    a_node_activation,
    a_node_bias,
    a_node_response,
    a_link_in,
    a_link_out,
    a_link_weight,
    a_link_innovation,
    a_link_enabled,
    b_key,
    b_node_start,
    b_link_start,
    b_node_key,
    b_node_activation,
    b_node_bias,
    b_node_response,
    b_link_in,
    b_link_out,
    b_link_weight,
    b_link_innovation,
    b_link_enabled,
):  # noqa: ANN001, ANN202 - fmt: skip
    """Every column of the gathered population, in :data:`_COLUMNS` order.

    One compiled pass (sizes, offsets, then the copies): the NumPy form cost some 40 array
    operations per call, and the loop gathers two or three times a generation, each time just
    after a forward pass has pushed the interpreter's working set out of the caches.
    """
    n = rows.size
    key = np.empty(n, dtype=np.int64)
    node_start = np.zeros(n + 1, dtype=np.int64)
    link_start = np.zeros(n + 1, dtype=np.int64)
    for j in range(n):
        r = rows[j]
        if which[j] == 0:
            if r < 0 or r >= a_key.size:
                raise IndexError("gather: row out of range")
            key[j] = a_key[r]
            nodes = a_node_start[r + 1] - a_node_start[r]
            links = a_link_start[r + 1] - a_link_start[r]
        else:
            if r < 0 or r >= b_key.size:
                raise IndexError("gather: row out of range")
            key[j] = b_key[r]
            nodes = b_node_start[r + 1] - b_node_start[r]
            links = b_link_start[r + 1] - b_link_start[r]
        node_start[j + 1] = node_start[j] + nodes
        link_start[j + 1] = link_start[j] + links
    node_key = np.empty(node_start[n], dtype=a_node_key.dtype)
    node_activation = np.empty(node_start[n], dtype=a_node_activation.dtype)
    node_bias = np.empty(node_start[n], dtype=a_node_bias.dtype)
    node_response = np.empty(node_start[n], dtype=a_node_response.dtype)
    link_in = np.empty(link_start[n], dtype=a_link_in.dtype)
    link_out = np.empty(link_start[n], dtype=a_link_out.dtype)
    link_weight = np.empty(link_start[n], dtype=a_link_weight.dtype)
    link_innovation = np.empty(link_start[n], dtype=a_link_innovation.dtype)
    link_enabled = np.empty(link_start[n], dtype=a_link_enabled.dtype)
    for j in range(n):
        if which[j] == 0:
            _copy_genome(
                rows[j], j, node_start, link_start,
                a_node_start, a_link_start, a_node_key, a_node_activation, a_node_bias,
                a_node_response, a_link_in, a_link_out, a_link_weight, a_link_innovation,
                a_link_enabled,
                node_key, node_activation, node_bias, node_response,
                link_in, link_out, link_weight, link_innovation, link_enabled,
            )  # fmt: skip
        else:
            _copy_genome(
                rows[j], j, node_start, link_start,
                b_node_start, b_link_start, b_node_key, b_node_activation, b_node_bias,
                b_node_response, b_link_in, b_link_out, b_link_weight, b_link_innovation,
                b_link_enabled,
                node_key, node_activation, node_bias, node_response,
                link_in, link_out, link_weight, link_innovation, link_enabled,
            )  # fmt: skip
    return (
        key, node_start, link_start, node_key, node_activation, node_bias, node_response,
        link_in, link_out, link_weight, link_innovation, link_enabled,
    )  # fmt: skip
