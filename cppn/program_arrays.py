"""Compile a :class:`~cppn.population.CppnPopulation` into :class:`~cppn.program.PackedPrograms`
in compiled code, with exactly the arrays :func:`cppn.program.compile_population` gives for the
same genomes as neat-python objects.

Per genome (in parallel): enabled links only; nodes that cannot reach an output are dropped
(neat's ``required_for_output``); required nodes in Kahn's order, the smallest ready node key
first; each node's links in genome order. Then the programs are padded into the packed arrays.
"""

from __future__ import annotations

import sys
import threading
from typing import NamedTuple

import numba
import numpy as np

from cppn import node_index
from cppn.genome_arrays import GenomeArrays, LinkArrays, NodeArrays
from cppn.population import CppnPopulation
from cppn.profile import NUM_INPUTS
from cppn.program import PackedPrograms, ProgramArrays

OK, MISSING_OUTPUT, NOT_FEED_FORWARD, DANGLING_LINK = 0, 1, 2, 3


class CompileError(ValueError):
    """A genome that cannot be compiled (no output node, a cycle, a link to nowhere)."""


# Working arrays kept between calls, per Python thread (two threads compiling at once must not
# share them): freshly allocated arrays of a few MB cost a page fault per 4 KB on first touch,
# as much as the compilation itself at 100 nodes. Nothing returned ever points into them.
_work = threading.local()


def _buffer(name: str, size: int, dtype: type) -> np.ndarray:
    """A kept array of at least ``size`` elements of ``dtype`` (contents undefined), its prefix."""
    array = getattr(_work, name, None)
    if array is None or array.size < size or array.dtype != dtype:
        array = np.empty(max(size, 1) + size // 4, dtype=dtype)  # headroom: genomes grow
        setattr(_work, name, array)
    return array[:size]


#: The padded arrays of PackedPrograms: dtype and whether a row has K (nodes), K + 1 or L columns.
_PACKED = {
    "activation": (np.int32, 0),
    "bias": (np.float64, 0),
    "response": (np.float64, 0),
    "link_start": (np.int32, 1),
    "link_source": (np.int32, 2),
    "link_weight": (np.float64, 2),
}


def _packed_arrays(n: int, k: int, width: int) -> dict[str, np.ndarray]:
    """The padded arrays for ``n`` programs (contents undefined: :func:`_pad` writes all).

    Arrays returned by an earlier call are reused once nothing refers to them any more (the
    renderer has dropped those programs): like the working arrays, fresh ones page-fault.
    """
    columns = (k, k + 1, width)
    pool: list[dict[str, np.ndarray]] = getattr(_work, "packed", [])
    for flat in pool:
        # 2: the pool's reference and getrefcount's argument; a returned array would hold another.
        if all(
            sys.getrefcount(flat[name]) == 2 and flat[name].size >= n * columns[which]
            for name, (_, which) in _PACKED.items()
        ):
            break
    else:
        flat = {
            name: np.empty(max(1, n * columns[which] + n * columns[which] // 4), dtype=dtype)
            for name, (dtype, which) in _PACKED.items()
        }
        _work.packed = [flat, *pool[:2]]  # dropping the oldest leaves it to its users
    return {
        name: flat[name][: n * columns[which]].reshape(n, columns[which])
        for name, (_, which) in _PACKED.items()
    }


@numba.njit(cache=True)
def _heap_push(heap: np.ndarray, size: int, item: int, keys: np.ndarray) -> int:
    """Push local node ``item`` on a binary min-heap ordered by ``keys[item]``."""
    i = size
    heap[i] = item
    while i > 0:
        parent = (i - 1) // 2
        if keys[heap[parent]] <= keys[heap[i]]:
            break
        heap[parent], heap[i] = heap[i], heap[parent]
        i = parent
    return size + 1


@numba.njit(cache=True)
def _heap_pop(heap: np.ndarray, size: int, keys: np.ndarray) -> tuple[int, int]:
    """Pop the smallest; returns (item, new size)."""
    top = heap[0]
    size -= 1
    heap[0] = heap[size]
    i = 0
    while True:
        left, smallest = 2 * i + 1, i
        if left < size and keys[heap[left]] < keys[heap[smallest]]:
            smallest = left
        if left + 1 < size and keys[heap[left + 1]] < keys[heap[smallest]]:
            smallest = left + 1
        if smallest == i:
            break
        heap[smallest], heap[i] = heap[i], heap[smallest]
        i = smallest
    return top, size


def scratch_size(num_nodes: int, num_links: int, num_outputs: int) -> int:
    """int64 scratch one genome of this size needs in :func:`_compile_one` (upper bound)."""
    return 4 * max(num_nodes, 1) + 2 + 9 * num_nodes + 2 + 4 * num_links + num_outputs


@numba.njit(cache=True, inline="always")
def _take(scratch: np.ndarray, at: int, size: int, fill: int) -> tuple[np.ndarray, int]:
    """``scratch[at:at + size]`` set to ``fill``, and the next free position."""
    part = scratch[at : at + size]
    part[:] = fill
    return part, at + size


@numba.njit(cache=True, inline="always")
def _carve(scratch: np.ndarray, at: int, size: int) -> tuple[np.ndarray, int]:
    """``scratch[at:at + size]`` left as it is (every element is written before it is read),
    and the next free position: filling costs a pass over the part for every genome."""
    return scratch[at : at + size], at + size


class LinksByTarget(NamedTuple):
    """A genome's enabled links grouped by target node (a counting sort), genome order within."""

    start: np.ndarray  # [n + 1]: node t's links are link[start[t]:start[t + 1]]
    link: np.ndarray  # link indices (positions in the genome's link arrays)
    source: np.ndarray  # by link index: its source's node position, or -(input slot + 1)


class Consumers(NamedTuple):
    """The required nodes that read each node: node s's are node[start[s]:start[s + 1]]."""

    start: np.ndarray  # [n + 1]
    node: np.ndarray


@numba.njit(cache=True, inline="always")
def _link_ends(
    table: np.ndarray,
    keys: np.ndarray,
    links: LinkArrays,
    source: np.ndarray,
    target: np.ndarray,
    count: np.ndarray,
) -> int:
    """Each enabled link's source (node position, or -(input slot + 1)) and target position,
    and the count of links into each node (at ``count[t + 1]``); DANGLING_LINK for a link to
    or from no node."""
    ins, outs, enabled = links.in_node, links.out_node, links.enabled  # see cppn.genome_arrays
    for j in range(ins.size):
        if not enabled[j]:
            continue
        t = node_index.find(table, keys, outs[j])
        a = ins[j]
        is_input = -NUM_INPUTS <= a < 0  # input key -1..-4 -> slot 0..3 is -(key) - 1
        s = a if is_input else node_index.find(table, keys, a)
        if t < 0 or (s < 0 and not is_input):
            return DANGLING_LINK
        source[j], target[j] = s, t
        count[t + 1] += 1
    return OK


@numba.njit(cache=True, inline="always")
def _links_by_target(
    table: np.ndarray, keys: np.ndarray, links: LinkArrays, scratch: np.ndarray, at: int
) -> tuple[int, LinksByTarget, int]:
    """The enabled links grouped by target (carved from ``scratch`` at ``at``); returns
    (status, the grouping, the next free scratch position)."""
    n, m = keys.size, links.in_node.size
    start, at = _take(scratch, at, n + 1, 0)
    source, at = _carve(scratch, at, m)  # read only where target >= 0
    target, at = _take(scratch, at, m, -1)
    status = _link_ends(table, keys, links, source, target, start)
    if status != OK:
        return status, LinksByTarget(start, target, source), at
    for i in range(n):
        start[i + 1] += start[i]
    fill, at = _carve(scratch, at, n)
    fill[:] = start[:-1]
    link, at = _carve(scratch, at, start[n])
    for j in range(m):
        if target[j] >= 0:
            link[fill[target[j]]] = j
            fill[target[j]] += 1
    return OK, LinksByTarget(start, link, source), at


@numba.njit(cache=True, inline="always")
def _required_nodes(
    table: np.ndarray,
    keys: np.ndarray,
    num_outputs: int,
    by_target: LinksByTarget,
    scratch: np.ndarray,
    at: int,
) -> tuple[int, np.ndarray, np.ndarray, int, int]:
    """neat's required_for_output: the outputs and every node with a path to one. Returns
    (status, required flag per node, each output's node position, how many are required, the
    next free scratch position); MISSING_OUTPUT when an output node is absent."""
    n = keys.size
    start, link, source = by_target.start, by_target.link, by_target.source
    required, at = _take(scratch, at, n, 0)
    stack, at = _carve(scratch, at, n)
    outputs, at = _carve(scratch, at, num_outputs)
    top = 0
    for o in range(num_outputs):
        i = node_index.find(table, keys, o)
        if i < 0:
            return MISSING_OUTPUT, required, outputs, 0, at
        outputs[o] = i
        if not required[i]:
            required[i] = 1
            stack[top] = i
            top += 1
    num_required = top
    while top > 0:
        top -= 1
        node = stack[top]
        for k in range(start[node], start[node + 1]):
            s = source[link[k]]
            if s >= 0 and not required[s]:
                required[s] = 1
                num_required += 1
                stack[top] = s
                top += 1
    return OK, required, outputs, num_required, at


@numba.njit(cache=True, inline="always")
def _consumers(
    required: np.ndarray, by_target: LinksByTarget, scratch: np.ndarray, at: int
) -> tuple[np.ndarray, Consumers, int]:
    """For Kahn's algorithm over the required nodes: how many required sources each waits for,
    and who reads each node; returns (waiting, consumers, the next free scratch position)."""
    n = required.size
    by_start, link, source = by_target.start, by_target.link, by_target.source
    waiting, at = _take(scratch, at, n, 0)
    start, at = _take(scratch, at, n + 1, 0)
    for t in range(n):
        if required[t]:
            for k in range(by_start[t], by_start[t + 1]):
                s = source[link[k]]
                if s >= 0:
                    waiting[t] += 1
                    start[s + 1] += 1
    for i in range(n):
        start[i + 1] += start[i]
    fill, at = _carve(scratch, at, n)
    fill[:] = start[:-1]
    node, at = _carve(scratch, at, start[n])
    for t in range(n):
        if required[t]:
            for k in range(by_start[t], by_start[t + 1]):
                s = source[link[k]]
                if s >= 0:
                    node[fill[s]] = t
                    fill[s] += 1
    return waiting, Consumers(start, node), at


@numba.njit(cache=True, inline="always")
def _ready_nodes(
    keys: np.ndarray, required: np.ndarray, waiting: np.ndarray, scratch: np.ndarray, at: int
) -> tuple[np.ndarray, int, int]:
    """A min-heap (by node key) of the required nodes that wait for nothing; returns (heap,
    its size, the next free scratch position)."""
    heap, at = _carve(scratch, at, keys.size)
    size = 0
    for i in range(keys.size):
        if required[i] and waiting[i] == 0:
            size = _heap_push(heap, size, i, keys)
    return heap, size, at


@numba.njit(cache=True, inline="always")
def _emit_program(
    nodes: NodeArrays,
    weight: np.ndarray,
    by_target: LinksByTarget,
    consumers: Consumers,
    waiting: np.ndarray,
    heap: np.ndarray,
    size: int,
    slot: np.ndarray,
    program: ProgramArrays,
) -> tuple[int, int]:
    """Kahn's algorithm, the smallest ready key first: each node, in that order, into the
    program with its links (in genome order, each reading its source's value slot); ``slot``
    gets each node's value slot. Returns (nodes, links)."""
    # Fields read once, before the loop (see cppn.genome_arrays).
    keys, acts, biases, responses = nodes.key, nodes.activation, nodes.bias, nodes.response
    start, link, source = by_target.start, by_target.link, by_target.source
    consumer_start, consumer = consumers.start, consumers.node
    act, bias, response = program.activation, program.bias, program.response
    link_start, link_source, link_weight = (
        program.link_start,
        program.link_source,
        program.link_weight,
    )
    k = 0
    links = 0
    link_start[0] = 0
    while size > 0:
        node, size = _heap_pop(heap, size, keys)
        slot[node] = NUM_INPUTS + k
        act[k], bias[k], response[k] = acts[node], biases[node], responses[node]
        for q in range(start[node], start[node + 1]):
            j = link[q]
            s = source[j]
            link_source[links] = -s - 1 if s < 0 else slot[s]
            link_weight[links] = weight[j]
            links += 1
        k += 1
        link_start[k] = links
        # node is done: its consumers wait for one source less; the ready ones join the heap.
        for q in range(consumer_start[node], consumer_start[node + 1]):
            c = consumer[q]
            waiting[c] -= 1
            if waiting[c] == 0:
                size = _heap_push(heap, size, c, keys)
    return k, links


@numba.njit(cache=True)
def _compile_one(
    nodes: NodeArrays,
    links: LinkArrays,
    num_outputs: int,
    program: ProgramArrays,
    scratch: np.ndarray,
) -> tuple[int, int]:
    """One genome into its compact program, ``program``: views of its place (``num_nodes``
    one element, which gets the node count); returns (status, links)."""
    # Each field read once (see cppn.genome_arrays): every read of an array from a record
    # counts a reference, an atomic operation, per genome.
    keys, num_nodes, output_slot = nodes.key, program.num_nodes, program.output_slot
    num_nodes[0] = 0
    n = keys.size
    # Scratch carved from this thread's buffer (no allocation per genome); see scratch_size.
    table = scratch[: node_index.table_size(n)]
    node_index.build(keys, n, table)  # local index = position in the genome's node arrays
    status, by_target, at = _links_by_target(table, keys, links, scratch, table.size)
    if status != OK:
        return status, 0
    status, required, outputs, num_required, at = _required_nodes(
        table, keys, num_outputs, by_target, scratch, at
    )
    if status != OK:
        return status, 0
    waiting, consumers, at = _consumers(required, by_target, scratch, at)
    heap, size, at = _ready_nodes(keys, required, waiting, scratch, at)
    slot, at = _take(scratch, at, n, -1)
    k, num_links = _emit_program(
        nodes, links.weight, by_target, consumers, waiting, heap, size, slot, program
    )
    if k != num_required:
        return NOT_FEED_FORWARD, 0
    for o in range(num_outputs):
        output_slot[o] = slot[outputs[o]]
    num_nodes[0] = k
    return OK, num_links


# The parallel loop takes the columns one by one, not as records: in a Numba parallel loop's body
# a write to an array reached through a tuple is lost (see cppn.genome_arrays), and a call per
# genome that takes the records measured 10% slower. _compile_all is the one place that spells
# the columns out.
@numba.njit(cache=True, parallel=True)
def _compile_genomes(
    node_start: np.ndarray,
    link_start: np.ndarray,
    keys: np.ndarray,
    acts: np.ndarray,
    biases: np.ndarray,
    responses: np.ndarray,
    ins: np.ndarray,
    outs: np.ndarray,
    ws: np.ndarray,
    inns: np.ndarray,
    ens: np.ndarray,
    num_outputs: int,
    c_nodes: np.ndarray,
    c_act: np.ndarray,
    c_bias: np.ndarray,
    c_resp: np.ndarray,
    c_start: np.ndarray,
    c_src: np.ndarray,
    c_w: np.ndarray,
    c_slot: np.ndarray,
    status: np.ndarray,
    num_links: np.ndarray,
    scratch: np.ndarray,
) -> None:
    """:func:`_compile_all`'s loop, over the genomes' and the programs' columns."""
    for g in numba.prange(node_start.size - 1):
        a, b = node_start[g], node_start[g + 1]
        c, d = link_start[g], link_start[g + 1]
        nodes = NodeArrays(keys[a:b], acts[a:b], biases[a:b], responses[a:b])
        links = LinkArrays(ins[c:d], outs[c:d], ws[c:d], inns[c:d], ens[c:d])
        program = ProgramArrays(
            c_nodes[g : g + 1], c_act[a:b], c_bias[a:b], c_resp[a:b],
            c_start[a + g : b + g + 1], c_src[c:d], c_w[c:d], c_slot[g],
        )  # fmt: skip
        status[g], num_links[g] = _compile_one(
            nodes, links, num_outputs, program, scratch[numba.get_thread_id()]
        )


@numba.njit(cache=True)
def _compile_all(
    genomes: GenomeArrays,
    num_outputs: int,
    programs: ProgramArrays,
    status: np.ndarray,
    num_links: np.ndarray,
    scratch: np.ndarray,
) -> tuple[int, int, int]:
    """Every genome into its place in ``programs``, in parallel, each thread with its row of
    ``scratch``: the programs lie end to end as the genomes do (node arrays at the genome's
    nodes' offsets, link_start one longer per genome before it, link arrays at its links'); a
    genome's status and link count go to ``status[g]`` and ``num_links[g]``.

    Returns (the first genome that failed, or -1; the most nodes and the most links of a
    program), which the padding needs: counted here, in the pass that ends the call, rather
    than by numpy calls after it, each a few microseconds.
    """
    x, p = genomes, programs
    _compile_genomes(
        x.node_start, x.link_start, x.node_key, x.node_activation, x.node_bias, x.node_response,
        x.link_in, x.link_out, x.link_weight, x.link_innovation, x.link_enabled, num_outputs,
        p.num_nodes, p.activation, p.bias, p.response, p.link_start, p.link_source,
        p.link_weight, p.output_slot, status, num_links, scratch,
    )  # fmt: skip
    first_failed, most_nodes, most_links = -1, 0, 0
    program_nodes = p.num_nodes
    for g in range(status.size):
        if status[g] != OK and first_failed < 0:
            first_failed = g
        most_nodes = max(most_nodes, program_nodes[g])
        most_links = max(most_links, num_links[g])
    return first_failed, most_nodes, most_links


@numba.njit(cache=True)
def _largest_genome(node_start: np.ndarray, link_start: np.ndarray) -> tuple[int, int]:
    """The most nodes and the most links of a genome (0 and 0 for none)."""
    most_nodes, most_links = 0, 0
    for g in range(node_start.size - 1):
        most_nodes = max(most_nodes, node_start[g + 1] - node_start[g])
        most_links = max(most_links, link_start[g + 1] - link_start[g])
    return most_nodes, most_links


# Serial: a plain copy, cheaper than waking the thread pool once more (a parallel region
# waits for every thread, which costs most where other jobs share the cores).
@numba.njit(cache=True)
def _pad(
    node_start: np.ndarray,
    link_start: np.ndarray,
    compact: ProgramArrays,
    num_links: np.ndarray,
    packed: ProgramArrays,
) -> None:
    """The programs laid end to end (``compact``, as :func:`_compile_all` wrote them) into the
    padded rows of ``packed`` (all but num_nodes and output_slot)."""
    # Fields read once, before the loop (see cppn.genome_arrays): read inside it, they made
    # this copy 50% slower.
    c_nodes, c_act, c_bias, c_resp = (
        compact.num_nodes,
        compact.activation,
        compact.bias,
        compact.response,
    )
    c_start, c_src, c_w = compact.link_start, compact.link_source, compact.link_weight
    act, bias, resp = packed.activation, packed.bias, packed.response
    start, src, w = packed.link_start, packed.link_source, packed.link_weight
    for g in range(c_nodes.size):
        a, c, k, m = node_start[g], link_start[g], c_nodes[g], num_links[g]
        act[g, :k] = c_act[a : a + k]
        bias[g, :k] = c_bias[a : a + k]
        resp[g, :k] = c_resp[a : a + k]
        start[g, : k + 1] = c_start[a + g : a + g + k + 1]
        start[g, k + 1 :] = m  # padding nodes have no links
        src[g, :m] = c_src[c : c + m]
        w[g, :m] = c_w[c : c + m]
        # Padding as compile_population's zeros (and ones for response): the arrays come
        # uninitialised, and reused.
        act[g, k:] = 0
        bias[g, k:] = 0.0
        resp[g, k:] = 1.0
        src[g, m:] = 0
        w[g, m:] = 0.0


def compile_arrays(population: CppnPopulation, num_outputs: int) -> PackedPrograms:
    """Compile and pack every genome of ``population`` (none may be an empty cell)."""
    n = len(population)
    if not population.occupied.all():
        raise CompileError("cannot compile an empty cell")
    total_nodes, total_links = len(population.node_key), len(population.link_in)
    status = np.zeros(n, dtype=np.int64)
    num_links = np.zeros(n, dtype=np.int64)
    slot = np.zeros((n, num_outputs), dtype=np.int32)
    compact = ProgramArrays(
        num_nodes=np.zeros(n, dtype=np.int64),
        activation=_buffer("act", total_nodes, np.int32),
        bias=_buffer("bias", total_nodes, np.float64),
        response=_buffer("resp", total_nodes, np.float64),
        link_start=_buffer("start", total_nodes + n, np.int32),
        link_source=_buffer("src", total_links, np.int32),
        link_weight=_buffer("w", total_links, np.float64),
        output_slot=slot,
    )
    p = population
    # One scratch row per thread, as large as the largest genome needs.
    need = scratch_size(*_largest_genome(p.node_start, p.link_start), num_outputs)
    threads = numba.config.NUMBA_NUM_THREADS
    scratch = _buffer("scratch", threads * need, np.int64).reshape(threads, need)
    failed, k, width = _compile_all(
        p.arrays(), int(num_outputs), compact, status, num_links, scratch
    )
    if failed >= 0:
        reasons = {MISSING_OUTPUT: "lacks an output node", NOT_FEED_FORWARD: "is not feed-forward",
                   DANGLING_LINK: "has a link to or from no node"}  # fmt: skip
        raise CompileError(f"genome {int(p.key[failed])} {reasons[int(status[failed])]}")
    width = max(1, width)
    packed = PackedPrograms(
        num_nodes=compact.num_nodes.astype(np.int32),
        output_slot=slot,
        **_packed_arrays(n, k, width),
    )
    _pad(p.node_start, p.link_start, compact, num_links, packed.arrays())
    return packed
