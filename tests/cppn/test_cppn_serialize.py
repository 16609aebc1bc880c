"""JSON persistence of genomes and the gallery's network export."""

import json

import numpy as np

from cppn.genomes import CppnBreeder
from cppn.network_export import draw_network, network_graph, write_network_json
from cppn.profile import load_profile
from cppn.render import render_genomes
from cppn.serialize import genome_to_json, genomes_from_array, genomes_to_array


def population(n=12, generations=15):
    profile = load_profile(num_outputs=3)
    breeder = CppnBreeder(profile)
    rng = np.random.default_rng(4)
    pop = breeder.random(n, rng)
    for _ in range(generations):
        pop = breeder.vary(pop, rng)
    return profile, pop


def test_array_round_trip_is_exact_and_keeps_empty_cells():
    profile, pop = population()
    cells = np.empty(len(pop) + 2, dtype=object)
    cells[1:-1] = pop
    arrays = genomes_to_array(cells)
    assert arrays.dtype.kind == "U" and arrays[0] == "" and arrays[-1] == ""
    back = genomes_from_array(arrays, profile.genome_config)
    assert back[0] is None and back[-1] is None
    assert [genome_to_json(g) for g in back[1:-1]] == [genome_to_json(g) for g in pop]
    np.testing.assert_array_equal(
        render_genomes(list(back[1:-1]), profile.genome_config, 16, 16, "hls"),
        render_genomes(pop, profile.genome_config, 16, 16, "hls"),
    )
    np.savez(__import__("io").BytesIO(), genomes=arrays)  # storable without pickle


def test_network_graph_json_and_picture(tmp_path):
    profile, pop = population()
    genome = max(pop, key=lambda g: len(g.nodes))
    graph = network_graph(genome, profile.genome_config)
    names = {n["id"] for n in graph["nodes"]}
    assert {"x", "y", "d", "bias", "out0", "out1", "out2"} <= names
    assert all(c["from"] in names and c["to"] in names for c in graph["connections"])
    hidden = [n for n in graph["nodes"] if n["kind"] == "hidden"]
    assert hidden and all(
        n["activation"] in ("sine", "bipolar_sigmoid", "gaussian", "linear") for n in hidden
    )
    depth = {n["id"]: n["depth"] for n in graph["nodes"]}
    assert all(depth[c["from"]] < depth[c["to"]] for c in graph["connections"])
    path = write_network_json(genome, profile.genome_config, tmp_path / "net.json")
    assert json.loads(path.read_text()) == graph
    picture = draw_network(genome, profile.genome_config, tmp_path / "net.png")
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
