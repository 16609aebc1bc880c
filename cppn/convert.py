"""Lossless conversion between :class:`~cppn.population.CppnPopulation` and neat-python genomes.

neat-python stays the reference and the interface at the edges (network export, the reference
breeder): every gene attribute the CPPN profile can vary round-trips exactly, in the same dict
order. Aggregation is always "sum" (the profile allows nothing else) and the CTRNN-only
``time_constant`` is not stored: a converted genome gets the gene's initial value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cppn import activations
from cppn.genomes import CppnGenome
from cppn.population import EMPTY_KEY, LINK_FIELDS, NODE_FIELDS, CppnPopulation, PopulationError


def from_neat(genomes: Sequence[Any]) -> CppnPopulation:
    """A population holding ``genomes`` (None for an empty cell), in order."""
    key, n_count, l_count = [], [], []
    nodes: dict[str, list] = {name: [] for name in NODE_FIELDS}
    links: dict[str, list] = {name: [] for name in LINK_FIELDS}
    ids = activations.IDS
    for genome in genomes:
        if genome is None:
            key.append(EMPTY_KEY)
            n_count.append(0)
            l_count.append(0)
            continue
        key.append(int(genome.key))
        n_count.append(len(genome.nodes))
        l_count.append(len(genome.connections))
        for node_key, ng in genome.nodes.items():
            if ng.aggregation != "sum":
                raise PopulationError(f"genome {genome.key}: aggregation {ng.aggregation!r}")
            nodes["node_key"].append(node_key)
            nodes["node_activation"].append(ids[ng.activation])
            nodes["node_bias"].append(ng.bias)
            nodes["node_response"].append(ng.response)
        for (source, target), cg in genome.connections.items():
            links["link_in"].append(source)
            links["link_out"].append(target)
            links["link_weight"].append(cg.weight)
            links["link_innovation"].append(cg.innovation)
            links["link_enabled"].append(bool(cg.enabled))
    columns = {name: np.array(nodes[name], dtype=t) for name, t in NODE_FIELDS.items()}
    columns.update({name: np.array(links[name], dtype=t) for name, t in LINK_FIELDS.items()})
    return CppnPopulation(
        key=np.array(key, dtype=np.int64),
        node_start=np.concatenate([[0], np.cumsum(n_count, dtype=np.int64)]).astype(np.int64),
        link_start=np.concatenate([[0], np.cumsum(l_count, dtype=np.int64)]).astype(np.int64),
        **columns,
    )


def to_neat(population: CppnPopulation, genome_config: Any) -> list[CppnGenome | None]:
    """neat-python genomes (None for empty cells) with the same genes, in the same order."""
    names = activations.NAMES
    node_type, conn_type = genome_config.node_gene_type, genome_config.connection_gene_type
    time_constant = _initial_time_constant(genome_config)
    ns, ls = population.node_start.tolist(), population.link_start.tolist()
    node_key = population.node_key.tolist()
    act = population.node_activation.tolist()
    bias, response = population.node_bias.tolist(), population.node_response.tolist()
    src, dst = population.link_in.tolist(), population.link_out.tolist()
    weight, innovation = population.link_weight.tolist(), population.link_innovation.tolist()
    enabled = population.link_enabled.tolist()
    out: list[CppnGenome | None] = []
    for i, key in enumerate(population.key.tolist()):
        if key == EMPTY_KEY:
            out.append(None)
            continue
        genome = CppnGenome(key)
        for j in range(ns[i], ns[i + 1]):
            ng = node_type(node_key[j])
            ng.activation, ng.aggregation = names[act[j]], "sum"
            ng.bias, ng.response = bias[j], response[j]
            if time_constant is not None:
                ng.time_constant = time_constant
            genome.nodes[ng.key] = ng
        for j in range(ls[i], ls[i + 1]):
            cg = conn_type((src[j], dst[j]), innovation=innovation[j])
            cg.weight, cg.enabled = weight[j], enabled[j]
            genome.connections[cg.key] = cg
        out.append(genome)
    return out


def _initial_time_constant(genome_config: Any) -> float | None:
    """neat 2.0's node time_constant as a new gene gets it (its mean), or None if absent."""
    mean = getattr(genome_config, "time_constant_init_mean", None)
    return None if mean is None else float(mean)
