"""The loop's parts: parent selection and one generation end to end on the real LeNet."""

from __future__ import annotations

import numpy as np
from tolerances import ACROSS_BATCHES

from archives import EliteArchive
from evolve.encodings import DirectEncoding
from evolve.evaluator import LocalEvaluator
from evolve.map_elites import RunState, initialise, step


def test_parents_are_drawn_uniformly_from_occupied_cells() -> None:
    encoding = DirectEncoding(channels=1, height=1, width=1)
    archive = EliteArchive(range(4), list("abcd"), encoding.empty(4))
    archive.insert(
        np.array([[0.1], [0.2]], dtype=np.float32),
        np.array([[0.6, 0.3, 0.05, 0.05], [0.0, 0.1, 0.2, 0.7]]),
        0,
        0,
    )
    # Every insert fills every cell; a stored archive can hold an empty one.
    arrays = archive.to_arrays(encoding)
    # cell 2 empty; cells 0, 1 hold genome 0.1, cell 3 holds 0.2
    arrays["fitness"] = np.where(np.arange(4) == 2, -np.inf, arrays["fitness"])
    archive = EliteArchive.from_arrays(arrays, encoding)
    assert not archive.fitness.flags.writeable  # readers get read-only views
    parents = archive.sample_elites(30000, np.random.default_rng(0))[:, 0]
    share = np.isclose(parents, 0.1).mean()
    assert abs(share - 2 / 3) < 0.02  # an image holding two cells is drawn twice as often


def test_generations_improve_the_real_lenet_archive(lenet_target) -> None:
    encoding = DirectEncoding()
    archive = EliteArchive(range(10), lenet_target.class_names, encoding.empty(10))
    state = RunState(rng=np.random.default_rng(0))
    queries = lenet_target.queries
    evaluator = LocalEvaluator(encoding, lenet_target)
    initialise(state, encoding, evaluator, archive, 100)
    first = archive.cell_fitness().copy()
    for _ in range(20):
        step(state, encoding, evaluator, archive, 100)
    assert state.generation == 20 and state.evaluations == 2100
    assert lenet_target.queries - queries == 2100
    assert (archive.cell_fitness() >= first).all()
    assert archive.cell_fitness().mean() > first.mean()
    # The stored probability vectors are the model's for the stored genomes.
    rescored = lenet_target.probabilities(encoding.express(archive.genomes))
    np.testing.assert_allclose(rescored, archive.probabilities, **ACROSS_BATCHES)
