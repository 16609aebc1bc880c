"""CppnPopulation: the genome batch contract (len, gather, scatter, empty cells)."""

import dataclasses

import numpy as np
import pytest

from cppn.breeder import ArrayBreeder
from cppn.convert import to_neat
from cppn.population import CppnPopulation, concatenate
from cppn.profile import load_profile
from cppn.serialize import genome_to_json


def grown(n=12, generations=6, seed=0):
    profile = load_profile(num_outputs=3)
    breeder = ArrayBreeder(profile)
    rng = np.random.default_rng(seed)
    pop = breeder.random(n, rng)
    for _ in range(generations):
        pop = breeder.vary(pop, rng)
    return profile, pop


def texts(pop, profile):
    return [None if g is None else genome_to_json(g) for g in to_neat(pop, profile.genome_config)]


def test_gather_picks_whole_genomes_in_order():
    profile, pop = grown()
    assert len(pop) == 12
    index = np.array([3, 0, 3, 11])
    gathered = pop[index]
    all_texts = texts(pop, profile)
    assert texts(gathered, profile) == [all_texts[i] for i in index]
    assert texts(pop[2:5], profile) == all_texts[2:5]
    assert texts(pop[pop.key % 2 == 0], profile) == [
        t for t, k in zip(all_texts, pop.key, strict=True) if k % 2 == 0
    ]


def test_scatter_replaces_cells_in_place_and_keeps_the_rest():
    profile, pop = grown()
    archive = CppnPopulation.empty(6)
    assert not archive.occupied.any() and archive.num_nodes.sum() == 0
    archive[np.array([4, 1])] = pop[np.array([0, 5])]
    archive[np.array([1, 2])] = pop[np.array([7, 8])]
    all_texts = texts(pop, profile)
    expected = [None, all_texts[7], all_texts[8], None, all_texts[0], None]
    assert texts(archive, profile) == expected
    assert archive.occupied.tolist() == [False, True, True, False, True, False]


def test_assign_equals_scatter_of_a_gather():
    profile, pop = grown()
    by_scatter, by_assign = CppnPopulation.empty(6), CppnPopulation.empty(6)
    cells, rows = np.array([4, 1, 4]), np.array([0, 5, 9])  # cell 4 twice: the last write wins
    by_scatter[cells] = pop[rows]
    by_assign.assign(cells, pop, rows)
    assert texts(by_assign, profile) == texts(by_scatter, profile)
    assert texts(by_assign, profile)[4] == texts(pop, profile)[9]
    with pytest.raises(ValueError, match="cannot assign 2 genomes to 3 cells"):
        by_assign.assign(cells, pop, rows[:2])


def test_gather_and_scatter_do_not_alias_their_sources():
    profile, pop = grown()
    before = pop.copy()
    part = pop[np.array([1, 2])]
    part.link_weight[:] = 0.0
    archive = CppnPopulation.empty(2)
    archive[np.array([0, 1])] = pop[np.array([1, 2])]
    archive.node_bias[:] = 5.0
    for f in dataclasses.fields(pop):
        np.testing.assert_array_equal(getattr(pop, f.name), getattr(before, f.name))


def test_concatenate():
    profile, pop = grown()
    both = concatenate([pop[:3], CppnPopulation.empty(1), pop[3:5]])
    assert texts(both, profile) == texts(pop[:3], profile) + [None] + texts(pop[3:5], profile)


def test_a_row_out_of_range_raises_and_changes_nothing():
    profile, pop = grown()
    before = texts(pop, profile)
    with pytest.raises(IndexError):
        pop.assign(np.array([0]), pop.copy(), np.array([len(pop)]))
    with pytest.raises(IndexError):
        pop.assign(np.array([0]), pop.copy(), np.array([-1]))
    assert texts(pop, profile) == before
