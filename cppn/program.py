"""Compile CPPN genomes into flat programs and pack a population into padded arrays.

A program is the genome's network in evaluation order. Value slots 0..3 hold the inputs
(x, y, d, bias); slot 4 + k holds the k-th evaluated node. Node k computes
``activation(bias + response * sum(weight * slot[source]))`` over its links. Which nodes and links
are evaluated follows neat-python's ``FeedForwardNetwork.create`` exactly: enabled connections
only, nodes that feed no output are dropped, and a required node without inputs evaluates
``activation(bias)``.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from cppn import activations
from cppn.profile import NUM_INPUTS


@dataclass(frozen=True)
class Program:
    """One genome, compiled. Arrays are indexed by evaluated node (``k``) or by link."""

    activation: np.ndarray  # int32 [K], ids of cppn.activations.NAMES
    bias: np.ndarray  # float64 [K]
    response: np.ndarray  # float64 [K]
    link_start: np.ndarray  # int32 [K + 1]: node k's links are link_start[k]:link_start[k + 1]
    link_source: np.ndarray  # int32 [L], value slot read by each link
    link_weight: np.ndarray  # float64 [L]
    output_slot: np.ndarray  # int32 [C], value slot of each output
    node_keys: np.ndarray  # int64 [K], genome node key of each evaluated node

    @property
    def num_nodes(self) -> int:
        """Number of evaluated nodes."""
        return len(self.activation)


def _compile(genome: Any, input_keys: list[int], output_keys: list[int]) -> tuple[list, ...]:
    """One genome as plain lists: order, activation, bias, response, link_start, link_source,
    link_weight, output_slot (what :class:`Program` holds, before becoming arrays).
    """
    incoming_all: dict[int, list[tuple[int, float]]] = {}
    for (source, target), cg in genome.connections.items():
        if cg.enabled:
            incoming_all.setdefault(target, []).append((source, cg.weight))
    # neat's required_for_output: every non-input node with a path to an output.
    inputs = set(input_keys)
    required = set(output_keys)
    frontier = list(output_keys)
    while frontier:
        node = frontier.pop()
        for source, _ in incoming_all.get(node, ()):
            if source not in required and source not in inputs:
                required.add(source)
                frontier.append(source)
    incoming = {node: incoming_all.get(node, []) for node in required}

    # Kahn's algorithm, smallest ready key first, so the order is deterministic.
    waiting: dict[int, int] = {}
    consumers: dict[int, list[int]] = {node: [] for node in required}
    for node, links in incoming.items():
        count = 0
        for source, _ in links:
            if source in required:
                consumers[source].append(node)
                count += 1
        waiting[node] = count
    ready = [node for node, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for consumer in consumers[node]:
            waiting[consumer] -= 1
            if waiting[consumer] == 0:
                heapq.heappush(ready, consumer)
    if len(order) != len(required):
        raise ValueError(f"genome {genome.key} is not feed-forward")

    slot = {key: i for i, key in enumerate(input_keys)}
    for k, node in enumerate(order):
        slot[node] = NUM_INPUTS + k
    link_start = [0]
    sources: list[int] = []
    weights: list[float] = []
    ids = activations.IDS
    activation, bias, response = [], [], []
    nodes = genome.nodes
    for node in order:
        for source, weight in incoming[node]:
            sources.append(slot[source])
            weights.append(weight)
        link_start.append(len(sources))
        ng = nodes[node]
        activation.append(ids[ng.activation])
        bias.append(ng.bias)
        response.append(ng.response)
    outputs = [slot[key] for key in output_keys]
    return order, activation, bias, response, link_start, sources, weights, outputs


def compile_genome(genome: Any, genome_config: Any) -> Program:
    """Compile one neat-python genome into a :class:`Program`."""
    order, activation, bias, response, link_start, sources, weights, outputs = _compile(
        genome, list(genome_config.input_keys), list(genome_config.output_keys)
    )
    return Program(
        activation=np.array(activation, dtype=np.int32),
        bias=np.array(bias, dtype=np.float64),
        response=np.array(response, dtype=np.float64),
        link_start=np.array(link_start, dtype=np.int32),
        link_source=np.array(sources, dtype=np.int32),
        link_weight=np.array(weights, dtype=np.float64),
        output_slot=np.array(outputs, dtype=np.int32),
        node_keys=np.array(order, dtype=np.int64),
    )


class ProgramArrays(NamedTuple):
    """Programs' arrays as one record for compiled kernels, the fields of
    :class:`PackedPrograms` (:meth:`PackedPrograms.arrays`, padded rows [N, ...]); the compiler
    (cppn.program_arrays) also uses it for programs laid end to end, and for one program's views.
    """

    num_nodes: np.ndarray
    activation: np.ndarray
    bias: np.ndarray
    response: np.ndarray
    link_start: np.ndarray
    link_source: np.ndarray
    link_weight: np.ndarray
    output_slot: np.ndarray


@dataclass(frozen=True)
class PackedPrograms:
    """A population of programs in padded arrays (genome-major) for batch renderers.

    Padding nodes are never read: ``num_nodes`` bounds the loop (CPU), or they compute
    harmless values into slots no output reads (GPU).
    """

    num_nodes: np.ndarray  # int32 [N]
    activation: np.ndarray  # int32 [N, K]
    bias: np.ndarray  # float64 [N, K]
    response: np.ndarray  # float64 [N, K]
    link_start: np.ndarray  # int32 [N, K + 1]
    link_source: np.ndarray  # int32 [N, L]
    link_weight: np.ndarray  # float64 [N, L]
    output_slot: np.ndarray  # int32 [N, C]

    def __len__(self) -> int:
        return len(self.num_nodes)

    @property
    def max_nodes(self) -> int:
        """K, the padded node count."""
        return self.activation.shape[1]

    def arrays(self) -> ProgramArrays:
        """The arrays as one record for the compiled renderers (the same arrays, no copy)."""
        return ProgramArrays(*(getattr(self, name) for name in ProgramArrays._fields))


def pack(programs: Sequence[Program]) -> PackedPrograms:
    """Pad and stack programs (all with the same number of outputs)."""
    n = len(programs)
    k = max([p.num_nodes for p in programs], default=0)
    links = max([len(p.link_source) for p in programs], default=0)
    channels = len(programs[0].output_slot) if programs else 0
    packed = PackedPrograms(
        num_nodes=np.zeros(n, dtype=np.int32),
        activation=np.zeros((n, k), dtype=np.int32),
        bias=np.zeros((n, k), dtype=np.float64),
        response=np.ones((n, k), dtype=np.float64),
        link_start=np.zeros((n, k + 1), dtype=np.int32),
        link_source=np.zeros((n, max(links, 1)), dtype=np.int32),
        link_weight=np.zeros((n, max(links, 1)), dtype=np.float64),
        output_slot=np.zeros((n, channels), dtype=np.int32),
    )
    for i, p in enumerate(programs):
        m, nl = p.num_nodes, len(p.link_source)
        packed.num_nodes[i] = m
        packed.activation[i, :m] = p.activation
        packed.bias[i, :m] = p.bias
        packed.response[i, :m] = p.response
        packed.link_start[i, : m + 1] = p.link_start
        packed.link_start[i, m + 1 :] = p.link_start[-1]  # padding nodes have no links
        packed.link_source[i, :nl] = p.link_source
        packed.link_weight[i, :nl] = p.link_weight
        packed.output_slot[i] = p.output_slot
    return packed


def compile_population(genomes: Sequence[Any], genome_config: Any) -> PackedPrograms:
    """Compile and pack a population (same arrays as ``pack`` of ``compile_genome`` each).

    Builds padded rows as lists and converts each field once, which is several times faster
    than making small arrays per genome.
    """
    input_keys, output_keys = list(genome_config.input_keys), list(genome_config.output_keys)
    compiled = [_compile(g, input_keys, output_keys) for g in genomes]
    n = len(compiled)
    k = max([len(c[0]) for c in compiled], default=0)
    width = max(1, max([len(c[5]) for c in compiled], default=0))
    activation, bias, response, link_start, sources, weights = [], [], [], [], [], []
    for _, act, b, r, start, src, w, _ in compiled:
        pad = k - len(act)
        activation.append(act + [0] * pad)
        bias.append(b + [0.0] * pad)
        response.append(r + [1.0] * pad)
        link_start.append(start + [start[-1]] * pad)  # padding nodes have no links
        pad = width - len(src)
        sources.append(src + [0] * pad)
        weights.append(w + [0.0] * pad)
    return PackedPrograms(
        num_nodes=np.array([len(c[0]) for c in compiled], dtype=np.int32),
        activation=np.array(activation, dtype=np.int32).reshape(n, k),
        bias=np.array(bias, dtype=np.float64).reshape(n, k),
        response=np.array(response, dtype=np.float64).reshape(n, k),
        link_start=np.array(link_start, dtype=np.int32).reshape(n, k + 1),
        link_source=np.array(sources, dtype=np.int32).reshape(n, width),
        link_weight=np.array(weights, dtype=np.float64).reshape(n, width),
        output_slot=np.array([c[7] for c in compiled], dtype=np.int32).reshape(n, len(output_keys)),
    )
