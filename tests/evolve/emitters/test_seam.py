"""The emitter seam: the paper emitter is the loop the engine ran before emitters, bit for bit;
specs parse or fail in one line; the scheduler splits a batch and hands each emitter its own."""

from __future__ import annotations

import numpy as np
import pytest
from reference_loop import reference_run

from archives import EliteArchive
from evolve.emitters import EmitterError, build_scheduler, parse_emitters
from evolve.emitters.base import Stateless
from evolve.emitters.scheduler import split_batch
from evolve.encodings import build_encoding
from evolve.evaluator import LocalEvaluator
from evolve.map_elites import RunState, initialise, step
from fitness.robust import RobustScoring
from fitness.transforms import TransformSpec

ENCODINGS = {
    "direct": {"name": "direct", "channels": 1, "height": 28, "width": 28, "crossover_rate": 0.5},
    "cppn": {"name": "cppn", "channels": 1, "height": 28, "width": 28, "renderer": "numba"},
}


def _archive(target, encoding) -> EliteArchive:
    return EliteArchive(range(10), target.class_names, encoding.empty(10))


def _same(a: EliteArchive, b: EliteArchive, encoding) -> None:
    left, right = a.to_arrays(encoding), b.to_arrays(encoding)
    assert left.keys() == right.keys()
    for name in left:
        np.testing.assert_array_equal(left[name], right[name], err_msg=name)


@pytest.mark.parametrize(
    ("encoding_name", "robust"), [("direct", None), ("cppn", None), ("direct", "paired")]
)
def test_paper_emitter_runs_the_pre_emitter_loop_bit_for_bit(lenet_target, encoding_name, robust):
    scoring = None
    if robust:
        scoring = RobustScoring(TransformSpec.parse("shift=1,noise=0.02"), 2, "mean", robust)
    results = []
    for run in ("reference", "seam"):
        encoding = build_encoding(ENCODINGS[encoding_name])
        evaluator = LocalEvaluator(encoding, lenet_target, robust=scoring)
        archive = _archive(lenet_target, encoding)
        if run == "reference":
            state = reference_run(encoding, evaluator, archive, seed=5, batch=30, generations=8)
        else:
            state = RunState(rng=np.random.default_rng(5))
            initialise(state, encoding, evaluator, archive, 30)
            scheduler = build_scheduler([{"name": "paper", "share": 1.0}], encoding)
            for _ in range(8):
                step(state, scheduler, evaluator, archive, 30)
        results.append((archive, state, encoding))
    (ref, ref_state, encoding), (new, new_state, _) = results
    _same(ref, new, encoding)
    assert ref_state.rng.bit_generator.state == new_state.rng.bit_generator.state
    assert (
        (ref_state.generation, ref_state.evaluations)
        == (8, 270)
        == (
            new_state.generation,
            new_state.evaluations,
        )
    )


def test_specs_parse_with_shares_and_refuse_what_cannot_work() -> None:
    assert parse_emitters("paper") == [{"name": "paper", "share": 1.0}]
    with pytest.raises(EmitterError, match="unknown emitter 'nope'"):
        parse_emitters("nope")
    with pytest.raises(EmitterError, match="named twice"):
        parse_emitters("paper,paper:2")
    for bad in ("paper:0", "paper:-1", "paper:x", "paper:inf", "paper:nan"):
        with pytest.raises(EmitterError):
            parse_emitters(bad)
    with pytest.raises(EmitterError, match="takes no settings"):
        build_scheduler(
            [{"name": "paper", "share": 1.0, "sigma": 2}], build_encoding(ENCODINGS["direct"])
        )


def test_batches_split_by_largest_remainder() -> None:
    assert split_batch(10, [1.0]) == [10]
    assert split_batch(10, [3.0, 1.0]) == [8, 2]  # 7.5 / 2.5: the tie goes to the first
    assert split_batch(7, [1.0, 1.0, 1.0]) == [3, 2, 2]
    assert split_batch(1, [1.0, 3.0]) == [0, 1]
    for batch in range(1, 40):
        assert sum(split_batch(batch, [0.3, 2.0, 1.1])) == batch


class _Recorder(Stateless):
    """A stateless emitter of constant images that notes what it is told."""

    name = "recorder"

    def __init__(self, value: float) -> None:
        self.value, self.told = value, []

    def ask(self, archive, rng, generation, count):
        return np.full((count, 784), self.value, dtype=np.float32)

    def tell(self, children, scores, archive, improved):
        self.told.append((children.copy(), scores.log_odds.copy()))

    def config(self):
        return {"name": self.name}


def test_each_emitter_is_told_the_scores_of_its_own_children(lenet_target) -> None:
    from evolve.emitters import Scheduler

    encoding = build_encoding(ENCODINGS["direct"])
    first, second = _Recorder(0.25), _Recorder(0.75)
    scheduler = Scheduler([first, second], [2.0, 1.0], encoding)
    archive = _archive(lenet_target, encoding)
    state = RunState(rng=np.random.default_rng(0))
    evaluator = LocalEvaluator(encoding, lenet_target)
    initialise(state, encoding, evaluator, archive, 6)
    step(state, scheduler, evaluator, archive, 9)
    (children_a, log_odds_a), (children_b, log_odds_b) = first.told[0], second.told[0]
    assert len(children_a) == 6 and (children_a == 0.25).all()
    assert len(children_b) == 3 and (children_b == 0.75).all()
    expected = lenet_target.scores(encoding.express(np.concatenate([children_a, children_b])))
    np.testing.assert_array_equal(np.concatenate([log_odds_a, log_odds_b]), expected.log_odds)
    assert scheduler.config() == [
        {"name": "recorder", "share": 2.0},
        {"name": "recorder", "share": 1.0},
    ]
