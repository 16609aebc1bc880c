"""Insertion where each candidate competes only for the cell it was made for (gradient ascent)."""

from __future__ import annotations

import numpy as np
import pytest

from archives import EliteArchive


def test_each_candidate_competes_only_for_its_cell():
    archive = EliteArchive([0, 1, 2], ["a", "b", "c"], np.zeros((3, 2), dtype=np.float32))
    genomes = np.arange(6, dtype=np.float32).reshape(3, 2)
    # Candidate 0 is best at class c, but it is only offered cell 0.
    probabilities = np.array([[0.2, 0.1, 0.7], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]])
    replaced = archive.insert_assigned(genomes, probabilities, np.array([0, 1, 2]), 0, 0)
    assert replaced.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(archive.fitness, [0.2, 0.8, 0.4])
    np.testing.assert_array_equal(archive.evaluation, [1, 2, 3])
    worse = np.array([[0.1, 0.0, 0.9], [0.0, 0.9, 0.1], [0.5, 0.0, 0.5]])
    replaced = archive.insert_assigned(genomes[::-1].copy(), worse, np.array([0, 1, 2]), 1, 3)
    assert replaced.tolist() == [1, 2]
    np.testing.assert_array_equal(archive.fitness, [0.2, 0.9, 0.5])
    np.testing.assert_array_equal(archive.genomes[1], genomes[1])
    np.testing.assert_array_equal(archive.probabilities[2], worse[2])
    assert archive.generation.tolist() == [0, 1, 1]
    with pytest.raises(ValueError, match="one candidate"):
        archive.insert_assigned(genomes, probabilities, np.array([0, 0, 1]), 2, 6)
