"""Compiled-code compilation of populations: the very PackedPrograms neat genomes give."""

import dataclasses

import numpy as np
import pytest

from cppn.breeder import ArrayBreeder
from cppn.convert import from_neat, to_neat
from cppn.genomes import CppnGenome
from cppn.population import CppnPopulation
from cppn.profile import load_profile
from cppn.program import compile_population
from cppn.program_arrays import CompileError, compile_arrays


def assert_same_programs(a, b):
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        assert x.dtype == y.dtype and x.shape == y.shape, f.name
        assert np.array_equal(x, y), f.name


@pytest.mark.parametrize("channels", [1, 3])
def test_same_packed_programs_as_neat_over_many_generations(channels):
    profile = load_profile(num_outputs=channels)
    gc = profile.genome_config
    breeder = ArrayBreeder(profile)
    rng = np.random.default_rng(channels)
    pop = breeder.random(60, rng)
    for generation in range(80):
        pop = breeder.vary(pop, rng)
        if generation % 20 == 0 or generation == 79:
            expected = compile_population(to_neat(pop, gc), gc)
            assert_same_programs(compile_arrays(pop, channels), expected)
    assert pop.num_nodes.max() > 20  # grown enough for pruning and ordering to matter


def chain_genome(config, hidden, key=7):
    """-1 -> 1 -> 2 -> ... -> hidden -> 0, plus a dead branch and a skip link."""
    genome = CppnGenome(key)
    for node in range(hidden + 2):
        ng = config.node_gene_type(node)
        ng.activation, ng.aggregation, ng.bias, ng.response = "sine", "sum", 0.0, 1.0
        genome.nodes[node] = ng
    links = [(-1, 1)] + [(i, i + 1) for i in range(1, hidden)] + [(hidden, 0), (-2, 0)]
    links.append((5, hidden + 1))  # hidden + 1 feeds nothing: pruned
    for n, (a, b) in enumerate(links):
        cg = config.connection_gene_type((a, b), innovation=n + 1)
        cg.weight, cg.enabled = 0.5 + 0.001 * n, True
        genome.connections[(a, b)] = cg
    return genome


def test_a_genome_of_thousands_of_nodes_compiles_and_mutates():
    profile = load_profile(num_outputs=1)
    gc = profile.genome_config
    genome = chain_genome(gc, 2500)
    pop = from_neat([genome, None])[np.array([0])]
    programs = compile_arrays(pop, 1)
    assert programs.num_nodes[0] == 2501  # the chain and the output; the dead end is pruned
    assert_same_programs(programs, compile_population([genome], gc))
    breeder = ArrayBreeder(profile)
    breeder.load_state_dict({"next_genome_key": 8, "next_node_id": 2502, "innovation_counter": 9})
    rng = np.random.default_rng(0)
    children = breeder.vary(pop[np.zeros(50, dtype=np.int64)], rng)
    assert_same_programs(compile_arrays(children, 1), compile_population(to_neat(children, gc), gc))


def test_bad_genomes_are_refused():
    profile = load_profile(num_outputs=1)
    gc = profile.genome_config
    genome = chain_genome(gc, 4)
    cycle = gc.connection_gene_type((4, 2), innovation=99)
    cycle.weight, cycle.enabled = 1.0, True
    genome.connections[(4, 2)] = cycle
    with pytest.raises(CompileError, match="not feed-forward"):
        compile_arrays(from_neat([genome]), 1)
    with pytest.raises(CompileError, match="empty cell"):
        compile_arrays(CppnPopulation.empty(2), 1)
    no_output = from_neat([chain_genome(gc, 3)])
    no_output.node_key[no_output.node_key == 0] = 99
    with pytest.raises(CompileError):
        compile_arrays(no_output, 1)


def test_empty_batch():
    packed = compile_arrays(CppnPopulation.empty(0), 3)
    gc = load_profile(num_outputs=3).genome_config
    assert_same_programs(packed, compile_population([], gc))


def test_reused_packed_arrays_leave_living_programs_alone():
    """compile_arrays recycles the padded arrays of programs nobody holds; programs still held
    never change, and recycled arrays (other shapes, stale contents) give the same programs."""
    profile = load_profile(num_outputs=3)
    breeder = ArrayBreeder(profile)
    rng = np.random.default_rng(3)
    pop = breeder.random(40, rng)
    held = []
    for generation in range(10):
        pop = breeder.vary(pop, rng)
        packed = compile_arrays(pop, 3)
        expected = compile_population(to_neat(pop, profile.genome_config), profile.genome_config)
        for f in dataclasses.fields(packed):
            assert np.array_equal(getattr(packed, f.name), getattr(expected, f.name)), f.name
        if generation % 3 == 0:
            held.append((packed, expected))
    for packed, expected in held:
        for f in dataclasses.fields(packed):
            assert np.array_equal(getattr(packed, f.name), getattr(expected, f.name)), f.name
