"""Arrays <-> neat-python genomes: lossless both ways, same images."""

import dataclasses

import numpy as np

from cppn.breeder import ArrayBreeder
from cppn.convert import from_neat, to_neat
from cppn.genomes import CppnBreeder
from cppn.profile import load_profile
from cppn.render import render_genomes
from cppn.serialize import genome_to_dict


def test_round_trip_from_arrays_is_exact():
    profile = load_profile(num_outputs=3)
    breeder = ArrayBreeder(profile)
    rng = np.random.default_rng(1)
    pop = breeder.random(30, rng)
    for _ in range(25):
        pop = breeder.vary(pop, rng)
    pop[np.array([4])] = type(pop).empty(1)
    back = from_neat(to_neat(pop, profile.genome_config))
    for f in dataclasses.fields(pop):
        a, b = getattr(pop, f.name), getattr(back, f.name)
        assert a.dtype == b.dtype and np.array_equal(a, b), f.name


def test_round_trip_from_neat_is_exact_gene_order_included():
    profile = load_profile(num_outputs=1)
    breeder = CppnBreeder(profile)
    rng = np.random.default_rng(2)
    genomes = breeder.random(20, rng)
    for _ in range(20):
        genomes = breeder.vary(genomes, rng)
    back = to_neat(from_neat(genomes), profile.genome_config)
    for a, b in zip(genomes, back, strict=True):
        assert genome_to_dict(a) == genome_to_dict(b)
        assert list(a.nodes) == list(b.nodes) and list(a.connections) == list(b.connections)


def test_converted_genomes_render_the_same_images():
    profile = load_profile(num_outputs=3)
    breeder = ArrayBreeder(profile)
    rng = np.random.default_rng(3)
    pop = breeder.random(16, rng)
    for _ in range(15):
        pop = breeder.vary(pop, rng)
    gc = profile.genome_config
    for renderer in ("numba", "numpy"):
        from_arrays = render_genomes(pop, gc, 12, 10, "hls", renderer=renderer)
        from_neat_genomes = render_genomes(to_neat(pop, gc), gc, 12, 10, "hls", renderer=renderer)
        np.testing.assert_array_equal(from_arrays, from_neat_genomes)
