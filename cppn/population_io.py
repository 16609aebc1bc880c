"""A CppnPopulation as plain numeric arrays with one row per genome, and back, validated.

Rows, not the flat CSR layout, because checkpoints and the elite log slice, mask and
concatenate genome columns by row. Each per-node column is ``[N, max nodes]`` and each per-link
column ``[N, max links]``, zero-padded past ``num_nodes`` / ``num_links``; ``key`` is -1 for an
empty cell. Activations are ids in :data:`cppn.activations.NAMES`.
"""

from __future__ import annotations

import numpy as np

from cppn import activations
from cppn.population import EMPTY_KEY, LINK_FIELDS, NODE_FIELDS, CppnPopulation, PopulationError
from cppn.profile import NUM_INPUTS
from cppn.program_arrays import CompileError, compile_arrays

ROW_FIELDS = ("key", "num_nodes", "num_links")


def to_rows(population: CppnPopulation) -> dict[str, np.ndarray]:
    """``{"key", "num_nodes", "num_links", node columns [N, W], link columns [N, W]}``."""
    n = len(population)
    counts = {"num_nodes": population.num_nodes, "num_links": population.num_links}
    rows: dict[str, np.ndarray] = {"key": population.key.copy(), **counts}
    for columns, count in (
        (population.node_columns(), counts["num_nodes"]),
        (population.link_columns(), counts["num_links"]),
    ):
        width = int(count.max(initial=0))
        genome = np.repeat(np.arange(n), count)
        place = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        for name, values in columns.items():
            padded = np.zeros((n, width), dtype=values.dtype)
            padded[genome, place] = values
            rows[name] = padded
    return rows


def _column(rows: dict[str, np.ndarray], name: str, kind: str, shape: tuple) -> np.ndarray:
    if name not in rows:
        raise PopulationError(f"genome arrays lack {name!r}")
    values = np.asarray(rows[name])
    if values.dtype.kind not in kind:
        raise PopulationError(f"genome array {name!r} has dtype {values.dtype}")
    if values.ndim != len(shape) or any(
        s is not None and s != v for s, v in zip(shape, values.shape, strict=True)
    ):
        raise PopulationError(f"genome array {name!r} has shape {values.shape}")
    return values


def from_rows(rows: dict[str, np.ndarray], num_outputs: int) -> CppnPopulation:
    """Inverse of :func:`to_rows`; raises :class:`PopulationError` (one line) for bad arrays."""
    key = _column(rows, "key", "iu", (None,)).astype(np.int64)
    n = len(key)
    num_nodes = _column(rows, "num_nodes", "iu", (n,)).astype(np.int64)
    num_links = _column(rows, "num_links", "iu", (n,)).astype(np.int64)
    node_width = np.asarray(rows.get("node_key", np.zeros((0, 0)))).shape[-1]
    link_width = np.asarray(rows.get("link_in", np.zeros((0, 0)))).shape[-1]
    kinds = {np.int64: "iu", np.int32: "iu", np.float64: "f", np.bool_: "b"}
    if (key < EMPTY_KEY).any():
        raise PopulationError("negative genome key")
    if (num_nodes < 0).any() or (num_nodes > node_width).any():
        raise PopulationError("num_nodes inconsistent with the node columns")
    if (num_links < 0).any() or (num_links > link_width).any():
        raise PopulationError("num_links inconsistent with the link columns")
    empty = key == EMPTY_KEY
    if (num_nodes[empty] != 0).any() or (num_links[empty] != 0).any():
        raise PopulationError("an empty cell has genes")
    node_mask = np.arange(node_width) < num_nodes[:, None]
    link_mask = np.arange(link_width) < num_links[:, None]
    columns: dict[str, np.ndarray] = {}
    for fields, width, mask in (
        (NODE_FIELDS, node_width, node_mask),
        (LINK_FIELDS, link_width, link_mask),
    ):
        for name, dtype in fields.items():
            values = _column(rows, name, kinds[dtype], (n, width))
            columns[name] = values[mask].astype(dtype)
    for name in ("node_bias", "node_response", "link_weight"):
        if not np.isfinite(columns[name]).all():
            raise PopulationError(f"{name} holds NaN or infinite values")
    if (columns["node_key"] < 0).any():
        raise PopulationError("negative node key")
    if (columns["link_in"] < -NUM_INPUTS).any() or (columns["link_out"] < 0).any():
        raise PopulationError("link end is neither an input nor a node key")
    if (columns["link_innovation"] < 0).any():
        raise PopulationError("negative innovation number")
    act = columns["node_activation"]
    if ((act < 0) | (act >= len(activations.NAMES))).any():
        raise PopulationError("activation id out of range")
    node_start = np.concatenate([[0], np.cumsum(num_nodes)]).astype(np.int64)
    link_start = np.concatenate([[0], np.cumsum(num_links)]).astype(np.int64)
    _check_unique(np.repeat(np.arange(n), num_nodes), columns["node_key"], None, "node key")
    genome = np.repeat(np.arange(n), num_links)
    _check_unique(genome, columns["link_in"], columns["link_out"], "connection")
    population = CppnPopulation(key, node_start, link_start, **columns)
    try:  # outputs present, links between existing nodes, no cycle
        compile_arrays(population[~empty], num_outputs)
    except CompileError as e:
        raise PopulationError(str(e)) from None
    return population


def _check_unique(genome: np.ndarray, a: np.ndarray, b: np.ndarray | None, what: str) -> None:
    """No two equal (a, b) within a genome."""
    keys = [genome, a] if b is None else [genome, a, b]
    order = np.lexsort(keys[::-1])
    same = np.ones(max(len(genome) - 1, 0), dtype=bool)
    for column in keys:
        s = column[order]
        same &= s[1:] == s[:-1]
    if same.any():
        raise PopulationError(f"repeated {what} in a genome")
