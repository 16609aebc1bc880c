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

import numba
import numpy as np

from cppn import node_index
from cppn.population import CppnPopulation
from cppn.profile import NUM_INPUTS
from cppn.program import PackedPrograms

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


@numba.njit(cache=True)
def _compile_one(
    keys: np.ndarray,
    acts: np.ndarray,
    biases: np.ndarray,
    responses: np.ndarray,
    ins: np.ndarray,
    outs: np.ndarray,
    ws: np.ndarray,
    ens: np.ndarray,
    num_outputs: int,
    o_act: np.ndarray,
    o_bias: np.ndarray,
    o_resp: np.ndarray,
    o_start: np.ndarray,
    o_src: np.ndarray,
    o_w: np.ndarray,
    o_slot: np.ndarray,
    scratch: np.ndarray,
) -> tuple[int, int, int]:
    """One genome into its compact program; returns (status, nodes, links)."""
    n, m = keys.size, ins.size
    # Scratch carved from this thread's buffer (no allocation per genome); see scratch_size.
    table = scratch[: node_index.table_size(n)]
    at = table.size
    node_index.build(keys, n, table)  # local index = position in the genome's node arrays
    # Enabled links grouped by target in genome order: source as local index, or -(slot + 1).
    count, at = _take(scratch, at, n + 1, 0)
    src, at = _carve(scratch, at, m)  # read only where dst >= 0
    dst, at = _take(scratch, at, m, -1)
    for j in range(m):
        if not ens[j]:
            continue
        t = node_index.find(table, keys, outs[j])
        if ins[j] < 0 and ins[j] >= -NUM_INPUTS:
            s = ins[j]  # input key -1..-4 -> slot 0..3 is -(key) - 1
        else:
            s = node_index.find(table, keys, ins[j])
            if s < 0:
                return DANGLING_LINK, 0, 0
        if t < 0:
            return DANGLING_LINK, 0, 0
        src[j], dst[j] = s, t
        count[t + 1] += 1
    for i in range(n):
        count[i + 1] += count[i]
    fill, at = _carve(scratch, at, n)
    fill[:] = count[:-1]
    incoming, at = _carve(scratch, at, count[n])  # link indices by target, genome order
    for j in range(m):
        if dst[j] >= 0:
            incoming[fill[dst[j]]] = j
            fill[dst[j]] += 1
    # Required: outputs and every node with a path to one.
    required, at = _take(scratch, at, n, 0)
    stack, at = _carve(scratch, at, n)
    top = 0
    outputs, at = _carve(scratch, at, num_outputs)
    for o in range(num_outputs):
        i = node_index.find(table, keys, o)
        if i < 0:
            return MISSING_OUTPUT, 0, 0
        outputs[o] = i
        if not required[i]:
            required[i] = 1
            stack[top] = i
            top += 1
    while top > 0:
        top -= 1
        node = stack[top]
        for k in range(count[node], count[node + 1]):
            s = src[incoming[k]]
            if s >= 0 and not required[s]:
                required[s] = 1
                stack[top] = s
                top += 1
    # Kahn's algorithm over required nodes, smallest ready key first.
    waiting, at = _take(scratch, at, n, 0)
    fan_out, at = _take(scratch, at, n + 1, 0)
    for t in range(n):
        if required[t]:
            for k in range(count[t], count[t + 1]):
                s = src[incoming[k]]
                if s >= 0:
                    waiting[t] += 1
                    fan_out[s + 1] += 1
    for i in range(n):
        fan_out[i + 1] += fan_out[i]
    fill[:] = fan_out[:-1]
    consumers, at = _carve(scratch, at, fan_out[n])
    for t in range(n):
        if required[t]:
            for k in range(count[t], count[t + 1]):
                s = src[incoming[k]]
                if s >= 0:
                    consumers[fill[s]] = t
                    fill[s] += 1
    heap, at = _carve(scratch, at, n)
    size = 0
    num_required = 0
    for i in range(n):
        if required[i]:
            num_required += 1
            if waiting[i] == 0:
                size = _heap_push(heap, size, i, keys)
    slot, at = _take(scratch, at, n, -1)
    k = 0
    links = 0
    o_start[0] = 0
    while size > 0:
        node, size = _heap_pop(heap, size, keys)
        slot[node] = NUM_INPUTS + k
        o_act[k], o_bias[k], o_resp[k] = acts[node], biases[node], responses[node]
        for q in range(count[node], count[node + 1]):
            j = incoming[q]
            s = src[j]
            o_src[links] = -s - 1 if s < 0 else slot[s]
            o_w[links] = ws[j]
            links += 1
        k += 1
        o_start[k] = links
        for q in range(fan_out[node], fan_out[node + 1]):
            c = consumers[q]
            waiting[c] -= 1
            if waiting[c] == 0:
                size = _heap_push(heap, size, c, keys)
    if k != num_required:
        return NOT_FEED_FORWARD, 0, 0
    for o in range(num_outputs):
        o_slot[o] = slot[outputs[o]]
    return OK, k, links


@numba.njit(cache=True, parallel=True)
def _compile_all(
    node_start: np.ndarray,
    link_start: np.ndarray,
    keys: np.ndarray,
    acts: np.ndarray,
    biases: np.ndarray,
    responses: np.ndarray,
    ins: np.ndarray,
    outs: np.ndarray,
    ws: np.ndarray,
    ens: np.ndarray,
    num_outputs: int,
    status: np.ndarray,
    num_nodes: np.ndarray,
    num_links: np.ndarray,
    c_act: np.ndarray,
    c_bias: np.ndarray,
    c_resp: np.ndarray,
    c_start: np.ndarray,
    c_src: np.ndarray,
    c_w: np.ndarray,
    c_slot: np.ndarray,
    scratch: np.ndarray,
) -> None:
    for g in numba.prange(node_start.size - 1):
        a, b = node_start[g], node_start[g + 1]
        c, d = link_start[g], link_start[g + 1]
        status[g], num_nodes[g], num_links[g] = _compile_one(
            keys[a:b],
            acts[a:b],
            biases[a:b],
            responses[a:b],
            ins[c:d],
            outs[c:d],
            ws[c:d],
            ens[c:d],
            num_outputs,
            c_act[a:b],
            c_bias[a:b],
            c_resp[a:b],
            c_start[a + g : b + g + 1],
            c_src[c:d],
            c_w[c:d],
            c_slot[g],
            scratch[numba.get_thread_id()],
        )


# Serial: a plain copy, cheaper than waking the thread pool once more (a parallel region
# waits for every thread, which costs most where other jobs share the cores).
@numba.njit(cache=True)
def _pad(
    node_start: np.ndarray,
    link_start: np.ndarray,
    num_nodes: np.ndarray,
    num_links: np.ndarray,
    c_act: np.ndarray,
    c_bias: np.ndarray,
    c_resp: np.ndarray,
    c_start: np.ndarray,
    c_src: np.ndarray,
    c_w: np.ndarray,
    activation: np.ndarray,
    bias: np.ndarray,
    response: np.ndarray,
    start: np.ndarray,
    source: np.ndarray,
    weight: np.ndarray,
) -> None:
    for g in range(num_nodes.size):
        a, c, k, m = node_start[g], link_start[g], num_nodes[g], num_links[g]
        activation[g, :k] = c_act[a : a + k]
        bias[g, :k] = c_bias[a : a + k]
        response[g, :k] = c_resp[a : a + k]
        start[g, : k + 1] = c_start[a + g : a + g + k + 1]
        start[g, k + 1 :] = m  # padding nodes have no links
        source[g, :m] = c_src[c : c + m]
        weight[g, :m] = c_w[c : c + m]
        # Padding as compile_population's zeros (and ones for response): the arrays come
        # uninitialised, and reused.
        activation[g, k:] = 0
        bias[g, k:] = 0.0
        response[g, k:] = 1.0
        source[g, m:] = 0
        weight[g, m:] = 0.0


def compile_arrays(population: CppnPopulation, num_outputs: int) -> PackedPrograms:
    """Compile and pack every genome of ``population`` (none may be an empty cell)."""
    n = len(population)
    if not population.occupied.all():
        raise CompileError("cannot compile an empty cell")
    total_nodes, total_links = len(population.node_key), len(population.link_in)
    status = np.zeros(n, dtype=np.int64)
    num_nodes = np.zeros(n, dtype=np.int64)
    num_links = np.zeros(n, dtype=np.int64)
    c_act = _buffer("act", total_nodes, np.int32)
    c_bias = _buffer("bias", total_nodes, np.float64)
    c_resp = _buffer("resp", total_nodes, np.float64)
    c_start = _buffer("start", total_nodes + n, np.int32)
    c_src = _buffer("src", total_links, np.int32)
    c_w = _buffer("w", total_links, np.float64)
    slot = np.zeros((n, num_outputs), dtype=np.int32)
    p = population
    # One scratch row per thread, as large as the largest genome needs.
    need = scratch_size(
        int(p.num_nodes.max(initial=0)), int(p.num_links.max(initial=0)), num_outputs
    )
    threads = numba.config.NUMBA_NUM_THREADS
    scratch = _buffer("scratch", threads * need, np.int64).reshape(threads, need)
    _compile_all(
        p.node_start, p.link_start, p.node_key, p.node_activation, p.node_bias, p.node_response,
        p.link_in, p.link_out, p.link_weight, p.link_enabled, int(num_outputs),
        status, num_nodes, num_links, c_act, c_bias, c_resp, c_start, c_src, c_w, slot, scratch,
    )  # fmt: skip
    bad = np.flatnonzero(status != OK)
    if bad.size:
        reasons = {MISSING_OUTPUT: "lacks an output node", NOT_FEED_FORWARD: "is not feed-forward",
                   DANGLING_LINK: "has a link to or from no node"}  # fmt: skip
        g = int(bad[0])
        raise CompileError(f"genome {int(p.key[g])} {reasons[int(status[g])]}")
    k = int(num_nodes.max(initial=0))
    width = max(1, int(num_links.max(initial=0)))
    packed = PackedPrograms(
        num_nodes=num_nodes.astype(np.int32), output_slot=slot, **_packed_arrays(n, k, width)
    )
    _pad(
        p.node_start, p.link_start, num_nodes, num_links, c_act, c_bias, c_resp, c_start, c_src,
        c_w, packed.activation, packed.bias, packed.response, packed.link_start,
        packed.link_source, packed.link_weight,
    )  # fmt: skip
    return packed
