"""CppnEncoding against the Encoding protocol."""

import inspect
import json

import numpy as np
import pytest

from cppn.population import CppnPopulation
from evolve.encodings.base import Encoding
from evolve.encodings.cppn import CppnEncoding


def test_implements_the_protocol_and_rebuilds_from_config():
    enc = CppnEncoding(channels=3, height=20, width=24, renderer="numba")
    assert isinstance(enc, Encoding)
    assert enc.name == "cppn" and enc.image_shape == (3, 20, 24)
    cfg = json.loads(json.dumps(enc.config()))
    params = set(inspect.signature(CppnEncoding).parameters)
    assert params == set(cfg) - {"name"}
    rebuilt = CppnEncoding(**{k: v for k, v in cfg.items() if k != "name"})
    assert rebuilt.config() == enc.config() and rebuilt.color == "hls"


def test_random_vary_express_and_arrays():
    enc = CppnEncoding(channels=1, height=28, width=28, renderer="numba")
    rng = np.random.default_rng(0)
    empty = enc.empty(5)
    assert len(empty) == 5 and not empty.occupied.any()
    parents = enc.random(10, rng)
    assert isinstance(parents, CppnPopulation) and len(parents) == 10
    children = enc.vary(parents[[0, 0, 3]], rng, generation=1)
    assert len(children) == 3 and len(set(children.key.tolist())) == 3
    images = enc.express(children)
    assert images.dtype == np.float32 and images.shape == (3, 1, 28, 28)
    assert np.all((images >= 0) & (images <= 1))
    np.testing.assert_array_equal(np.round(images * 255), images * 255)  # 8-bit levels
    assert enc.express(children, size=(64, 48)).shape == (3, 1, 64, 48)
    archive = enc.empty(4)
    archive[[1, 3]] = children[:2]
    arrays = enc.to_arrays(archive)
    assert all(a.dtype.kind in "iufb" and len(a) == 4 for a in arrays.values())
    back = enc.from_arrays(arrays)
    assert back.occupied.tolist() == [False, True, False, True]
    np.testing.assert_array_equal(enc.express(back[[1, 3]]), images[:2])


def test_resume_from_state_and_arrays_reproduces_the_run():
    def run(resume_at=None):
        enc = CppnEncoding(channels=3, height=8, width=8, renderer="numpy")
        rng = np.random.default_rng(9)
        pop = enc.random(16, rng)
        for gen in range(8):
            if gen == resume_at:
                saved = (json.dumps(enc.state_dict()), enc.to_arrays(pop), rng.bit_generator.state)
                enc = CppnEncoding(**{k: v for k, v in enc.config().items() if k != "name"})
                enc.load_state_dict(json.loads(saved[0]))
                pop = enc.from_arrays(saved[1])
                rng = np.random.default_rng()
                rng.bit_generator.state = saved[2]
            pop = enc.vary(pop[rng.integers(0, len(pop), len(pop))], rng, gen)
        return enc.to_arrays(pop), enc.express(pop), enc.state_dict()

    (arrays_a, images_a, state_a), (arrays_b, images_b, state_b) = run(), run(resume_at=4)
    assert arrays_a.keys() == arrays_b.keys() and state_a == state_b
    for key in arrays_a:
        np.testing.assert_array_equal(arrays_a[key], arrays_b[key])
    np.testing.assert_array_equal(images_a, images_b)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"channels": 2},
        {"channels": 1, "color": "hls"},
        {"channels": 3, "color": "gray"},
        {"coordinates": "pixels"},
        {"renderer": "opencl"},
        {"height": 0},
    ],
)
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        CppnEncoding(**kwargs)


def test_checkpoints_of_the_json_format_load_and_bad_arrays_are_archive_errors():
    from archives import ArchiveError
    from cppn import serialize

    enc = CppnEncoding(channels=3, height=8, width=8, renderer="numpy")
    rng = np.random.default_rng(0)
    pop = enc.random(6, rng)
    for gen in range(4):
        pop = enc.vary(pop, rng, gen)
    cells = enc.empty(8)
    cells[np.arange(1, 7)] = pop
    old = {"genomes": serialize.genomes_to_array(np.array(enc.neat_genomes(cells), dtype=object))}
    converted = enc.from_arrays(old)
    assert converted.occupied.tolist() == cells.occupied.tolist()
    np.testing.assert_array_equal(enc.express(converted[1:7]), enc.express(pop))
    with pytest.raises(ArchiveError, match="not a cppn-genome/1 record"):
        enc.from_arrays({"genomes": np.array(['{"format": "cppn-genome/9"}'])})
    arrays = enc.to_arrays(cells)
    arrays["link_weight"] = np.where(arrays["link_weight"] > 5, np.nan, arrays["link_weight"])
    with pytest.raises(ArchiveError, match="NaN") as info:
        enc.from_arrays(arrays)
    assert "\n" not in str(info.value)


def test_a_run_keeps_its_merged_profile_not_the_file(tmp_path) -> None:
    from evolve.encodings import build_encoding

    user = tmp_path / "mine.cfg"
    user.write_text("[DefaultGenome]\nnode_add_prob = 0.1\n[Cppn]\nweight_polynomial_eta = 7\n")
    encoding = CppnEncoding(config_path=str(user))
    stored = encoding.config()
    user.write_text("[DefaultGenome]\nnode_add_prob = 0.9\n")  # edited after the run started
    again = build_encoding(stored)
    assert again.genome_config.node_add_prob == 0.1 and again.profile.weight_polynomial_eta == 7
    user.unlink()  # and deleted
    assert build_encoding(stored).config() == stored
    assert build_encoding(stored).genome_config.conn_add_prob == 0.5  # defaults merged in
