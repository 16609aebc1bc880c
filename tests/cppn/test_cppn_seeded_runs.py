"""Seeded runs of the compiled kernels give the very genomes and programs they gave before.

Three profiles that reach every branch of the mutation kernels (the default; one structural
mutation at a time with structural_mutation_surer, a fixed activation and Gaussian weights; a
growth profile that also deletes) breed 60 genomes for 12 to 25 generations from one seed, and
each generation is compiled. The SHA-256 of every integer array along the way (genome structure,
keys, innovations, activations, the compiled programs' layout, the breeder's counters) must be
the one recorded on main at 140d614, before the kernels took records (issue 24): integer data
only, as it depends on no floating-point library and so is the same on every platform. The
float arrays (weights, responses) and the rendered images were compared bit for bit when that
change was made (one hash of every array and image, main and the branch on the same machine).
The record's fields are held to the population's columns below, so that a column added to one is
added to the other.

If a deliberate change of the kernels' draws changes the hash, record the new one here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from cppn.breeder import ArrayBreeder
from cppn.genome_arrays import GenomeArrays
from cppn.population import LINK_FIELDS, NODE_FIELDS, CppnPopulation
from cppn.profile import load_profile
from cppn.program import PackedPrograms, ProgramArrays
from cppn.program_arrays import compile_arrays

#: name: (profile lines, outputs, generations)
PROFILES = {
    "default": ("", 3, 12),
    "single_surer": (
        "single_structural_mutation = True\nstructural_mutation_surer = True\n"
        "activation_default = sine\nweight_init_type = gaussian\n"
        "response_init_type = uniform\nresponse_init_stdev = 0.5\n"
        "response_min_value = 0.0\nresponse_max_value = 2.0\n",
        1,
        15,
    ),
    "growth": (
        "node_add_prob = 1\nconn_add_prob = 1\nnode_delete_prob = 0.2\nconn_delete_prob = 0.2\n",
        3,
        25,
    ),
}
POPULATION_ARRAYS = ("key", "node_start", "link_start", *NODE_FIELDS, *LINK_FIELDS)
PROGRAM_ARRAYS = ("num_nodes", "activation", "bias", "response", "link_start", "link_source",
                  "link_weight", "output_slot")  # fmt: skip
#: Recorded on main at 140d614 (the kernels with positional arguments).
EXPECTED = "e2535c69442a8ad079bbe594fe8d5964787d655609f031d1e3b00f81f7458231"


def integer_arrays(container: object, names: tuple[str, ...]) -> list[np.ndarray]:
    """The integer and boolean arrays among ``names``, as int64."""
    arrays = [np.ascontiguousarray(getattr(container, name)) for name in names]
    return [a.astype(np.int64) for a in arrays if a.dtype.kind in "iub"]


def seeded_run(tmp_path: Path, kind: str) -> tuple[list[CppnPopulation], list, dict]:
    """The generations of one profile's seeded run, their programs and the breeder's counters."""
    text, outputs, generations = PROFILES[kind]
    path = tmp_path / f"{kind}.cfg"
    path.write_text("[DefaultGenome]\n" + text)
    breeder = ArrayBreeder(load_profile(path, num_outputs=outputs))
    assert breeder.fallback_reason is None, breeder.fallback_reason  # the kernels run
    rng = np.random.default_rng(7)
    population = breeder.random(60, rng)
    populations, programs = [], []
    for _ in range(generations):
        population = breeder.vary(population, rng)
        populations.append(population)
        programs.append(compile_arrays(population, outputs))
    return populations, programs, breeder.state_dict()


def test_seeded_runs_give_the_genomes_and_programs_recorded_before(tmp_path):
    digest = hashlib.sha256()
    for kind in PROFILES:
        populations, programs, state = seeded_run(tmp_path, kind)
        for population, packed in zip(populations, programs, strict=True):
            for a in integer_arrays(population, POPULATION_ARRAYS):
                digest.update(a.tobytes())
            for a in integer_arrays(packed, PROGRAM_ARRAYS):
                digest.update(a.tobytes())
        digest.update(np.array(list(state.values()), dtype=np.int64).tobytes())
    assert digest.hexdigest() == EXPECTED


def test_the_records_name_the_same_arrays_as_the_dataclasses(tmp_path):
    assert GenomeArrays._fields == ("node_start", "link_start", *NODE_FIELDS, *LINK_FIELDS)
    assert ProgramArrays._fields == PROGRAM_ARRAYS
    assert [f for f in PackedPrograms.__dataclass_fields__] == list(PROGRAM_ARRAYS)
    populations, programs, _ = seeded_run(tmp_path, "default")
    record = populations[-1].arrays()
    assert all(
        a is getattr(populations[-1], n) for n, a in zip(record._fields, record, strict=True)
    )
    packed = programs[-1].arrays()
    assert all(a is getattr(programs[-1], n) for n, a in zip(packed._fields, packed, strict=True))
