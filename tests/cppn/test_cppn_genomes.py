"""Genome creation and mutation: structure, determinism, counters, resume."""

import json
import random

import numpy as np
import pytest

from cppn.genomes import CppnBreeder, polynomial_mutation
from cppn.profile import load_profile
from cppn.serialize import genome_to_json


def texts(genomes):
    return [genome_to_json(g) for g in genomes]


def test_initial_genomes_fully_connect_inputs_to_outputs():
    breeder = CppnBreeder(load_profile(num_outputs=3))
    genomes = breeder.random(50, np.random.default_rng(0))
    activations_seen = set()
    for g in genomes:
        assert sorted(g.nodes) == [0, 1, 2]
        assert sorted(g.connections) == sorted((i, o) for i in (-1, -2, -3, -4) for o in (0, 1, 2))
        weights = np.array([cg.weight for cg in g.connections.values()])
        assert np.all(np.abs(weights) <= 10.0)
        assert all(
            n.bias == 0.0 and n.response == 1.0 and n.aggregation == "sum" for n in g.nodes.values()
        )
        activations_seen |= {n.activation for n in g.nodes.values()}
    all_weights = np.array([cg.weight for g in genomes for cg in g.connections.values()])
    assert all_weights.min() < -9 and all_weights.max() > 9  # uniform over [-10, 10]
    assert activations_seen == {"sine", "bipolar_sigmoid", "gaussian", "linear"}
    assert len({g.key for g in genomes}) == 50


def test_same_generator_state_gives_identical_genomes_and_leaves_random_alone():
    random.seed(123)
    expected_python_draw = random.random()
    random.seed(123)
    runs = []
    for _ in range(2):
        breeder = CppnBreeder(load_profile())
        rng = np.random.default_rng(7)
        pop = breeder.random(20, rng)
        for _ in range(10):
            pop = breeder.vary(pop, rng)
        runs.append(texts(pop))
        # Noise in the global random module must not change the results.
        random.random()
    assert runs[0] == runs[1]
    other = CppnBreeder(load_profile())
    rng = np.random.default_rng(8)
    assert texts(other.vary(other.random(20, rng), rng)) != runs[0][:20]
    random.seed(123)
    assert random.random() == expected_python_draw


def test_children_share_unchanged_genes_yet_no_ancestor_ever_changes():
    breeder = CppnBreeder(load_profile(num_outputs=3))
    rng = np.random.default_rng(2)
    population = breeder.random(20, rng)
    history = list(population)
    frozen = texts(history)
    for _ in range(15):  # each parent drawn several times per batch, ancestors kept alive
        parents = [population[i] for i in rng.integers(len(population), size=40)]
        population = breeder.vary(parents, rng)
        history += population
        frozen += texts(population)
        assert texts(history) == frozen
    child, parent = population[0], parents[0]
    shared = [k for k in child.connections if child.connections[k] is parent.connections.get(k)]
    for key, gene in child.connections.items():
        if key in parent.connections and gene.weight != parent.connections[key].weight:
            assert gene is not parent.connections[key]  # written genes were copied first
    assert shared  # most genes are shared, not copied
    assert child.connections is not parent.connections and child.nodes is not parent.nodes


def test_vary_makes_one_mutated_copy_per_parent():
    breeder = CppnBreeder(load_profile())
    rng = np.random.default_rng(1)
    parents = breeder.random(30, rng)
    before = texts(parents)
    children = breeder.vary(parents, rng)
    assert texts(parents) == before  # parents untouched
    assert len(children) == 30
    assert {c.key for c in children}.isdisjoint({p.key for p in parents})
    assert sum(a != b for a, b in zip(texts(children), before, strict=True)) >= 25


def test_split_gives_both_links_the_old_weight_and_removes_the_split_connection(tmp_path):
    path = tmp_path / "split.cfg"
    path.write_text(
        "[DefaultGenome]\nnode_add_prob = 1\nnode_delete_prob = 0\n"
        "conn_add_prob = 0\nconn_delete_prob = 0\n[Cppn]\n"
        "weight_polynomial_rate = 0\n"
    )
    breeder = CppnBreeder(load_profile(path))
    rng = np.random.default_rng(2)
    parent = breeder.random(1, rng)[0]
    child = breeder.vary([parent], rng)[0]
    (new_node,) = set(child.nodes) - set(parent.nodes)
    (removed,) = set(parent.connections) - set(child.connections)
    i, o = removed
    w = parent.connections[removed].weight
    assert child.connections[(i, new_node)].weight == w
    assert child.connections[(new_node, o)].weight == w
    assert all(cg.enabled for cg in child.connections.values())


def test_innovation_memory_is_reset_every_batch_and_counters_only_grow():
    breeder = CppnBreeder(load_profile())
    rng = np.random.default_rng(3)
    pop = breeder.random(40, rng)
    sizes, counters = [], []
    for _ in range(30):
        pop = breeder.vary(pop, rng)
        sizes.append(len(breeder.tracker.generation_innovations))
        counters.append(breeder.state_dict()["innovation_counter"])
    assert max(sizes) <= 40 * 4  # at most a few structural mutations per child this batch
    assert counters == sorted(counters) and counters[-1] > counters[0]
    innovations = [cg.innovation for g in pop for cg in g.connections.values()]
    assert max(innovations) <= counters[-1]


def test_resume_reproduces_an_uninterrupted_run():
    def run(stop_at=None):
        breeder = CppnBreeder(load_profile())
        rng = np.random.default_rng(11)
        pop = breeder.random(25, rng)
        for gen in range(12):
            if gen == stop_at:
                state = json.loads(json.dumps(breeder.state_dict()))
                rng_state = rng.bit_generator.state
                saved = texts(pop)
                breeder = CppnBreeder(load_profile())  # fresh process
                breeder.load_state_dict(state)
                rng = np.random.default_rng()
                rng.bit_generator.state = rng_state
                from cppn.serialize import genome_from_json

                pop = [genome_from_json(t, breeder.profile.genome_config) for t in saved]
            pop = breeder.vary(pop, rng)
        return texts(pop), breeder.state_dict()

    assert run() == run(stop_at=6)


def test_new_node_ids_never_collide_after_resume():
    breeder = CppnBreeder(load_profile())
    rng = np.random.default_rng(5)
    pop = breeder.vary(breeder.random(20, rng), rng)
    used = {n for g in pop for n in g.nodes}
    resumed = CppnBreeder(load_profile())
    resumed.load_state_dict(breeder.state_dict())
    child_nodes = {n for g in resumed.vary(pop, rng) for n in g.nodes}
    assert min(child_nodes - used, default=10**9) >= max(used) + 1


def test_polynomial_mutation_rate_bounds_and_spread():
    rng = np.random.default_rng(0)
    values = rng.uniform(-10, 10, 200_000)
    mutated = polynomial_mutation(values, rng, 0.1, 15.0, -10.0, 10.0)
    changed = mutated != values
    assert changed.mean() == pytest.approx(0.1, abs=0.005)
    assert np.all(np.abs(mutated) <= 10.0)
    step = np.abs(mutated - values)[changed]
    # eta = 15 on a range of 20: small steps (median about 20 * (1 - 0.5 ** (1/16)) / ...).
    assert 0.1 < np.median(step) < 1.5 and step.max() <= 20.0


def test_copy_genome_copies_every_gene_into_new_objects():
    from cppn.genomes import copy_genome

    breeder = CppnBreeder(load_profile())
    rng = np.random.default_rng(4)
    pop = breeder.random(5, rng)
    for _ in range(5):
        pop = breeder.vary(pop, rng)
    parent = pop[0]
    parent.fitness = 0.5
    child = copy_genome(parent, 99)
    assert child.key == 99 and child.fitness is None and type(child) is type(parent)
    assert json.loads(genome_to_json(child))["nodes"] == json.loads(genome_to_json(parent))["nodes"]
    assert list(child.connections) == list(parent.connections)
    for key, gene in child.connections.items():
        assert gene is not parent.connections[key]
        assert vars(gene) == vars(parent.connections[key])
    for key, gene in child.nodes.items():
        assert gene is not parent.nodes[key] and vars(gene) == vars(parent.nodes[key])
    before = genome_to_json(parent)
    next(iter(child.connections.values())).weight = 123.0
    next(iter(child.nodes.values())).activation = "gaussian"
    child.nodes.clear()
    assert genome_to_json(parent) == before


def test_default_profile_changes_only_activations_and_weights():
    breeder = CppnBreeder(load_profile())
    assert breeder._fast_attributes
    rng = np.random.default_rng(6)
    parents = breeder.random(200, rng)
    children = breeder.vary(parents, rng)
    redrawn = changed_weights = kept = 0
    for p, c in zip(parents, children, strict=True):
        for key, ng in c.nodes.items():
            assert ng.bias == 0.0 and ng.response == 1.0 and ng.aggregation == "sum"
            if key in p.nodes and ng.activation != p.nodes[key].activation:
                redrawn += 1
        for key, cg in c.connections.items():
            if key in p.connections:
                if cg.weight != p.connections[key].weight:
                    changed_weights += 1
                else:
                    kept += 1
    # About 0.1 of the 200 output activations redrawn, 3/4 of those to another function.
    assert 5 <= redrawn <= 30
    assert 0.05 < changed_weights / (changed_weights + kept) < 0.16


def test_configs_with_other_attribute_mutations_use_neats_per_gene_mutation(tmp_path):
    path = tmp_path / "gauss.cfg"
    path.write_text(
        "[DefaultGenome]\nweight_mutate_rate = 1\nweight_mutate_power = 0.5\n"
        "node_add_prob = 0\nnode_delete_prob = 0\nconn_add_prob = 0\nconn_delete_prob = 0\n"
        "[Cppn]\nweight_polynomial_rate = 0\n"
    )
    breeder = CppnBreeder(load_profile(path))
    assert not breeder._fast_attributes and not breeder._share_genes  # in-place gene mutation
    rng = np.random.default_rng(0)
    parent = breeder.random(1, rng)[0]
    child = breeder.vary([parent], rng)[0]
    steps = [child.connections[k].weight - cg.weight for k, cg in parent.connections.items()]
    assert all(s != 0.0 for s in steps) and max(abs(s) for s in steps) < 3.0


def test_genes_are_shared_only_while_every_connection_stays_enabled(tmp_path):
    assert CppnBreeder(load_profile())._share_genes
    path = tmp_path / "disabled.cfg"
    path.write_text("[DefaultGenome]\nenabled_default = False\n")
    assert not CppnBreeder(load_profile(path))._share_genes
