"""The loop's parts: parent selection and one generation end to end on the real LeNet."""

from __future__ import annotations

import numpy as np
import pytest
from tolerances import ACROSS_BATCHES

from archives import EliteArchive
from evolve.encodings import DirectEncoding
from evolve.evaluator import LocalEvaluator
from evolve.map_elites import RunState, initialise, step
from fitness.robust import RobustScoring
from fitness.transforms import TransformSpec


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


class RecordingEvaluator(LocalEvaluator):
    """The real evaluator, noting the state of the generator each call draws its views from."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.draw_states: list[dict] = []

    def __call__(self, genomes, rng=None):
        self.draw_states.append(rng.bit_generator.state)
        return super().__call__(genomes, rng)


@pytest.mark.parametrize("elites, same_views", [("paired", True), ("rescore", False)])
def test_paired_elites_and_children_see_the_same_views(lenet_target, elites, same_views) -> None:
    """--robust-elites paired: a generation's elite rescoring and its children draw their K
    views from one seed (the same views); rescore draws each from the run's generator in turn."""
    encoding = DirectEncoding()
    robust = RobustScoring(TransformSpec.parse("shift=2,rotate=10,jpeg=60:95"), 2, elites=elites)
    evaluator = RecordingEvaluator(encoding, lenet_target, robust=robust)
    archive = EliteArchive(range(10), lenet_target.class_names, encoding.empty(10))
    state = RunState(rng=np.random.default_rng(0))
    initialise(state, encoding, evaluator, archive, 20)
    evaluator.draw_states.clear()
    step(state, encoding, evaluator, archive, 20)
    rescoring, children = evaluator.draw_states
    assert (rescoring == children) is same_views
