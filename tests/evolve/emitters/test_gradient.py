"""The grad emitter (``--gradients``): white-box gradient ascent per class fools every digit of
the real LeNet in a few hundred passes, counts its own forward and backward passes, resumes
exactly, and refuses what it cannot do in one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from cli_helpers import assert_one_line_error, assert_same_run, evolve_whole_and_resumed, run_cli

import fooling
from archives import EliteArchive
from evolve.emitters import EmitterError, RunContext, build_scheduler, with_gradients
from evolve.emitters.gradient import GradientEmitter
from evolve.encodings import build_encoding
from evolve.evaluator import LocalEvaluator
from evolve.map_elites import RunState, initialise, step

DIRECT = {"name": "direct", "channels": 1, "height": 28, "width": 28}
COMMON = ["--gradients", "--batch", "10", "--initial-population", "10", "-q"]


def _setup(target, seed=0, **params):
    encoding = build_encoding(DIRECT)
    archive = EliteArchive(range(10), target.class_names, encoding.empty(10))
    evaluator = LocalEvaluator(encoding, target)
    context = RunContext(range(10), 0.9999, 10, target)
    scheduler = build_scheduler([{"name": "grad", "share": 1.0, **params}], encoding, context)
    state = RunState(rng=np.random.default_rng(seed))
    initialise(state, encoding, evaluator, archive, 10)
    return encoding, archive, evaluator, scheduler, state


def test_grad_emitter_fools_all_ten_digits_in_few_passes(lenet_target):
    encoding, archive, evaluator, scheduler, state = _setup(lenet_target)
    while not archive.all_at(0.9999) and state.generation < 30:
        step(state, scheduler, evaluator, archive, 10)
    counts = scheduler.counters()
    total = state.evaluations + counts["forward"] + counts["backward"]
    assert archive.all_at(0.9999), archive.cell_fitness()
    assert counts["forward"] == counts["backward"] <= state.evaluations - 10
    assert total <= 400, (state.evaluations, counts)  # measured: 118 (seed 0)
    # Each elite is the 8-bit image the emitter optimised: its genes sit mid-code.
    codes = archive.genomes * 255.0 - 0.5
    np.testing.assert_allclose(codes, np.round(codes), atol=1e-3)


def test_state_round_trips_and_damage_is_refused(lenet_target):
    encoding, archive, evaluator, scheduler, state = _setup(lenet_target)
    for _ in range(2):
        step(state, scheduler, evaluator, archive, 4)  # four classes a generation, in turn
    emitter = scheduler.emitters[0]
    values, arrays = emitter.state()
    assert values == {"cursor": 8} and arrays["started"].sum() == 8
    fresh = GradientEmitter(encoding, np.arange(10), 0.9999, lenet_target)
    fresh.load_state(values, arrays)
    again = fresh.state()
    assert again[0] == values
    for name, array in arrays.items():
        np.testing.assert_array_equal(again[1][name], array, err_msg=name)
    for broken in (
        {**arrays, "theta": arrays["theta"][:3]},
        {**arrays, "t": arrays["t"].astype(np.float64)},
        {k: v for k, v in arrays.items() if k != "m"},
        {**arrays, "v": -arrays["v"] - 1},
    ):
        with pytest.raises(EmitterError, match="grad"):
            fresh.load_state(values, broken)
    with pytest.raises(EmitterError, match="cursor"):
        fresh.load_state({"cursor": 11}, arrays)


def test_settings_that_cannot_work_are_refused(lenet_target):
    encoding = build_encoding(DIRECT)
    for bad, fragment in (
        ({"lr": 0}, "lr"),
        ({"steps": 0}, "steps"),
        ({"grid": 29}, "grid"),
        ({"grid": "coarse"}, "grid"),
        ({"objective": "margin"}, "objective"),
        ({"sigma": 1.0}, "no setting sigma"),
    ):
        with pytest.raises(EmitterError, match=fragment):
            build_scheduler(
                [{"name": "grad", "share": 1.0, **bad}],
                encoding,
                RunContext(range(10), 0.9999, 10, lenet_target),
            )
    with pytest.raises(EmitterError, match="needs the run's target"):
        build_scheduler([{"name": "grad"}], encoding, RunContext(range(10)))
    assert with_gradients("paper") == "grad" and with_gradients("grad:2,paper") == "grad:2,paper"
    with pytest.raises(EmitterError, match="--emitter cma has none"):
        with_gradients("cma")
    with pytest.raises(EmitterError, match="has none"):
        fooling.evolve(lenet_target, gradients=True, emitter="cma", max_generations=1)
    # The build-time probe is no query of the run.
    before = lenet_target.queries
    GradientEmitter(encoding, np.arange(10), 0.9999, lenet_target, grid=7)
    assert lenet_target.queries == before


def test_a_checkpointed_and_resumed_run_equals_an_uninterrupted_one(tmp_path, capsys):
    settings = ["--emitter-setting", "grad.steps=2", "--emitter-setting", "grad.grid=14"]
    whole, resumed = evolve_whole_and_resumed(capsys, tmp_path, [*COMMON, *settings], 4, 2)
    assert_same_run(whole, resumed)
    summaries = [json.loads((run / "summary.json").read_text()) for run in (whole, resumed)]
    for key in ("evaluations", "target_queries", "emitter_queries", "best_confidence"):
        assert summaries[0][key] == summaries[1][key], key
    counts, evaluations = summaries[0]["emitter_queries"], summaries[0]["evaluations"]
    # Two steps a child, each one image forward and backward; classes at 0.9999 drop out.
    assert counts["forward"] == counts["backward"] == 2 * (evaluations - 10) > 0
    assert summaries[0]["target_queries"] == evaluations + counts["forward"]
    config = json.loads((whole / "config.json").read_text())
    assert config["emitters"] == [{"name": "grad", "share": 1.0, "steps": 2, "grid": 14}]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--emitter-setting", "grad.lr=-1"], ("grad lr",)),
        (
            ["--target", "model_factories:no_gradient", "--input-shape", "1,28,28",
             "--random-weights"],
            ("gives no gradient",),
        ),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, args, fragments):
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "evolve", *COMMON, *args, "--max-generations", "1", "--out", out)
    assert_one_line_error(code, err, *fragments)
    assert not (out / "checkpoint.npz").exists()


def test_grad_images_are_what_the_archive_scores(lenet_target):
    """The child's genes express the very 8-bit image whose log-probability was ascended."""
    encoding, archive, evaluator, scheduler, state = _setup(lenet_target)
    emitter = scheduler.emitters[0]
    children = scheduler.ask(archive, state.rng, 1, 10)
    with torch.no_grad():
        expected = emitter._codes(emitter.theta) / 255.0
    np.testing.assert_array_equal(encoding.express(children), expected.numpy())
