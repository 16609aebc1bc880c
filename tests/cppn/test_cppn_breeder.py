"""The array breeder: determinism, keys, invariants, fallback, and sameness with the reference.

The neat-python breeder (cppn.genomes.CppnBreeder) is the reference. Both breed the same parents
for three generations (fixed seeds, 2,000 lineages each); their distributions of node and link
counts, activations and weight changes must not differ at alpha = 0.001 (chi-square tests of
homogeneity of counts, of their changes from the parent and of activation frequencies;
two-sample Kolmogorov-Smirnov for the weights and the weight shifts). The seeds are fixed, so the
outcome is deterministic; a last test shows the same test does detect a 0.5 -> 0.4 change of the
add-node probability, so it can fail.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numba
import numpy as np
import pytest
from scipy import stats

from cppn.breeder import ArrayBreeder
from cppn.convert import from_neat
from cppn.genomes import CppnBreeder
from cppn.population_io import from_rows, to_rows
from cppn.profile import load_profile
from cppn.program_arrays import compile_arrays

ALPHA = 1e-3
LINEAGES = 2000
GENERATIONS = 3


def grown_parents(profile, n=200, generations=10, seed=0):
    breeder = CppnBreeder(profile)
    rng = np.random.default_rng(seed)
    genomes = breeder.random(n, rng)
    for _ in range(generations):
        genomes = breeder.vary(genomes, rng)
    return genomes, breeder.state_dict()


def same(a, b):
    return all(
        np.array_equal(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a)
    )


def test_same_seed_same_children_whatever_the_thread_count():
    profile = load_profile(num_outputs=3)
    genomes, state = grown_parents(profile, n=100)
    parents = from_neat(genomes)
    results = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(threads)
        try:
            breeder = ArrayBreeder(profile)
            breeder.load_state_dict(state)
            rng = np.random.default_rng(4)
            pop = parents
            for _ in range(5):
                pop = breeder.vary(pop, rng)
            results.append((pop, breeder.state_dict()))
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert same(results[0][0], results[1][0]) and results[0][1] == results[1][1]


def test_children_are_valid_genomes_with_fresh_keys_and_tracked_innovations():
    profile = load_profile(num_outputs=1)
    genomes, state = grown_parents(profile, n=50, generations=5)
    breeder = ArrayBreeder(profile)
    breeder.load_state_dict(state)
    parents = from_neat(genomes)[np.zeros(400, dtype=np.int64)]  # one parent, many children
    children = breeder.vary(parents, np.random.default_rng(1))
    after = breeder.state_dict()
    assert children.key.tolist() == list(range(state["next_genome_key"], after["next_genome_key"]))
    # Valid: unique nodes and links, outputs present, acyclic, weights in range.
    from_rows(to_rows(children), 1)
    assert np.all(np.abs(children.link_weight) <= 10.0)
    new_nodes = children.node_key[children.node_key >= state["next_node_id"]]
    assert len(np.unique(new_nodes)) == len(new_nodes) > 100
    assert new_nodes.max() < after["next_node_id"]
    # Within the batch the same new connection gets the same innovation number (neat's tracker).
    new = children.link_innovation > state["innovation_counter"]
    pairs = {}
    for a, b, inn in zip(
        children.link_in[new], children.link_out[new], children.link_innovation[new], strict=True
    ):
        pairs.setdefault(inn, set()).add((a, b))
    assert all(len(p) == 1 for p in pairs.values())
    by_pair = {}
    for inn, p in pairs.items():
        by_pair.setdefault(p.pop(), set()).add(inn)
    assert all(len(i) == 1 for i in by_pair.values())
    assert max(children.link_innovation) <= after["innovation_counter"]


def write_profile(tmp_path: Path, **keys) -> Path:
    path = tmp_path / "profile.cfg"
    lines = ["[DefaultGenome]"] + [f"{k} = {v}" for k, v in keys.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_rates_come_from_the_profile(tmp_path):
    still = write_profile(tmp_path, node_add_prob=0.0, node_delete_prob=0.0, conn_add_prob=0.0,
                          conn_delete_prob=0.0, activation_mutate_rate=0.0)  # fmt: skip
    (tmp_path / "profile.cfg").write_text(
        still.read_text() + "[Cppn]\nweight_polynomial_rate = 0.0\n"
    )
    profile = load_profile(still, num_outputs=3)
    genomes, _ = grown_parents(profile, n=20, generations=0)
    parents = from_neat(genomes)
    children = ArrayBreeder(profile).vary(parents, np.random.default_rng(0))
    for f in dataclasses.fields(parents):
        if f.name != "key":
            assert np.array_equal(getattr(parents, f.name), getattr(children, f.name)), f.name
    grow_path = write_profile(
        tmp_path, node_add_prob=1.0, node_delete_prob=0.0, conn_add_prob=0.0, conn_delete_prob=0.0
    )
    grow = load_profile(grow_path, num_outputs=3)
    children = ArrayBreeder(grow).vary(parents, np.random.default_rng(0))
    assert (children.num_nodes == parents.num_nodes + 1).all()
    assert (children.num_links == parents.num_links + 1).all()


def test_attribute_mutations_it_lacks_fall_back_to_the_reference(tmp_path):
    path = write_profile(
        tmp_path, bias_mutate_rate=0.5, bias_mutate_power=1.0, bias_max_value=3.0,
        bias_min_value=-3.0,
    )  # fmt: skip
    profile = load_profile(path, num_outputs=1)
    breeder = ArrayBreeder(profile)
    assert "other than activation" in breeder.fallback_reason
    rng = np.random.default_rng(0)
    pop = breeder.random(30, rng)
    for _ in range(5):
        pop = breeder.vary(pop, rng)
    assert np.any(pop.node_bias != 0.0)  # neat's bias mutation ran
    assert breeder.state_dict()["next_genome_key"] == 180
    compile_arrays(pop, 1)


# ------------------------------------------------------------------ the same breeder, statistically
def breed(profile, genomes, state, array_path, seed):
    """LINEAGES children after GENERATIONS generations, and the first generation's children."""
    parents = [genomes[i % len(genomes)] for i in range(LINEAGES)]
    rng = np.random.default_rng(seed)
    if array_path:
        breeder = ArrayBreeder(profile)
        breeder.load_state_dict(state)
        pop = from_neat(parents)
        first = pop = breeder.vary(pop, rng)
        for _ in range(GENERATIONS - 1):
            pop = breeder.vary(pop, rng)
        return pop, first
    breeder = CppnBreeder(profile)
    breeder.load_state_dict(state)
    first = children = breeder.vary(parents, rng)
    for _ in range(GENERATIONS - 1):
        children = breeder.vary(children, rng)
    return from_neat(children), from_neat(first)


def chi_square(a: np.ndarray, b: np.ndarray) -> float:
    """p-value of homogeneity for two samples of small integers (sparse tails pooled)."""
    values = np.union1d(a, b)
    table = np.array([[np.sum(a == v) for v in values], [np.sum(b == v) for v in values]])
    # Pool columns from both ends until every expected count is >= 5.
    while table.shape[1] > 2:
        expected = table.sum(0) * table.sum(1)[:, None] / table.sum()
        if expected.min() >= 5:
            break
        j = int(np.argmin(table.sum(0)))
        k = (
            j + 1
            if j == 0 or (j < table.shape[1] - 1 and table[:, j + 1].sum() < table[:, j - 1].sum())
            else j - 1
        )
        table[:, k] += table[:, j]
        table = np.delete(table, j, axis=1)
    return float(stats.chi2_contingency(table)[1])


def weight_shifts(parents, children):
    """Weight change of every link a child kept from its parent (same ends)."""
    shifts = []
    for i in range(len(children)):
        p = slice(parents.link_start[i], parents.link_start[i + 1])
        c = slice(children.link_start[i], children.link_start[i + 1])
        old = dict(
            zip(
                zip(parents.link_in[p].tolist(), parents.link_out[p].tolist(), strict=True),
                parents.link_weight[p].tolist(),
                strict=True,
            )
        )
        for a, b, w in zip(
            children.link_in[c].tolist(),
            children.link_out[c].tolist(),
            children.link_weight[c].tolist(),
            strict=True,
        ):
            if (a, b) in old:
                shifts.append(w - old[(a, b)])
    return np.array(shifts)


def activation_changes(parents, children):
    """Whether each node a child kept from its parent (same key) changed its activation."""
    changed = []
    for i in range(len(children)):
        p = slice(parents.node_start[i], parents.node_start[i + 1])
        c = slice(children.node_start[i], children.node_start[i + 1])
        old = dict(
            zip(parents.node_key[p].tolist(), parents.node_activation[p].tolist(), strict=True)
        )
        for key, act in zip(
            children.node_key[c].tolist(), children.node_activation[c].tolist(), strict=True
        ):
            if key in old:
                changed.append(act != old[key])
    return np.array(changed)


def p_values(profile_reference, profile_array):
    genomes, state = grown_parents(profile_reference)
    reference, reference_first = breed(profile_reference, genomes, state, False, 11)
    array, array_first = breed(profile_array, genomes, state, True, 12)
    parents = from_neat([genomes[i % len(genomes)] for i in range(LINEAGES)])
    ref_shift, arr_shift = (
        weight_shifts(parents, reference_first),
        weight_shifts(parents, array_first),
    )
    return {
        "nodes": chi_square(reference.num_nodes, array.num_nodes),
        "links": chi_square(reference.num_links, array.num_links),
        # Changes from the parent: far less spread than the counts themselves, so more power.
        "node changes": chi_square(
            reference.num_nodes - parents.num_nodes, array.num_nodes - parents.num_nodes
        ),
        "link changes": chi_square(
            reference.num_links - parents.num_links, array.num_links - parents.num_links
        ),
        "first-generation node changes": chi_square(
            reference_first.num_nodes - parents.num_nodes, array_first.num_nodes - parents.num_nodes
        ),
        "first-generation link changes": chi_square(
            reference_first.num_links - parents.num_links, array_first.num_links - parents.num_links
        ),
        "activations": chi_square(reference.node_activation, array.node_activation),
        "activations changed": chi_square(
            activation_changes(parents, reference_first), activation_changes(parents, array_first)
        ),
        "weights changed": chi_square(ref_shift != 0, arr_shift != 0),
        "weight shifts": float(
            stats.ks_2samp(ref_shift[ref_shift != 0], arr_shift[arr_shift != 0]).pvalue
        ),
        "weights": float(stats.ks_2samp(reference.link_weight, array.link_weight).pvalue),
    }


@pytest.fixture(scope="module")
def profile3():
    return load_profile(num_outputs=3)


def test_array_and_reference_breeders_are_statistically_the_same(profile3):
    p = p_values(profile3, profile3)
    assert min(p.values()) > ALPHA, p


def test_the_comparison_detects_a_changed_add_node_probability(profile3, tmp_path):
    changed = load_profile(write_profile(tmp_path, node_add_prob=0.4), num_outputs=3)
    p = p_values(profile3, changed)
    assert p["node changes"] < ALPHA and p["first-generation node changes"] < ALPHA, p


def test_reused_working_arrays_leave_living_children_alone():
    """vary recycles the arrays of children nobody holds; children still held never change,
    and a recycled run breeds exactly what a breeder with fresh arrays breeds."""
    profile = load_profile(num_outputs=3)
    pooled, fresh = ArrayBreeder(profile), ArrayBreeder(profile)
    rng_pooled, rng_fresh = np.random.default_rng(5), np.random.default_rng(5)
    pop_pooled = pooled.random(50, rng_pooled)
    pop_fresh = fresh.random(50, rng_fresh)
    held = []
    for generation in range(12):
        pop_pooled = pooled.vary(pop_pooled, rng_pooled)
        fresh._pool = []  # forget every earlier array: each call allocates anew
        pop_fresh = fresh.vary(pop_fresh, rng_fresh)
        if generation % 4 == 0:  # some generations kept alive, the others dropped
            held.append((pop_pooled, pop_pooled.copy()))
        for f in dataclasses.fields(pop_pooled):
            assert np.array_equal(getattr(pop_pooled, f.name), getattr(pop_fresh, f.name))
    for kept, snapshot in held:
        for f in dataclasses.fields(kept):
            assert np.array_equal(getattr(kept, f.name), getattr(snapshot, f.name))
