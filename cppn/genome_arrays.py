"""The genome batch as records that compiled (Numba) kernels take, instead of a positional
argument per column.

:class:`GenomeArrays` holds a population's columns under the population's own names
(:class:`~cppn.population.CppnPopulation`, less the genome keys); :class:`NodeArrays` and
:class:`LinkArrays` are one genome's nodes and links, built inside kernels as views
(:func:`node_view`, :func:`link_view`). Adding a gene attribute means a field here, its copy in
:func:`copy_node` or :func:`copy_link`, and its column in cppn.population.

Two rules for a parallel loop (``numba.prange``), from open Numba bugs (numba issues 5703, 7135
and 10338; seen with Numba 0.68): the records it uses are flat, as Numba hands a tuple's fields to
the loop's worker function one by one but not those of a tuple inside a tuple ("scalar type ...
given for non scalar argument" when compiling); and its body writes no array reached through a
record: ``out.x[i] = v`` there compiles and writes nothing (apparently the parallel pass does not
count a tuple's arrays as views of an argument, and drops the write as dead). Reads are fine, and so
are writes inside a called function that Numba does not inline (the call keeps them), so a parallel
loop's body is one such call where it writes through records; nested records are built inside.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np


class GenomeArrays(NamedTuple):
    """Genomes end to end: genome ``i`` owns nodes ``node_start[i]:node_start[i + 1]`` and links
    ``link_start[i]:link_start[i + 1]`` of the columns (the population's layout and names)."""

    node_start: np.ndarray  # int64 [N + 1]
    link_start: np.ndarray  # int64 [N + 1]
    node_key: np.ndarray  # int64
    node_activation: np.ndarray  # int32
    node_bias: np.ndarray  # float64
    node_response: np.ndarray  # float64
    link_in: np.ndarray  # int64
    link_out: np.ndarray  # int64
    link_weight: np.ndarray  # float64
    link_innovation: np.ndarray  # int64
    link_enabled: np.ndarray  # bool


class NodeArrays(NamedTuple):
    """Some genome's nodes, one view per column."""

    key: np.ndarray
    activation: np.ndarray
    bias: np.ndarray
    response: np.ndarray


class LinkArrays(NamedTuple):
    """Some genome's links, one view per column."""

    in_node: np.ndarray
    out_node: np.ndarray
    weight: np.ndarray
    innovation: np.ndarray
    enabled: np.ndarray


@numba.njit(cache=True)
def node_view(genomes: GenomeArrays, start: int, stop: int) -> NodeArrays:
    """Nodes ``start:stop`` of ``genomes``' columns (views, no copy)."""
    return NodeArrays(
        genomes.node_key[start:stop],
        genomes.node_activation[start:stop],
        genomes.node_bias[start:stop],
        genomes.node_response[start:stop],
    )


@numba.njit(cache=True)
def link_view(genomes: GenomeArrays, start: int, stop: int) -> LinkArrays:
    """Links ``start:stop`` of ``genomes``' columns (views, no copy)."""
    return LinkArrays(
        genomes.link_in[start:stop],
        genomes.link_out[start:stop],
        genomes.link_weight[start:stop],
        genomes.link_innovation[start:stop],
        genomes.link_enabled[start:stop],
    )


@numba.njit(cache=True)
def copy_node(nodes: NodeArrays, dst: int, src: int) -> None:
    """Node ``src`` over node ``dst``, every column."""
    nodes.key[dst] = nodes.key[src]
    nodes.activation[dst] = nodes.activation[src]
    nodes.bias[dst] = nodes.bias[src]
    nodes.response[dst] = nodes.response[src]


@numba.njit(cache=True)
def copy_link(links: LinkArrays, dst: int, src: int) -> None:
    """Link ``src`` over link ``dst``, every column."""
    links.in_node[dst] = links.in_node[src]
    links.out_node[dst] = links.out_node[src]
    links.weight[dst] = links.weight[src]
    links.innovation[dst] = links.innovation[src]
    links.enabled[dst] = links.enabled[src]


@numba.njit(cache=True)
def copy_genome(
    src: GenomeArrays, g: int, dst: GenomeArrays, node_at: int, link_at: int
) -> tuple[int, int]:
    """Genome ``g`` of ``src`` into ``dst``'s columns at node ``node_at`` and link ``link_at``;
    returns its (nodes, links)."""
    a, nn = src.node_start[g], src.node_start[g + 1] - src.node_start[g]
    b, nl = src.link_start[g], src.link_start[g + 1] - src.link_start[g]
    dst.node_key[node_at : node_at + nn] = src.node_key[a : a + nn]
    dst.node_activation[node_at : node_at + nn] = src.node_activation[a : a + nn]
    dst.node_bias[node_at : node_at + nn] = src.node_bias[a : a + nn]
    dst.node_response[node_at : node_at + nn] = src.node_response[a : a + nn]
    dst.link_in[link_at : link_at + nl] = src.link_in[b : b + nl]
    dst.link_out[link_at : link_at + nl] = src.link_out[b : b + nl]
    dst.link_weight[link_at : link_at + nl] = src.link_weight[b : b + nl]
    dst.link_innovation[link_at : link_at + nl] = src.link_innovation[b : b + nl]
    dst.link_enabled[link_at : link_at + nl] = src.link_enabled[b : b + nl]
    return nn, nl
