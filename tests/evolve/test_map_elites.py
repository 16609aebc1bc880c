"""The loop's parts: parent selection, generations end to end on the real LeNet, and ranking
by log-odds where the probabilities saturate."""

from __future__ import annotations

import numpy as np
import pytest
from tolerances import ACROSS_BATCHES

from archives import EliteArchive
from archives.elite_archive import log_odds_of
from evolve.emitters import build_scheduler
from evolve.encodings import DirectEncoding, build_encoding
from evolve.evaluator import LocalEvaluator
from evolve.map_elites import RunState, initialise, step
from fitness.robust import RobustScoring
from fitness.scores import Scores
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
        step(state, build_scheduler(None, encoding), evaluator, archive, 100)
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
    step(state, build_scheduler(None, encoding), evaluator, archive, 20)
    rescoring, children = evaluator.draw_states
    assert (rescoring == children) is same_views


class RankedByProbability(LocalEvaluator):
    """The reference path: the previous ranking, by probability alone. Its log-odds are
    derived from the probabilities (-inf at 0, +inf at 1), so they break no tie."""

    def __call__(self, genomes, rng=None) -> Scores:
        probabilities = super().__call__(genomes, rng).probabilities
        return Scores(probabilities, log_odds_of(probabilities))


def evolved(target, evaluator_class, encoding, generations: int, batch: int = 50):
    """A seeded in-process run: the archive, the run state and the archive's log-odds after
    the initial population and after each generation."""
    archive = EliteArchive(range(10), target.class_names, encoding.empty(10))
    state = RunState(rng=np.random.default_rng(3))
    evaluator = evaluator_class(encoding, target)
    initialise(state, encoding, evaluator, archive, batch)
    history = [archive.log_odds.copy()]
    for _ in range(generations):
        step(state, build_scheduler(None, encoding), evaluator, archive, batch)
        history.append(archive.log_odds.copy())
    return archive, state, np.array(history)


@pytest.mark.parametrize("name", ["direct", "cppn"])
def test_runs_that_never_saturate_are_the_runs_ranked_by_probability(lenet_target, name) -> None:
    """On the standard LeNet no two probabilities tie, so ranking by (probability, log-odds)
    makes every decision the probability alone made: the same run, bit for bit (one process)."""
    encoding = build_encoding({"name": name, "channels": 1, "height": 28, "width": 28})
    generations = 40 if name == "direct" else 10
    ranked, state, _ = evolved(lenet_target, LocalEvaluator, encoding, generations)
    encoding = build_encoding({"name": name, "channels": 1, "height": 28, "width": 28})
    reference, reference_state, _ = evolved(
        lenet_target, RankedByProbability, encoding, generations
    )
    assert 0.0 < ranked.fitness.min() and ranked.fitness.max() < 1.0  # nothing saturated
    arrays, expected = ranked.to_arrays(encoding), reference.to_arrays(encoding)
    for key in expected:
        if key != "log_odds":  # the reference's are derived from the probabilities
            np.testing.assert_array_equal(arrays[key], expected[key], err_msg=key)
    assert state.rng.bit_generator.state == reference_state.rng.bit_generator.state


def test_a_saturated_target_still_has_a_gradient_of_selection(saturated_lenet_target) -> None:
    """Logits 100 x the LeNet's: the float64 probabilities of most classes are exactly 0 or 1.
    Ranked by probability alone, a cell at 1.0 keeps the first image that got there; ranked with
    log-odds it keeps improving, and no cell's log-odds ever go down."""
    generations = 20
    ranked, _, history = evolved(
        saturated_lenet_target, LocalEvaluator, DirectEncoding(), generations
    )
    reference, _, _ = evolved(
        saturated_lenet_target, RankedByProbability, DirectEncoding(), generations
    )
    assert (np.diff(history, axis=0) >= 0).all() and np.isfinite(history).all()
    stalled = np.flatnonzero(reference.fitness == 1.0)
    assert stalled.size and (ranked.fitness[stalled] == 1.0).all()
    # The reference's elites at 1.0 stopped changing; the ranked run's went on past them.
    assert (ranked.log_odds[stalled] > history[0][stalled]).all()
    assert (ranked.generation[stalled] > reference.generation[stalled]).any()
    # Cells at probability 0 in the initial population: their log-odds rose even while ties.
    at_zero = np.flatnonzero(history[0] < -745)
    assert at_zero.size and (ranked.log_odds[at_zero] > history[0][at_zero]).all()
