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

The kernels take records, not an argument per column: parents and the children's capacity slots
as :class:`~cppn.genome_arrays.GenomeArrays`, the profile's rates and init settings as
:class:`MutationSettings` (by name; it replaced a float vector read through index constants), and
they report each child in :class:`Mutations`. Python enters once a generation, through
:func:`breed` (mutation, key assignment and compaction): each call with records costs Numba
more to type than one with arrays.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
from numba import types
from numba.typed import Dict

from cppn import node_index
from cppn.genome_arrays import (
    GenomeArrays,
    LinkArrays,
    NodeArrays,
)
from cppn.streams import below, geometric, log_keep, normal, polynomial_mutate, uniform

#: Placeholders used inside the kernel until keys are assigned in child order.
NEW_NODE = 1 << 62
NEW_IN, NEW_OUT, NEW_CONN = -2, -3, -4
NUM_INPUTS = 4
_PAIR = types.UniTuple(types.int64, 2)


class MutationSettings(NamedTuple):
    """What the kernels read from the profile (built by :func:`cppn.breeder.kernel_settings`).

    Flat, for Numba's parallel loops (see cppn.genome_arrays). Give every field its exact type
    (Python ``float``, ``bool``, ``int``; an int32 array): the kernels are compiled for the
    record's type, so a field that changes type compiles them again.
    """

    add_node: float  # probability of each structural mutation (neat's *_prob)
    delete_node: float
    add_connection: float
    delete_connection: float
    single_structural: bool  # at most one structural mutation per child, chosen as neat does
    surer: bool  # neat's structural_mutation_surer
    activation_rate: float  # per node: redraw the activation uniformly over the options
    activation_default: int  # a new node's activation id; -1 draws it over the options
    activation_options: np.ndarray  # int32 activation ids (cppn.activations.IDS)
    # A new node's response as neat's init_value draws it: Gaussian (else uniform over
    # mean +- 2 stdev), within [min, max].
    response_gaussian: bool
    response_mean: float
    response_stdev: float
    response_min: float
    response_max: float
    # A new connection's weight, drawn the same way; min and max also bound the polynomial
    # mutation (rate per weight, distribution index eta).
    weight_gaussian: bool
    weight_mean: float
    weight_stdev: float
    weight_min: float
    weight_max: float
    weight_rate: float
    weight_eta: float
    num_outputs: int  # output nodes are keys 0..num_outputs - 1


class Mutations(NamedTuple):
    """What :func:`mutate_batch` reports per child, for the key assignment that follows."""

    num_nodes: np.ndarray  # int64 [N]
    num_links: np.ndarray  # int64 [N]
    added_node: np.ndarray  # bool [N]: split a link (its new node gets a key)
    new_connection: np.ndarray  # int64 [N, 3]: (added a connection?, its source, its target)


@numba.njit(cache=True, inline="always")
def _init_float(
    stream: np.ndarray, gaussian: bool, mean: float, stdev: float, low: float, high: float
) -> float:
    """neat's FloatAttribute.init_value."""
    if gaussian:
        return min(max(mean + stdev * normal(stream), low), high)
    lo, hi = max(low, mean - 2.0 * stdev), min(high, mean + 2.0 * stdev)
    return lo + (hi - lo) * uniform(stream)


@numba.njit(cache=True, inline="always")
def _new_response(stream: np.ndarray, s: MutationSettings) -> float:
    """A new node's response."""
    return _init_float(
        stream,
        s.response_gaussian,
        s.response_mean,
        s.response_stdev,
        s.response_min,
        s.response_max,
    )


@numba.njit(cache=True, inline="always")
def _new_weight(stream: np.ndarray, s: MutationSettings) -> float:
    """A new connection's weight."""
    return _init_float(
        stream, s.weight_gaussian, s.weight_mean, s.weight_stdev, s.weight_min, s.weight_max
    )


@numba.njit(cache=True, inline="always")
def _init_activation(stream: np.ndarray, settings: MutationSettings) -> int:
    """A new node's activation: the default, or uniform over the options."""
    if settings.activation_default >= 0:
        return settings.activation_default
    options = settings.activation_options
    return options[below(stream, options.size)]


@numba.njit(cache=True, inline="always")
def _remove_link(links: LinkArrays, s: int, n_links: int) -> int:
    """Delete link ``s``, keeping the order of the others."""
    ins, outs, ws, inns, ens = (
        links.in_node,
        links.out_node,
        links.weight,
        links.innovation,
        links.enabled,
    )
    for j in range(s, n_links - 1):
        ins[j], outs[j], ws[j] = ins[j + 1], outs[j + 1], ws[j + 1]
        inns[j], ens[j] = inns[j + 1], ens[j + 1]
    return n_links - 1


@numba.njit(cache=True, inline="always")
def _append_link(
    links: LinkArrays, n_links: int, a: int, b: int, w: float, inn: int, en: bool
) -> int:
    """Link a -> b (weight, innovation, enabled) after the first ``n_links``."""
    links.in_node[n_links], links.out_node[n_links] = a, b
    links.weight[n_links], links.innovation[n_links], links.enabled[n_links] = w, inn, en
    return n_links + 1


@numba.njit(cache=True)
def _links_by_source(
    keys: np.ndarray, n_nodes: int, links: LinkArrays, n_links: int, table: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Adjacency of the nodes (positions): node i's targets are ``adjacent[start[i]:start[i +
    1]]`` (a counting sort); links from inputs are left out."""
    start = np.zeros(n_nodes + 1, dtype=np.int64)
    src = np.full(n_links, -1, dtype=np.int64)
    dst = np.full(n_links, -1, dtype=np.int64)
    ins, outs = links.in_node, links.out_node
    for j in range(n_links):
        p = node_index.find(table, keys, ins[j])
        q = node_index.find(table, keys, outs[j])
        if p >= 0 and q >= 0:
            src[j], dst[j] = p, q
            start[p + 1] += 1
    for i in range(n_nodes):
        start[i + 1] += start[i]
    fill = start[:-1].copy()
    adjacent = np.empty(start[n_nodes], dtype=np.int64)
    for j in range(n_links):
        if src[j] >= 0:
            adjacent[fill[src[j]]] = dst[j]
            fill[src[j]] += 1
    return start, adjacent


@numba.njit(cache=True)
def _reaches(start: np.ndarray, adjacent: np.ndarray, origin: int, target: int) -> bool:
    """Whether a path leads from node ``origin`` to node ``target`` (depth-first search)."""
    n_nodes = start.size - 1
    visited = np.zeros(n_nodes, dtype=np.bool_)
    stack = np.empty(n_nodes, dtype=np.int64)
    visited[origin] = True
    stack[0] = origin
    top = 1
    while top > 0:
        top -= 1
        node = stack[top]
        for k in range(start[node], start[node + 1]):
            nxt = adjacent[k]
            if nxt == target:
                return True
            if not visited[nxt]:
                visited[nxt] = True
                stack[top] = nxt
                top += 1
    return False


@numba.njit(cache=True)
def _creates_cycle(
    keys: np.ndarray, n_nodes: int, links: LinkArrays, n_links: int, a: int, b: int
) -> bool:
    """Whether link a -> b would close a cycle: b already reaches a (or a == b)."""
    if a == b:
        return True
    if a < 0:  # an input: no link ends there, so nothing reaches it
        return False
    table = np.empty(node_index.table_size(n_nodes), dtype=np.int64)
    node_index.build(keys, n_nodes, table)
    start, adjacent = _links_by_source(keys, n_nodes, links, n_links, table)
    origin = node_index.find(table, keys, b)
    if origin < 0:
        return False
    return _reaches(start, adjacent, origin, node_index.find(table, keys, a))


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
    """Number of non-output nodes among the first ``n_nodes``."""
    h = 0
    for i in range(n_nodes):
        if keys[i] >= num_outputs:
            h += 1
    return h


@numba.njit(cache=True, inline="always")
def _add_connection(
    stream: np.ndarray,
    settings: MutationSettings,
    nodes: NodeArrays,
    n_nodes: int,
    links: LinkArrays,
    n_links: int,
    new_connection: np.ndarray,
) -> int:
    """neat's mutate_add_connection; ``new_connection`` gets (1, in, out) when a link was added."""
    keys, num_outputs = nodes.key, settings.num_outputs
    out_node = keys[below(stream, n_nodes)]
    choice = below(stream, NUM_INPUTS + _count_hidden(keys, n_nodes, num_outputs))
    if choice < NUM_INPUTS:
        in_node = -(choice + 1)
    else:
        in_node = _hidden(keys, n_nodes, num_outputs, choice - NUM_INPUTS)
    ins, outs = links.in_node, links.out_node
    for j in range(n_links):
        if ins[j] == in_node and outs[j] == out_node:
            if settings.surer:
                links.enabled[j] = True
            return n_links
    if 0 <= in_node < num_outputs and 0 <= out_node < num_outputs:
        return n_links
    if _creates_cycle(keys, n_nodes, links, n_links, in_node, out_node):
        return n_links
    weight = _new_weight(stream, settings)
    new_connection[0], new_connection[1], new_connection[2] = 1, in_node, out_node
    return _append_link(links, n_links, in_node, out_node, weight, NEW_CONN, True)


@numba.njit(cache=True, inline="always")
def _add_node(
    stream: np.ndarray,
    settings: MutationSettings,
    nodes: NodeArrays,
    n_nodes: int,
    links: LinkArrays,
    n_links: int,
    new_connection: np.ndarray,
) -> tuple[int, int, bool]:
    """neat's mutate_add_node: split a uniformly chosen link; returns (nodes, links, added)."""
    if n_links == 0:
        if settings.surer:
            n_links = _add_connection(
                stream, settings, nodes, n_nodes, links, n_links, new_connection
            )
        return n_nodes, n_links, False
    s = below(stream, n_links)
    a, b, w, e = links.in_node[s], links.out_node[s], links.weight[s], links.enabled[s]
    nodes.key[n_nodes] = NEW_NODE
    nodes.bias[n_nodes] = 0.0  # as neat: a new node starts neutral whatever the bias init
    nodes.response[n_nodes] = _new_response(stream, settings)
    nodes.activation[n_nodes] = _init_activation(stream, settings)
    n_links = _remove_link(links, s, n_links)
    n_links = _append_link(links, n_links, a, NEW_NODE, w, NEW_IN, e)
    n_links = _append_link(links, n_links, NEW_NODE, b, w, NEW_OUT, e)
    return n_nodes + 1, n_links, True


@numba.njit(cache=True, inline="always")
def _delete_node(
    stream: np.ndarray,
    num_outputs: int,
    nodes: NodeArrays,
    n_nodes: int,
    links: LinkArrays,
    n_links: int,
) -> tuple[int, int]:
    """neat's mutate_delete_node: a uniformly chosen non-output node and every link touching it;
    returns (nodes, links)."""
    hidden = _count_hidden(nodes.key, n_nodes, num_outputs)
    if hidden == 0:
        return n_nodes, n_links
    gone = _hidden(nodes.key, n_nodes, num_outputs, below(stream, hidden))
    ins, outs, ws, inns, ens = (
        links.in_node,
        links.out_node,
        links.weight,
        links.innovation,
        links.enabled,
    )
    kept = 0
    for j in range(n_links):
        if ins[j] != gone and outs[j] != gone:
            ins[kept], outs[kept], ws[kept] = ins[j], outs[j], ws[j]
            inns[kept], ens[kept] = inns[j], ens[j]
            kept += 1
    n_links = kept
    keys, acts, biases, responses = nodes.key, nodes.activation, nodes.bias, nodes.response
    kept = 0
    for i in range(n_nodes):
        if keys[i] != gone:
            keys[kept], acts[kept] = keys[i], acts[i]
            biases[kept], responses[kept] = biases[i], responses[i]
            kept += 1
    return kept, n_links


@numba.njit(cache=True, inline="always")
def _structural_mutations(stream: np.ndarray, settings: MutationSettings) -> np.ndarray:
    """Which of add node, delete node, add connection, delete connection to try (bool [4]):
    each with its probability, or exactly one as neat chooses it (single_structural)."""
    todo = np.zeros(4, dtype=np.bool_)
    rates = (
        settings.add_node,
        settings.delete_node,
        settings.add_connection,
        settings.delete_connection,
    )
    if settings.single_structural:
        div = max(1.0, rates[0] + rates[1] + rates[2] + rates[3])
        r = uniform(stream)
        edge = 0.0
        for k in range(4):
            edge += rates[k]
            if r < edge / div:
                todo[k] = True
                break
    else:
        for k in range(4):
            todo[k] = uniform(stream) < rates[k]
    return todo


@numba.njit(cache=True, inline="always")
def _mutate_activations(
    stream: np.ndarray, settings: MutationSettings, activation: np.ndarray, n_nodes: int
) -> None:
    """Redraw each activation with the activation rate, visiting only the genes that mutate
    (geometric gaps between them)."""
    options = settings.activation_options
    keep = log_keep(settings.activation_rate)
    i = geometric(stream, keep) - 1
    while i < n_nodes:
        activation[i] = options[below(stream, options.size)]
        i += geometric(stream, keep)


@numba.njit(cache=True, inline="always")
def _mutate_weights(
    stream: np.ndarray, settings: MutationSettings, weight: np.ndarray, n_links: int
) -> None:
    """Polynomial mutation of each weight with its rate (geometric gaps, as activations)."""
    eta, low, high = settings.weight_eta, settings.weight_min, settings.weight_max
    keep = log_keep(settings.weight_rate)
    i = geometric(stream, keep) - 1
    while i < n_links:
        weight[i] = polynomial_mutate(weight[i], uniform(stream), eta, low, high)
        i += geometric(stream, keep)


@numba.njit(cache=True)
def _mutate_child(
    stream: np.ndarray,
    settings: MutationSettings,
    nodes: NodeArrays,
    n_nodes: int,
    links: LinkArrays,
    n_links: int,
    new_connection: np.ndarray,
) -> tuple[int, int, bool]:
    """Structural then attribute mutation of one child in place; returns (nodes, links, added).

    ``nodes`` and ``links`` are the child's capacity slot: its genome in the first ``n_nodes``
    and ``n_links``, room for one node and three links more.
    """
    added = False
    todo = _structural_mutations(stream, settings)
    if todo[0]:
        n_nodes, n_links, added = _add_node(
            stream, settings, nodes, n_nodes, links, n_links, new_connection
        )
    if todo[1]:
        n_nodes, n_links = _delete_node(
            stream, settings.num_outputs, nodes, n_nodes, links, n_links
        )
    if todo[2]:
        n_links = _add_connection(stream, settings, nodes, n_nodes, links, n_links, new_connection)
    if todo[3] and n_links > 0:
        n_links = _remove_link(links, below(stream, n_links), n_links)
    _mutate_activations(stream, settings, nodes.activation, n_nodes)
    _mutate_weights(stream, settings, links.weight, n_links)
    return n_nodes, n_links, added


# The parallel loop takes the columns one by one, not as records: in a Numba parallel loop's body
# a write to an array reached through a tuple is lost (see cppn.genome_arrays), and slice copies
# there become plain loops, which measured 20-30% faster per generation than any record-taking
# form tried (a call per child, a call per block of children). mutate_batch is the one place that
# spells the columns out.
@numba.njit(cache=True, parallel=True)
def _mutate_children(
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
    seeds: np.ndarray,
    settings: MutationSettings,
    num_nodes: np.ndarray,
    num_links: np.ndarray,
    added: np.ndarray,
    new_connection: np.ndarray,
) -> None:
    """:func:`mutate_batch`'s loop, over the parents' and the slots' columns."""
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
        nodes = NodeArrays(o_key[on:on_end], o_act[on:on_end], o_bias[on:on_end], o_resp[on:on_end])
        links = LinkArrays(
            o_in[ol:ol_end], o_out[ol:ol_end], o_w[ol:ol_end], o_inn[ol:ol_end], o_en[ol:ol_end]
        )
        n, m, a = _mutate_child(stream, settings, nodes, nn, links, nl, new_connection[c])
        num_nodes[c], num_links[c], added[c] = n, m, a


@numba.njit(cache=True)
def mutate_batch(
    parents: GenomeArrays,
    slots: GenomeArrays,
    seeds: np.ndarray,
    settings: MutationSettings,
    out: Mutations,
) -> None:
    """Copy each parent into its child's slot of ``slots`` (capacity: +1 node, +3 links; the
    slots' starts give it) and mutate it there, child ``c`` on the stream seeded ``seeds[c]``,
    in parallel.

    Writes each child's node and link counts, whether it added a node, and its new connection
    (added?, source, target) into ``out`` for the key assignment that follows.
    """
    p, s = parents, slots
    _mutate_children(
        p.node_start, p.link_start, p.node_key, p.node_activation, p.node_bias, p.node_response,
        p.link_in, p.link_out, p.link_weight, p.link_innovation, p.link_enabled,
        s.node_start, s.link_start, s.node_key, s.node_activation, s.node_bias, s.node_response,
        s.link_in, s.link_out, s.link_weight, s.link_innovation, s.link_enabled,
        seeds, settings, out.num_nodes, out.num_links, out.added_node, out.new_connection,
    )  # fmt: skip


@numba.njit(cache=True)
def assign_keys(
    added: np.ndarray, new_connection: np.ndarray, next_node: int, counter: int
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
        if new_connection[c, 0] == 1:
            a = node_of[c] if new_connection[c, 1] == NEW_NODE else new_connection[c, 1]
            b = node_of[c] if new_connection[c, 2] == NEW_NODE else new_connection[c, 2]
            if (a, b) in seen:
                innovation[c, 2] = seen[(a, b)]
            else:
                counter += 1
                seen[(a, b)] = counter
                innovation[c, 2] = counter
    return node_of, innovation, next_node, counter


@numba.njit(cache=True, inline="always")
def _resolve_node(key: int, node: int) -> int:
    """The child's new node key ``node`` where ``key`` is the placeholder, else ``key``."""
    return node if key == NEW_NODE else key


@numba.njit(cache=True, inline="always")
def _resolve_innovation(inn: int, innovation: np.ndarray) -> int:
    """The child's innovations (split-in, split-out, new connection) for the placeholders."""
    if inn == NEW_IN:
        return innovation[0]
    if inn == NEW_OUT:
        return innovation[1]
    if inn == NEW_CONN:
        return innovation[2]
    return inn


# Serial: a plain copy, cheaper than waking the thread pool once more (a parallel region
# waits for every thread, which costs most where other jobs share the cores). In place: each
# child moves left (its final start is never past its capacity slot's start) and children go in
# order, so nothing is read after it was overwritten; the caller keeps the working arrays as the
# population's, which spares a second set of freshly allocated arrays (and their page faults).
@numba.njit(cache=True)
def compact(
    slots: GenomeArrays,
    node_start: np.ndarray,
    link_start: np.ndarray,
    node_of: np.ndarray,
    innovation: np.ndarray,
) -> None:
    """Children from their capacity slots into the final CSR (``node_start``, ``link_start``),
    in place, placeholders replaced by the keys and innovations :func:`assign_keys` gave."""
    # Fields read once, before the loops (see cppn.genome_arrays).
    cap_node_start, cap_link_start = slots.node_start, slots.link_start
    keys, acts, biases, responses = (
        slots.node_key,
        slots.node_activation,
        slots.node_bias,
        slots.node_response,
    )
    ins, outs, ws = slots.link_in, slots.link_out, slots.link_weight
    inns, ens = slots.link_innovation, slots.link_enabled
    for c in range(node_of.size):
        src, dst = cap_node_start[c], node_start[c]
        for i in range(node_start[c + 1] - dst):
            keys[dst + i] = _resolve_node(keys[src + i], node_of[c])
            acts[dst + i], biases[dst + i] = acts[src + i], biases[src + i]
            responses[dst + i] = responses[src + i]
        src, dst = cap_link_start[c], link_start[c]
        for j in range(link_start[c + 1] - dst):
            ins[dst + j] = _resolve_node(ins[src + j], node_of[c])
            outs[dst + j] = _resolve_node(outs[src + j], node_of[c])
            inns[dst + j] = _resolve_innovation(inns[src + j], innovation[c])
            ws[dst + j], ens[dst + j] = ws[src + j], ens[src + j]


@numba.njit(cache=True)
def breed(
    parents: GenomeArrays,
    slots: GenomeArrays,
    seeds: np.ndarray,
    settings: MutationSettings,
    next_node: int,
    counter: int,
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """One generation's children, end to end in ``slots``' arrays: :func:`mutate_batch`, then
    :func:`assign_keys` and :func:`compact`. Returns the children's node and link starts, the
    next node key and the innovation counter.

    One call from Python for the three steps: each call with records costs a few microseconds
    of Numba's argument typing, and the glue between them (starts, counts) as much again.
    """
    n = seeds.size
    out = Mutations(
        np.empty(n, dtype=np.int64),
        np.empty(n, dtype=np.int64),
        np.empty(n, dtype=np.bool_),
        np.zeros((n, 3), dtype=np.int64),
    )
    mutate_batch(parents, slots, seeds, settings, out)
    node_of, innovation, next_node, counter = assign_keys(
        out.added_node, out.new_connection, next_node, counter
    )
    node_start = np.zeros(n + 1, dtype=np.int64)
    link_start = np.zeros(n + 1, dtype=np.int64)
    num_nodes, num_links = out.num_nodes, out.num_links
    for c in range(n):
        node_start[c + 1] = node_start[c] + num_nodes[c]
        link_start[c + 1] = link_start[c] + num_links[c]
    compact(slots, node_start, link_start, node_of, innovation)
    return node_start, link_start, next_node, counter
