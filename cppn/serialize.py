"""Genomes as JSON text (never pickle), for archives and checkpoints."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from cppn.genomes import CppnGenome

FORMAT = "cppn-genome/1"


def genome_to_dict(genome: Any) -> dict[str, Any]:
    """A JSON-able dict holding every gene attribute (floats round-trip exactly)."""
    nodes = [
        {
            "id": int(key),
            "activation": ng.activation,
            "aggregation": ng.aggregation,
            "bias": float(ng.bias),
            "response": float(ng.response),
            "time_constant": float(getattr(ng, "time_constant", 1.0)),
        }
        for key, ng in sorted(genome.nodes.items())
    ]
    connections = [
        {
            "in": int(cg.key[0]),
            "out": int(cg.key[1]),
            "weight": float(cg.weight),
            "enabled": bool(cg.enabled),
            "innovation": int(cg.innovation),
        }
        for cg in genome.connections.values()
    ]
    return {"format": FORMAT, "key": genome.key, "nodes": nodes, "connections": connections}


def genome_from_dict(data: dict[str, Any], genome_config: Any) -> CppnGenome:
    """Inverse of :func:`genome_to_dict`."""
    if data.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} record: format={data.get('format')!r}")
    genome = CppnGenome(data["key"])
    for n in data["nodes"]:
        ng = genome_config.node_gene_type(int(n["id"]))
        ng.activation, ng.aggregation = n["activation"], n["aggregation"]
        ng.bias, ng.response = float(n["bias"]), float(n["response"])
        ng.time_constant = float(n["time_constant"])
        genome.nodes[ng.key] = ng
    for c in data["connections"]:
        cg = genome_config.connection_gene_type(
            (int(c["in"]), int(c["out"])), innovation=int(c["innovation"])
        )
        cg.weight, cg.enabled = float(c["weight"]), bool(c["enabled"])
        genome.connections[cg.key] = cg
    return genome


def genome_to_json(genome: Any) -> str:
    """Compact JSON text of a genome."""
    return json.dumps(genome_to_dict(genome), separators=(",", ":"))


def genome_from_json(text: str, genome_config: Any) -> CppnGenome:
    """Inverse of :func:`genome_to_json`."""
    return genome_from_dict(json.loads(text), genome_config)


def genomes_to_array(genomes: np.ndarray) -> np.ndarray:
    """Object array of genomes (or None) -> unicode array of JSON ("" for None)."""
    texts = ["" if g is None else genome_to_json(g) for g in genomes]
    return np.array(texts, dtype=np.str_) if texts else np.zeros(0, dtype="<U1")


def genomes_from_array(texts: np.ndarray, genome_config: Any) -> np.ndarray:
    """Inverse of :func:`genomes_to_array`: an object array with None for empty cells."""
    out = np.empty(len(texts), dtype=object)
    for i, text in enumerate(texts):
        out[i] = genome_from_json(str(text), genome_config) if str(text) else None
    return out
