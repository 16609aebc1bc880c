"""Populations as row-aligned numeric arrays: round trip and refusal of bad arrays."""

import dataclasses

import numpy as np
import pytest

from cppn.breeder import ArrayBreeder
from cppn.population import CppnPopulation, PopulationError
from cppn.population_io import from_rows, to_rows
from cppn.profile import load_profile


@pytest.fixture(scope="module")
def population():
    breeder = ArrayBreeder(load_profile(num_outputs=3))
    rng = np.random.default_rng(0)
    pop = breeder.random(10, rng)
    for _ in range(12):
        pop = breeder.vary(pop, rng)
    archive = CppnPopulation.empty(12)
    archive[np.arange(1, 11)] = pop
    return archive


def test_round_trip(population):
    rows = to_rows(population)
    assert all(a.dtype.kind in "iufb" and len(a) == 12 for a in rows.values())
    back = from_rows(rows, 3)
    for f in dataclasses.fields(population):
        a, b = getattr(population, f.name), getattr(back, f.name)
        assert a.dtype == b.dtype and np.array_equal(a, b), f.name
    sliced = from_rows({k: v[2:5] for k, v in rows.items()}, 3)
    assert sliced.key.tolist() == population.key[2:5].tolist()


def corrupt(rows, name, edit):
    rows = {k: v.copy() for k, v in rows.items()}
    rows[name] = edit(rows[name])
    return rows


def first_link(a, value):
    a[1, 0] = value
    return a


@pytest.mark.parametrize(
    ("name", "edit", "message"),
    [
        ("num_nodes", lambda a: a + 1000, "num_nodes"),
        ("num_links", lambda a: a - 1000, "num_links"),
        ("link_weight", lambda a: first_link(a, np.nan), "NaN"),
        ("node_bias", lambda a: first_link(a, np.inf), "NaN or infinite"),
        ("node_key", lambda a: first_link(a, -5), "negative node key"),
        ("key", lambda a: a - 10, "negative genome key"),
        ("link_in", lambda a: first_link(a, -9), "neither an input"),
        ("link_out", lambda a: first_link(a, 12345), "no node"),
        ("node_bias", lambda a: a[:, :1], "shape"),
        ("node_key", lambda a: a[:, :1], "num_nodes inconsistent"),
        ("link_weight", lambda a: a.astype(np.int64), "dtype"),
        ("node_activation", lambda a: a + 7, "activation"),
        ("node_key", lambda a: first_link(a, a[1, 1]), "repeated node key"),
        ("link_innovation", lambda a: first_link(a, -1), "innovation"),
    ],
)
def test_bad_arrays_are_refused_in_one_line(population, name, edit, message):
    with pytest.raises(PopulationError, match=message) as info:
        from_rows(corrupt(to_rows(population), name, edit), 3)
    assert "\n" not in str(info.value)


def test_missing_column_and_empty_cell_with_genes(population):
    rows = to_rows(population)
    with pytest.raises(PopulationError, match="lack"):
        from_rows({k: v for k, v in rows.items() if k != "link_enabled"}, 3)
    rows = corrupt(rows, "num_nodes", lambda a: np.where(np.arange(len(a)) == 0, 1, a))
    with pytest.raises(PopulationError, match="empty cell"):
        from_rows(rows, 3)
