"""The genome batch as records that compiled (Numba) kernels take, instead of a positional
argument per column.

:class:`GenomeArrays` holds a population's columns under the population's own names
(:class:`~cppn.population.CppnPopulation`, less the genome keys, :meth:`~cppn.population.
CppnPopulation.arrays`); :class:`NodeArrays` and :class:`LinkArrays` are one genome's nodes and
links, views that the kernels build per genome. Records are typed named tuples: Numba compiles
their field access to a plain read, and the kernels are specialised on their types.

Three rules keep the kernels correct and as fast as with positional arrays (Numba 0.68; the first
two are open Numba bugs, numba issues 5703, 7135 and 10338):

* A parallel loop (``numba.prange``) uses flat records only: Numba hands a tuple's fields to the
  loop's worker one by one, but not those of a tuple inside a tuple ("scalar type ... given for
  non scalar argument" when compiling).
* A parallel loop's body writes no array reached through a record: ``out.x[i] = v`` there
  compiles and writes nothing (so does a write to such an array unpacked before the loop, in
  the kernels' loops); writes inside a function the body calls do land. The two parallel loops
  of cppn.mutation and cppn.program_arrays therefore take their columns one by one, each behind
  one function that takes the records and is the one place that spells them out; that form also
  keeps the body's slice copies as plain loops, 20-30% faster than the record-taking forms tried.
* A hot loop reads the record's fields into local names before it starts
  (``ins, outs = links.in_node, links.out_node``): a field read inside the loop counts a
  reference to the array on every pass, which Numba does not always remove (10-15% of a
  compilation, measured).
"""

from __future__ import annotations

from typing import NamedTuple

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
