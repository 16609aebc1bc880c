"""The grad emitter on CPPNs (``--gradients -e cppn``): it ascends each class's network weights
through the differentiable renderer, its children express exactly the images it ascended, it
restarts a class only when another emitter found the class's elite, resumes exactly, and refuses
what it cannot do in one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, assert_same_run, evolve_whole_and_resumed, run_cli

import fooling
from archives import EliteArchive
from evolve.emitters import EmitterError, RunContext, build_scheduler
from evolve.emitters.gradient_cppn import (
    CppnGradientEmitter,
    _positions,
    _relayout,
    trainable_groups,
)
from evolve.encodings import build_encoding
from evolve.evaluator import LocalEvaluator
from evolve.map_elites import RunState, initialise, step

CPPN = {"name": "cppn", "channels": 1, "height": 28, "width": 28, "renderer": "numba"}
COMMON = ["-e", "cppn", "--gradients", "--batch", "10", "--initial-population", "10", "-q"]


def _setup(target, encoding=None, seed=0, emitters=None, threshold=0.9999):
    """A run's parts after generation 0 (``threshold`` 2: every class is served each time)."""
    encoding = build_encoding(CPPN) if encoding is None else encoding
    archive = EliteArchive(range(10), target.class_names, encoding.empty(10))
    evaluator = LocalEvaluator(encoding, target)
    context = RunContext(range(10), threshold, 10, target)
    settings = emitters or [{"name": "grad", "share": 1.0}]
    scheduler = build_scheduler(settings, encoding, context)
    state = RunState(rng=np.random.default_rng(seed))
    initialise(state, encoding, evaluator, archive, 10)
    return encoding, archive, evaluator, scheduler, state


class Recorder:
    """Wraps a target's differentiable forward pass to keep the images it was given."""

    def __init__(self, target):
        self.target, self.images = target, []
        self.forward = target.differentiable_log_probabilities

    def __enter__(self):
        def record(images):
            self.images.append(images.detach().cpu().numpy().copy())
            return self.forward(images)

        self.target.differentiable_log_probabilities = record
        return self

    def __exit__(self, *exc):
        del self.target.differentiable_log_probabilities  # the bound method again


def test_children_express_exactly_the_images_ascended(lenet_target):
    """The image each step ascends from is, bit for bit, the image the encoding expresses of
    the emitter's last child for that class (or of the elite it restarts from), and the child
    keeps its base's structure."""
    encoding, archive, evaluator, scheduler, state = _setup(lenet_target, threshold=2.0)
    emitter = scheduler.emitters[0]
    step(state, scheduler, evaluator, archive, 10)
    children, elites = emitter.bases[np.arange(10)], archive.genomes[np.arange(10)]
    with Recorder(lenet_target) as recorder:
        asked = scheduler.ask(archive, state.rng, 2, 10)
    ascended = np.concatenate(recorder.images)
    restarted = emitter.t == 1
    assert (~restarted).sum() >= 5
    expected = np.where(
        restarted[:, None, None, None], encoding.express(elites), encoding.express(children)
    )
    np.testing.assert_array_equal(ascended, expected)
    # The new children: the same networks with new weights, in range.
    kept = np.flatnonzero(~restarted)
    np.testing.assert_array_equal(asked[kept].link_in, children[kept].link_in)
    np.testing.assert_array_equal(asked[kept].node_activation, children[kept].node_activation)
    assert not np.array_equal(asked[kept].link_weight, children[kept].link_weight)
    assert np.abs(asked.link_weight).max() <= 10.0
    assert emitter.counters() == {"forward": 20, "backward": 20}


def test_a_class_restarts_only_from_an_elite_off_its_path(lenet_target):
    """A class keeps its base while its elite is its start or one of its own children; an
    elite from elsewhere (another emitter's child, or a child made for another class that
    scores higher on this one) restarts it from that elite."""
    encoding, archive, evaluator, scheduler, state = _setup(lenet_target, threshold=2.0)
    emitter = scheduler.emitters[0]
    for _ in range(3):
        step(state, scheduler, evaluator, archive, 10)
    # Another emitter's genome becomes class 4's elite.
    stranger = encoding.random(1, np.random.default_rng(7))
    probabilities = np.full((1, 10), 0.0)
    probabilities[0, 4] = 0.999999
    assert archive.insert_assigned(stranger, probabilities, np.array([4]), 4, 10_000).size == 1
    on_path = emitter.seen == archive.evaluation
    assert not on_path[4] and on_path.sum() >= 5
    t_before, elites = emitter.t.copy(), archive.genomes[np.arange(10)]
    scheduler.ask(archive, state.rng, 4, 10)
    np.testing.assert_array_equal(emitter.t[on_path], t_before[on_path] + 1)
    np.testing.assert_array_equal(emitter.t[~on_path], 1)
    np.testing.assert_array_equal(emitter.bases.key[~on_path], elites.key[~on_path])
    assert emitter.bases.key[4] == stranger.key[0]
    np.testing.assert_array_equal(emitter.seen[~on_path], archive.evaluation[~on_path])


def test_grad_and_paper_together_fool_digits(lenet_target):
    """``--emitter grad:1,paper:1``: both emitters' children reach the archive; a class whose
    elite the paper emitter found restarts from it."""
    emitters = [{"name": "grad", "share": 1.0}, {"name": "paper", "share": 1.0}]
    encoding, archive, evaluator, scheduler, state = _setup(lenet_target, emitters=emitters)
    for _ in range(6):
        step(state, scheduler, evaluator, archive, 10)
    emitter = scheduler.emitters[0]
    assert emitter.started.all()
    # Generation 0's networks have no hidden node: a base with one is a paper child the class
    # restarted from.
    assert emitter.bases.num_nodes.max() > 1
    assert np.median(archive.cell_fitness()) > 0.5


def test_state_round_trips_and_damage_is_refused(lenet_target):
    encoding, archive, evaluator, scheduler, state = _setup(lenet_target)
    for _ in range(2):
        step(state, scheduler, evaluator, archive, 4)  # four classes a generation, in turn
    emitter = scheduler.emitters[0]
    values, arrays = emitter.state()
    assert values == {"cursor": 8} and arrays["started"].sum() == 8
    assert arrays["weight.m"].shape == emitter.bases.link_weight.shape
    fresh = CppnGradientEmitter(encoding, np.arange(10), 0.9999, lenet_target)
    fresh.load_state(values, arrays)
    again = fresh.state()
    assert again[0] == values and again[1].keys() == arrays.keys()
    for name, array in arrays.items():
        np.testing.assert_array_equal(again[1][name], array, err_msg=name)
    for broken, words in (
        ({**arrays, "weight.m": arrays["weight.m"][:3]}, "aligned"),
        ({**arrays, "t": arrays["t"].astype(np.float64)}, "step counts"),
        ({k: v for k, v in arrays.items() if k != "weight.v"}, "expected the arrays"),
        ({**arrays, "weight.v": -arrays["weight.v"] - 1}, "v must be >= 0"),
        ({**arrays, "started": ~arrays["started"]}, "each started cell"),
        ({**arrays, "base.num_links": arrays["base.num_links"] + 99}, "base networks"),
        ({**arrays, "seen": arrays["seen"][:2]}, "evaluation numbers"),
    ):
        with pytest.raises(EmitterError, match=words):
            fresh.load_state(values, broken)
    with pytest.raises(EmitterError, match="cursor"):
        fresh.load_state({"cursor": 11}, arrays)


def test_a_checkpointed_and_resumed_run_equals_an_uninterrupted_one(tmp_path, capsys):
    settings = ["--emitter-setting", "grad.steps=2"]
    whole, resumed = evolve_whole_and_resumed(capsys, tmp_path, [*COMMON, *settings], 4, 2)
    assert_same_run(whole, resumed)
    summaries = [json.loads((run / "summary.json").read_text()) for run in (whole, resumed)]
    for key in ("evaluations", "target_queries", "emitter_queries", "best_confidence"):
        assert summaries[0][key] == summaries[1][key], key
    counts, evaluations = summaries[0]["emitter_queries"], summaries[0]["evaluations"]
    assert counts["forward"] == counts["backward"] == 2 * (evaluations - 10) > 0
    config = json.loads((whole / "config.json").read_text())
    assert config["emitters"] == [{"name": "grad", "share": 1.0, "steps": 2}]


def test_the_python_api_runs_it(lenet_target):
    run = fooling.evolve(
        lenet_target, encoding="cppn", gradients=True, batch=10, initial_population=10,
        max_generations=3, seed=0,
    )  # fmt: skip
    queries = run.summary["emitter_queries"]
    assert queries["forward"] == queries["backward"] == run.summary["evaluations"] - 10 > 0


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--emitter-setting", "grad.grid=7"], "direct-encoding setting"),
        (["--emitter-setting", "grad.lr=0"], "grad lr"),
        (["--robust", "shift=1"], "--robust"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, args, fragment):
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "evolve", *COMMON, *args, "--max-generations", "1", "--out", out)
    assert_one_line_error(code, err, fragment)
    assert not (out / "checkpoint.npz").exists()


def test_biases_and_responses_join_where_the_profile_lets_them_vary(lenet_target, tmp_path):
    profile = tmp_path / "affine.cfg"
    profile.write_text(
        "[DefaultGenome]\nbias_min_value = -2\nbias_max_value = 2\nbias_init_stdev = 1\n"
        "response_min_value = 0.5\nresponse_max_value = 2\n"
    )
    encoding = build_encoding({**CPPN, "config_path": str(profile)})
    assert trainable_groups(encoding.genome_config) == {
        "weight": (-10.0, 10.0), "bias": (-2.0, 2.0), "response": (0.5, 2.0),
    }  # fmt: skip
    assert trainable_groups(build_encoding(CPPN).genome_config) == {"weight": (-10.0, 10.0)}
    encoding, archive, evaluator, scheduler, state = _setup(lenet_target, encoding=encoding)
    emitter = scheduler.emitters[0]
    before = archive.genomes[np.arange(10)]
    step(state, scheduler, evaluator, archive, 10)
    values, arrays = emitter.state()
    assert {"bias.m", "bias.v", "response.m", "response.v"} <= arrays.keys()
    assert not np.array_equal(emitter.bases.node_bias, before.node_bias)
    assert np.abs(emitter.bases.node_bias).max() <= 2.0
    assert 0.5 <= emitter.bases.node_response.min() <= emitter.bases.node_response.max() <= 2.0


def test_relayout_keeps_other_cells_moments():
    old = np.array([0, 2, 2, 5])  # cells of 2, 0 and 3 entries
    new = np.array([0, 2, 6, 9])  # cell 1 now has 4 entries (reset), the others unchanged
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    out = _relayout(values, old, new, np.array([False, True, False]))
    np.testing.assert_array_equal(out, [1, 2, 0, 0, 0, 0, 3, 4, 5])
    np.testing.assert_array_equal(_positions(new, np.array([2, 0])), [6, 7, 8, 0, 1])


def test_settings_that_cannot_work_are_refused(lenet_target):
    encoding = build_encoding(CPPN)
    context = RunContext(range(10), 0.9999, 10, lenet_target)
    for bad, fragment in (
        ({"lr": -1}, "lr"),
        ({"steps": 0}, "steps"),
        ({"objective": "margin"}, "objective"),
        ({"grid": "full"}, "direct-encoding"),
        ({"sigma": 1.0}, "no setting sigma"),
    ):
        with pytest.raises(EmitterError, match=fragment):
            build_scheduler([{"name": "grad", "share": 1.0, **bad}], encoding, context)
    with pytest.raises(EmitterError, match="needs the run's target"):
        build_scheduler([{"name": "grad"}], encoding, RunContext(range(10)))
