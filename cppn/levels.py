"""A population's compiled programs as levels, for evaluating a batch of any mix of topologies
together (the differentiable renderer, :mod:`cppn.render_torch`).

A node's level is one more than the highest level among its sources, the inputs x, y, d and bias
being level 0, so a level's nodes depend on earlier levels only and can be evaluated together,
whatever genome they belong to. Within a level, nodes are sorted by activation (then genome and
program order), so that each activation applies to one run of rows. A level's links are grouped
by the level of their sources, in program link order within a group; an evaluator gathers a
group's source rows, weighs them and adds them into its target rows, one multiply-add per link
and pixel, without padding.

What is evaluated is :func:`cppn.program_arrays.compile_arrays`'s program, so which links and
nodes count is decided in one place (disabled links and nodes that feed no output are left out).
To know which population entry each program link and node reads, the population is compiled with
its link weights replaced by their own indices and node biases by node indices: float64 holds
such integers exactly, and the compiler copies them unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from cppn.population import CppnPopulation
from cppn.profile import NUM_INPUTS
from cppn.program import PackedPrograms
from cppn.program_arrays import compile_arrays


@dataclass(frozen=True)
class LinkGroup:
    """The links from one earlier level into a level, in program link order."""

    source: int  # the level their sources lie in (0: the inputs, rows x, y, d, bias)
    source_rows: Any  # int64 [L], rows of that level
    target_rows: Any  # int64 [L], rows of this level
    parameter: Any  # int64 [L], index into the population's link arrays (link_weight)


@dataclass(frozen=True)
class Level:
    """Nodes evaluated together, sorted by activation."""

    node_parameter: Any  # int64 [M], index into the population's node arrays (bias, response)
    activations: tuple[tuple[int, int, int], ...]  # (activation id, first row, end row)
    links: tuple[LinkGroup, ...]  # by source level, ascending

    @property
    def size(self) -> int:
        return len(self.node_parameter)


@dataclass(frozen=True)
class LevelPlan:
    """Levels 1..depth, and where each output lies: (level, rows, positions in the flattened
    [genome, output] order) per level that holds outputs. Index arrays are NumPy, or whatever
    :meth:`convert` made them."""

    levels: tuple[Level, ...]
    outputs: tuple[tuple[int, Any, Any], ...]

    def convert(self, array: Callable[[np.ndarray], Any]) -> LevelPlan:
        """The same plan with every index array passed through ``array`` (e.g. to a tensor)."""
        levels = tuple(
            Level(
                array(level.node_parameter),
                level.activations,
                tuple(
                    dataclasses.replace(
                        group,
                        source_rows=array(group.source_rows),
                        target_rows=array(group.target_rows),
                        parameter=array(group.parameter),
                    )
                    for group in level.links
                ),
            )
            for level in self.levels
        )
        outputs = tuple((level, array(rows), array(at)) for level, rows, at in self.outputs)
        return LevelPlan(levels, outputs)


def indexed_programs(population: CppnPopulation, num_outputs: int) -> PackedPrograms:
    """The population's programs with each link weight replaced by the index of its link in the
    population and each bias by the index of its node (exact: integers below 2**53)."""
    indexed = dataclasses.replace(
        population,
        link_weight=np.arange(len(population.link_weight), dtype=np.float64),
        node_bias=np.arange(len(population.node_bias), dtype=np.float64),
    )
    return compile_arrays(indexed, num_outputs)


def plan_levels(population: CppnPopulation, num_outputs: int) -> LevelPlan:
    """The levels of ``population``'s programs (every genome occupied and compilable:
    :class:`cppn.program_arrays.CompileError` otherwise)."""
    programs = indexed_programs(population, num_outputs)
    n, k_max = programs.activation.shape
    fan_in = np.diff(programs.link_start.astype(np.int64), axis=1).ravel()  # padding nodes: 0
    # One entry per program link, in program order (genome, node, link).
    link_genome = np.repeat(np.repeat(np.arange(n), k_max), fan_in)
    link_node = np.repeat(np.tile(np.arange(k_max), n), fan_in)
    per_genome = programs.link_start[:, -1].astype(np.int64)
    first = np.concatenate([[0], np.cumsum(per_genome)[:-1]]).astype(np.int64)
    link_column = np.arange(len(link_genome)) - np.repeat(first, per_genome)
    source = programs.link_source[link_genome, link_column].astype(np.int64)
    parameter = programs.link_weight[link_genome, link_column].astype(np.int64)

    # The level of every value slot, node by node in program (topological) order, all genomes
    # at once.
    level = np.zeros((n, NUM_INPUTS + k_max), dtype=np.int64)
    by_node = np.argsort(link_node, kind="stable")
    bounds = np.searchsorted(link_node[by_node], np.arange(k_max + 1))
    for k in range(k_max):
        links = by_node[bounds[k] : bounds[k + 1]]
        column = np.ones(n, dtype=np.int64)  # a node without links is level 1
        genomes = link_genome[links]
        np.maximum.at(column, genomes, level[genomes, source[links]] + 1)
        level[:, NUM_INPUTS + k] = column

    # Rows: within a level, nodes by activation, then genome and program order.
    genome_of, node_of = np.nonzero(np.arange(k_max) < programs.num_nodes[:, None])
    node_level = level[genome_of, NUM_INPUTS + node_of]
    activation = programs.activation[genome_of, node_of].astype(np.int64)
    order = np.lexsort((node_of, genome_of, activation, node_level))
    genome_of, node_of, node_level = genome_of[order], node_of[order], node_level[order]
    activation = activation[order]
    node_parameter = programs.bias[genome_of, node_of].astype(np.int64)
    depth = int(node_level.max(initial=0))
    level_first = np.searchsorted(node_level, np.arange(depth + 2))
    row = np.zeros_like(level)
    row[:, :NUM_INPUTS] = np.arange(NUM_INPUTS)
    row[genome_of, NUM_INPUTS + node_of] = np.arange(len(order)) - level_first[node_level]

    target = NUM_INPUTS + link_node
    target_level, target_row = level[link_genome, target], row[link_genome, target]
    source_level, source_row = level[link_genome, source], row[link_genome, source]
    levels = []
    for at in range(1, depth + 1):
        a, b = level_first[at], level_first[at + 1]
        acts = activation[a:b]
        starts = np.flatnonzero(np.diff(acts, prepend=-1))
        ends = np.append(starts[1:], len(acts))
        runs = tuple((int(acts[s]), int(s), int(e)) for s, e in zip(starts, ends, strict=True))
        mine = np.flatnonzero(target_level == at)  # in program link order
        groups = []
        for from_level in np.unique(source_level[mine]):
            links = mine[source_level[mine] == from_level]
            groups.append(
                LinkGroup(int(from_level), source_row[links], target_row[links], parameter[links])
            )
        levels.append(Level(node_parameter[a:b], runs, tuple(groups)))
    output_level = level[np.arange(n)[:, None], programs.output_slot].ravel()
    output_row = row[np.arange(n)[:, None], programs.output_slot].ravel()
    outputs = []
    for at in np.unique(output_level):
        positions = np.flatnonzero(output_level == at)  # in (genome, output) order
        outputs.append((int(at), output_row[positions], positions))
    return LevelPlan(tuple(levels), tuple(outputs))
