"""The CPPN mutation operators as compiled (Numba) batch kernels over a CppnPopulation.

One child per parent, each on its own SplitMix64 stream (:mod:`cppn.streams`), children in
parallel. The operators follow neat-python 2.0's ``DefaultGenome`` (and the project's node split,
:meth:`cppn.genomes.CppnGenome.mutate_add_node`) draw for draw in meaning, not in stream:

* add node: split a uniformly chosen link; the new hidden node gets bias 0, a response and an
  activation as neat's ``create_node`` draws them, and both new links keep the split link's weight
  and enabled flag; the split link is deleted. No link: nothing, or (structural_mutation_surer)
  an add-connection attempt.
* delete node: a uniformly chosen non-output node and every link touching it.
* add connection: target uniform over all nodes, source uniform over the inputs and the non-output
  nodes; nothing happens for a duplicate (surer: it is re-enabled), output->output, or a link
  that would close a cycle (neat's ``creates_cycle``). The new weight is drawn as neat's
  ``init_value`` draws it (Gaussian clipped, or uniform over mean +- 2 stdev within min/max).
* delete connection: a uniformly chosen link.

Each is tried once in that order (or exactly one, chosen as neat does, with
single_structural_mutation); then each node's activation is redrawn uniformly over the options
with the activation mutate rate, then each weight gets polynomial mutation. New node keys and
innovation numbers are assigned after the parallel part, in child order, so they do not depend
on the thread count: keys from the node counter; innovations from the counter, an
add-connection repeating one made earlier in the batch reusing its number (neat's tracker).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import types
from numba.typed import Dict

from cppn import node_index
from cppn.streams import below, geometric, log_keep, normal, polynomial_mutate, uniform

#: Placeholders used inside the kernel until keys are assigned in child order.
NEW_NODE = 1 << 62
NEW_IN, NEW_OUT, NEW_CONN = -2, -3, -4
NUM_INPUTS = 4

# Indices into the float64 parameter vector handed to the kernel (see cppn.breeder).
P_ADD_NODE, P_DEL_NODE, P_ADD_CONN, P_DEL_CONN = 0, 1, 2, 3
P_SINGLE, P_SURER = 4, 5
P_ACT_RATE, P_ACT_DEFAULT = 6, 7  # default: -1 draws uniformly over options, else an id
P_RESP = 8  # type (0 gaussian, 1 uniform), mean, stdev, min, max: 8..12
P_WEIGHT = 13  # same five for a new connection's weight: 13..17
P_POLY_RATE, P_POLY_ETA = 18, 19
NUM_PARAMS = 20
_PAIR = types.UniTuple(types.int64, 2)


@numba.njit(cache=True)
def _init_float(stream: np.ndarray, params: np.ndarray, at: int) -> float:
    """neat's FloatAttribute.init_value from the five parameters at ``params[at:]``."""
    kind, mean, stdev, low, high = (
        params[at],
        params[at + 1],
        params[at + 2],
        params[at + 3],
        params[at + 4],
    )
    if kind == 0.0:
        return min(max(mean + stdev * normal(stream), low), high)
    lo, hi = max(low, mean - 2.0 * stdev), min(high, mean + 2.0 * stdev)
    return lo + (hi - lo) * uniform(stream)


@numba.njit(cache=True)
def _init_activation(stream: np.ndarray, params: np.ndarray, options: np.ndarray) -> int:
    default = int(params[P_ACT_DEFAULT])
    if default >= 0:
        return default
    return options[below(stream, options.size)]


@numba.njit(cache=True)
def _remove_link(
    ins: np.ndarray,
    outs: np.ndarray,
    ws: np.ndarray,
    inns: np.ndarray,
    ens: np.ndarray,
    s: int,
    n_links: int,
) -> int:
    """Delete link ``s``, keeping the order of the others."""
    for j in range(s, n_links - 1):
        ins[j], outs[j], ws[j], inns[j], ens[j] = (
            ins[j + 1],
            outs[j + 1],
            ws[j + 1],
            inns[j + 1],
            ens[j + 1],
        )
    return n_links - 1


@numba.njit(cache=True)
def _append_link(
    ins: np.ndarray,
    outs: np.ndarray,
    ws: np.ndarray,
    inns: np.ndarray,
    ens: np.ndarray,
    n_links: int,
    a: int,
    b: int,
    w: float,
    inn: int,
    en: bool,
) -> int:
    ins[n_links], outs[n_links], ws[n_links], inns[n_links], ens[n_links] = a, b, w, inn, en
    return n_links + 1


@numba.njit(cache=True)
def _creates_cycle(
    keys: np.ndarray, n_nodes: int, ins: np.ndarray, outs: np.ndarray, n_links: int, a: int, b: int
) -> bool:
    """Whether link a -> b would close a cycle: b already reaches a (or a == b)."""
    if a == b:
        return True
    if a < 0:  # an input: no link ends there, so nothing reaches it
        return False
    table = np.empty(node_index.table_size(n_nodes), dtype=np.int64)
    node_index.build(keys, n_nodes, table)
    # Links grouped by source node (counting sort); links from inputs left out.
    count = np.zeros(n_nodes + 1, dtype=np.int64)
    src = np.full(n_links, -1, dtype=np.int64)
    dst = np.full(n_links, -1, dtype=np.int64)
    for j in range(n_links):
        p = node_index.find(table, keys, ins[j])
        q = node_index.find(table, keys, outs[j])
        if p >= 0 and q >= 0:
            src[j], dst[j] = p, q
            count[p + 1] += 1
    for i in range(n_nodes):
        count[i + 1] += count[i]
    fill = count[:-1].copy()
    adjacent = np.empty(count[n_nodes], dtype=np.int64)
    for j in range(n_links):
        if src[j] >= 0:
            adjacent[fill[src[j]]] = dst[j]
            fill[src[j]] += 1
    start = node_index.find(table, keys, b)
    target = node_index.find(table, keys, a)
    if start < 0:
        return False
    visited = np.zeros(n_nodes, dtype=np.bool_)
    stack = np.empty(n_nodes, dtype=np.int64)
    visited[start] = True
    stack[0] = start
    top = 1
    while top > 0:
        top -= 1
        node = stack[top]
        for k in range(count[node], count[node + 1]):
            nxt = adjacent[k]
            if nxt == target:
                return True
            if not visited[nxt]:
                visited[nxt] = True
                stack[top] = nxt
                top += 1
    return False


@numba.njit(cache=True)
def _hidden(keys: np.ndarray, n_nodes: int, num_outputs: int, j: int) -> int:
    """Key of the ``j``-th non-output node in genome order."""
    seen = 0
    for i in range(n_nodes):
        if keys[i] >= num_outputs:
            if seen == j:
                return keys[i]
            seen += 1
    return -1


@numba.njit(cache=True)
def _count_hidden(keys: np.ndarray, n_nodes: int, num_outputs: int) -> int:
    h = 0
    for i in range(n_nodes):
        if keys[i] >= num_outputs:
            h += 1
    return h


@numba.njit(cache=True)
def _add_connection(
    stream: np.ndarray,
    params: np.ndarray,
    num_outputs: int,
    keys: np.ndarray,
    n_nodes: int,
    ins: np.ndarray,
    outs: np.ndarray,
    ws: np.ndarray,
    inns: np.ndarray,
    ens: np.ndarray,
    n_links: int,
    record: np.ndarray,
) -> int:
    """neat's mutate_add_connection; ``record`` gets (1, in, out) when a link was added."""
    out_node = keys[below(stream, n_nodes)]
    choice = below(stream, NUM_INPUTS + _count_hidden(keys, n_nodes, num_outputs))
    if choice < NUM_INPUTS:
        in_node = -(choice + 1)
    else:
        in_node = _hidden(keys, n_nodes, num_outputs, choice - NUM_INPUTS)
    for j in range(n_links):
        if ins[j] == in_node and outs[j] == out_node:
            if params[P_SURER] != 0.0:
                ens[j] = True
            return n_links
    if 0 <= in_node < num_outputs and 0 <= out_node < num_outputs:
        return n_links
    if _creates_cycle(keys, n_nodes, ins, outs, n_links, in_node, out_node):
        return n_links
    weight = _init_float(stream, params, P_WEIGHT)
    record[0], record[1], record[2] = 1, in_node, out_node
    return _append_link(
        ins, outs, ws, inns, ens, n_links, in_node, out_node, weight, NEW_CONN, True
    )


@numba.njit(cache=True)
def _mutate_child(
    stream: np.ndarray,
    params: np.ndarray,
    options: np.ndarray,
    num_outputs: int,
    keys: np.ndarray,
    acts: np.ndarray,
    biases: np.ndarray,
    responses: np.ndarray,
    n_nodes: int,
    ins: np.ndarray,
    outs: np.ndarray,
    ws: np.ndarray,
    inns: np.ndarray,
    ens: np.ndarray,
    n_links: int,
    record: np.ndarray,
) -> tuple[int, int, bool]:
    """Structural then attribute mutation of one child in place; returns (nodes, links, added)."""
    added = False
    todo = np.zeros(4, dtype=np.bool_)  # add node, delete node, add connection, delete connection
    if params[P_SINGLE] != 0.0:
        total = params[P_ADD_NODE] + params[P_DEL_NODE] + params[P_ADD_CONN] + params[P_DEL_CONN]
        div = max(1.0, total)
        r = uniform(stream)
        edge = 0.0
        for k in range(4):
            edge += params[P_ADD_NODE + k]
            if r < edge / div:
                todo[k] = True
                break
    else:
        for k in range(4):
            todo[k] = uniform(stream) < params[P_ADD_NODE + k]

    if todo[0]:
        if n_links == 0:
            if params[P_SURER] != 0.0:
                n_links = _add_connection(
                    stream,
                    params,
                    num_outputs,
                    keys,
                    n_nodes,
                    ins,
                    outs,
                    ws,
                    inns,
                    ens,
                    n_links,
                    record,
                )
        else:
            s = below(stream, n_links)
            a, b, w, e = ins[s], outs[s], ws[s], ens[s]
            keys[n_nodes] = NEW_NODE
            biases[n_nodes] = 0.0  # as neat: a new node starts neutral whatever the bias init
            responses[n_nodes] = _init_float(stream, params, P_RESP)
            acts[n_nodes] = _init_activation(stream, params, options)
            n_nodes += 1
            added = True
            n_links = _remove_link(ins, outs, ws, inns, ens, s, n_links)
            n_links = _append_link(ins, outs, ws, inns, ens, n_links, a, NEW_NODE, w, NEW_IN, e)
            n_links = _append_link(ins, outs, ws, inns, ens, n_links, NEW_NODE, b, w, NEW_OUT, e)

    if todo[1]:
        hidden = _count_hidden(keys, n_nodes, num_outputs)
        if hidden > 0:
            gone = _hidden(keys, n_nodes, num_outputs, below(stream, hidden))
            kept = 0
            for j in range(n_links):
                if ins[j] != gone and outs[j] != gone:
                    ins[kept], outs[kept], ws[kept], inns[kept], ens[kept] = (
                        ins[j],
                        outs[j],
                        ws[j],
                        inns[j],
                        ens[j],
                    )
                    kept += 1
            n_links = kept
            kept = 0
            for i in range(n_nodes):
                if keys[i] != gone:
                    keys[kept], acts[kept], biases[kept], responses[kept] = (
                        keys[i],
                        acts[i],
                        biases[i],
                        responses[i],
                    )
                    kept += 1
            n_nodes = kept

    if todo[2]:
        n_links = _add_connection(
            stream, params, num_outputs, keys, n_nodes, ins, outs, ws, inns, ens, n_links, record
        )

    if todo[3] and n_links > 0:
        n_links = _remove_link(ins, outs, ws, inns, ens, below(stream, n_links), n_links)

    # Attribute mutation: visit only the genes that mutate (geometric gaps between them).
    keep = log_keep(params[P_ACT_RATE])
    i = geometric(stream, keep) - 1
    while i < n_nodes:
        acts[i] = options[below(stream, options.size)]
        i += geometric(stream, keep)
    keep = log_keep(params[P_POLY_RATE])
    low, high, eta = params[P_WEIGHT + 3], params[P_WEIGHT + 4], params[P_POLY_ETA]
    i = geometric(stream, keep) - 1
    while i < n_links:
        ws[i] = polynomial_mutate(ws[i], uniform(stream), eta, low, high)
        i += geometric(stream, keep)
    return n_nodes, n_links, added


@numba.njit(cache=True, parallel=True)
def mutate_batch(
    node_start: np.ndarray,
    link_start: np.ndarray,
    node_key: np.ndarray,
    node_act: np.ndarray,
    node_bias: np.ndarray,
    node_resp: np.ndarray,
    link_in: np.ndarray,
    link_out: np.ndarray,
    link_weight: np.ndarray,
    link_inn: np.ndarray,
    link_en: np.ndarray,
    seeds: np.ndarray,
    params: np.ndarray,
    options: np.ndarray,
    num_outputs: int,
    cap_node_start: np.ndarray,
    cap_link_start: np.ndarray,
    o_key: np.ndarray,
    o_act: np.ndarray,
    o_bias: np.ndarray,
    o_resp: np.ndarray,
    o_in: np.ndarray,
    o_out: np.ndarray,
    o_w: np.ndarray,
    o_inn: np.ndarray,
    o_en: np.ndarray,
    n_nodes: int,
    n_links: int,
    added: np.ndarray,
    record: np.ndarray,
) -> None:
    """Copy each parent into its child's slot (capacity: +1 node, +3 links) and mutate it there.

    Writes each child's node and link counts, whether it added a node, and ``record[c]`` =
    (added a connection?, its source, its target) for the key assignment that follows.
    """
    for c in numba.prange(seeds.size):
        stream = seeds[c : c + 1].copy()
        ns, nn = node_start[c], node_start[c + 1] - node_start[c]
        ls, nl = link_start[c], link_start[c + 1] - link_start[c]
        on, ol = cap_node_start[c], cap_link_start[c]
        on_end, ol_end = cap_node_start[c + 1], cap_link_start[c + 1]
        o_key[on : on + nn] = node_key[ns : ns + nn]
        o_act[on : on + nn] = node_act[ns : ns + nn]
        o_bias[on : on + nn] = node_bias[ns : ns + nn]
        o_resp[on : on + nn] = node_resp[ns : ns + nn]
        o_in[ol : ol + nl] = link_in[ls : ls + nl]
        o_out[ol : ol + nl] = link_out[ls : ls + nl]
        o_w[ol : ol + nl] = link_weight[ls : ls + nl]
        o_inn[ol : ol + nl] = link_inn[ls : ls + nl]
        o_en[ol : ol + nl] = link_en[ls : ls + nl]
        n, m, a = _mutate_child(
            stream,
            params,
            options,
            num_outputs,
            o_key[on:on_end],
            o_act[on:on_end],
            o_bias[on:on_end],
            o_resp[on:on_end],
            nn,
            o_in[ol:ol_end],
            o_out[ol:ol_end],
            o_w[ol:ol_end],
            o_inn[ol:ol_end],
            o_en[ol:ol_end],
            nl,
            record[c],
        )
        n_nodes[c], n_links[c], added[c] = n, m, a


@numba.njit(cache=True)
def assign_keys(
    added: np.ndarray, record: np.ndarray, next_node: int, counter: int
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """New node keys and innovation numbers in child order (neat's counters and tracker).

    Returns (node key per child, innovations [N, 3] for split-in, split-out and the new
    connection, next node key, innovation counter).
    """
    n = added.size
    node_of = np.full(n, -1, dtype=np.int64)
    innovation = np.zeros((n, 3), dtype=np.int64)
    seen = Dict.empty(key_type=_PAIR, value_type=types.int64)
    for c in range(n):
        if added[c]:
            node_of[c] = next_node
            next_node += 1
            innovation[c, 0] = counter + 1
            innovation[c, 1] = counter + 2
            counter += 2
        if record[c, 0] == 1:
            a = node_of[c] if record[c, 1] == NEW_NODE else record[c, 1]
            b = node_of[c] if record[c, 2] == NEW_NODE else record[c, 2]
            if (a, b) in seen:
                innovation[c, 2] = seen[(a, b)]
            else:
                counter += 1
                seen[(a, b)] = counter
                innovation[c, 2] = counter
    return node_of, innovation, next_node, counter


# Serial: a plain copy, cheaper than waking the thread pool once more (a parallel region
# waits for every thread, which costs most where other jobs share the cores). In place: each
# child moves left (its final start is never past its capacity slot's start) and children go in
# order, so nothing is read after it was overwritten; the caller keeps the working arrays as the
# population's, which spares a second set of freshly allocated arrays (and their page faults).
@numba.njit(cache=True)
def compact(
    cap_node_start: np.ndarray,
    cap_link_start: np.ndarray,
    node_start: np.ndarray,
    link_start: np.ndarray,
    node_key: np.ndarray,
    node_act: np.ndarray,
    node_bias: np.ndarray,
    node_resp: np.ndarray,
    link_in: np.ndarray,
    link_out: np.ndarray,
    link_weight: np.ndarray,
    link_inn: np.ndarray,
    link_en: np.ndarray,
    node_of: np.ndarray,
    innovation: np.ndarray,
) -> None:
    """Children from their capacity slots into the final CSR, in place, placeholders replaced."""
    for c in range(node_of.size):
        src, dst = cap_node_start[c], node_start[c]
        for i in range(node_start[c + 1] - dst):
            k = node_key[src + i]
            node_key[dst + i] = node_of[c] if k == NEW_NODE else k
            node_act[dst + i] = node_act[src + i]
            node_bias[dst + i] = node_bias[src + i]
            node_resp[dst + i] = node_resp[src + i]
        src, dst = cap_link_start[c], link_start[c]
        for j in range(link_start[c + 1] - dst):
            a, b, inn = link_in[src + j], link_out[src + j], link_inn[src + j]
            link_in[dst + j] = node_of[c] if a == NEW_NODE else a
            link_out[dst + j] = node_of[c] if b == NEW_NODE else b
            if inn == NEW_IN:
                inn = innovation[c, 0]
            elif inn == NEW_OUT:
                inn = innovation[c, 1]
            elif inn == NEW_CONN:
                inn = innovation[c, 2]
            link_inn[dst + j] = inn
            link_weight[dst + j] = link_weight[src + j]
            link_en[dst + j] = link_en[src + j]
