"""Every emitter, one table (as foolbox lists its attacks): a run with it resumes exactly, its
state round-trips through a checkpoint, bad settings are one line and exit status 2 with nothing
written; and the CMA emitter fools the real LeNet in far fewer evaluations than the paper's
operators."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_helpers import (
    assert_one_line_error,
    assert_same_run,
    evolve_whole_and_resumed,
    run_cli,
    snapshot,
)

from evolve.checkpoint import load_checkpoint
from evolve.config import RunConfig
from evolve.emitters import RunContext, build_scheduler
from evolve.encodings import build_encoding
from evolve.map_elites import EMITTER_ARRAY_PREFIX, EMITTER_STATE_KEY

#: (encoding, --emitter, settings): each emitter on the encodings it supports.
EMITTERS = [
    ("direct", "paper", []),
    ("direct", "cma", []),
    ("direct", "cma:2,paper:1", ["--emitter-setting", "cma.covariance=full", "--emitter-setting",
                                  "cma.grid=4"]),
    ("cppn", "cma:1,paper:1", ["--emitter-setting", "cma.lam=6"]),
    ("direct", "grad", ["--emitter-setting", "grad.grid=7"]),
    ("cppn", "grad", ["--emitter-setting", "grad.steps=2"]),
]  # fmt: skip
#: Per emitter: an array of its state to damage (by the end of its name) and the error's words.
DAMAGE = {"cma": ("sigma", "sigma"), "grad": ("v", "v must be >= 0")}


def _common(encoding: str, emitter: str, settings: list[str]) -> list[str]:
    return [
        "-e", encoding, "--emitter", emitter, *settings, "--batch", "30",
        "--initial-population", "10", "--seed", "3", "--checkpoint-every", "2", "-q",
    ]  # fmt: skip


@pytest.mark.parametrize(("encoding", "emitter", "settings"), EMITTERS)
def test_a_resumed_run_equals_the_uninterrupted_run(
    lenet_target, capsys, tmp_path, encoding, emitter, settings
) -> None:
    common = _common(encoding, emitter, settings)
    whole, resumed = evolve_whole_and_resumed(capsys, tmp_path, common, 9, 5)
    assert_same_run(whole, resumed)
    stored = json.loads((whole / "config.json").read_text())["emitters"]
    assert [e["name"] for e in stored] == [part.split(":")[0] for part in emitter.split(",")]


@pytest.mark.parametrize(("encoding", "emitter", "settings"), EMITTERS[1:])
def test_emitter_state_round_trips_through_a_checkpoint(
    lenet_target, capsys, tmp_path, encoding, emitter, settings
) -> None:
    run_dir = tmp_path / "run"
    code, _, err = run_cli(
        capsys, "evolve", *_common(encoding, emitter, settings), "--max-generations", "4",
        "--out", run_dir,
    )  # fmt: skip
    assert code == 0, err
    config = RunConfig.load(run_dir / "config.json")
    built = build_encoding(config.encoding)
    _, _, extra, arrays = load_checkpoint(run_dir / "checkpoint.npz", built, config)
    values = extra[EMITTER_STATE_KEY]
    own = {k[len(EMITTER_ARRAY_PREFIX) :]: v for k, v in arrays.items()}
    assert own, "the emitter's state is in the checkpoint"
    context = RunContext(config.cell_classes, config.threshold, config.batch, lenet_target)
    scheduler = build_scheduler(config.emitters, built, context)
    scheduler.load_state(values, own)
    again_values, again = scheduler.state()
    assert again_values == values and again.keys() == own.keys()
    for name in own:
        np.testing.assert_array_equal(again[name], own[name], err_msg=name)
    # A damaged state is refused by name, before anything is written.
    damaged = dict(own)
    suffix, words = DAMAGE[emitter.split(":")[0]]
    name = next(k for k in damaged if k.endswith(suffix))
    damaged[name] = -np.abs(damaged[name]) - 1
    with pytest.raises(ValueError, match=words):
        scheduler.load_state(values, damaged)


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (["--emitter", "nope"], "unknown emitter 'nope'"),
        (["--emitter", "cma:0"], "share must be a positive number"),
        (["--emitter", "cma", "--emitter-setting", "cma.speed=3"], "no setting speed"),
        (["--emitter", "cma", "--emitter-setting", "paper.x=1"], "names no emitter"),
        (["--emitter", "cma", "--emitter-setting", "sigma=1"], "not NAME.KEY=VALUE"),
        (["--emitter", "cma", "--emitter-setting", "cma.sigma=-1"], "sigma must be a positive"),
        (["--emitter", "cma", "--emitter-setting", "cma.weights=8"], "CPPN setting"),
        (["-e", "cppn", "--emitter", "cma", "--emitter-setting", "cma.grid=4"], "direct-encoding"),
        (["--emitter", "cma", "--batch", "5"], "needs at least 10 children"),
        (["--emitter", "cma:1,paper:9", "--batch", "20"], "needs at least 10 children"),
        (["--gradients", "--emitter", "cma"], "--emitter cma has none"),
        (["--emitter", "grad", "--emitter-setting", "grad.grid=99"], "grad grid"),
        (["-e", "cppn", "--gradients", "--emitter-setting", "grad.grid=7"], "direct-encoding"),
        (["--gradients", "--robust", "shift=1"], "--robust"),
    ],
)
def test_bad_emitter_input_is_one_line_and_writes_nothing(
    lenet_target, capsys, tmp_path, options, fragment
) -> None:
    (tmp_path / "keep.txt").write_text("untouched")
    before = snapshot(tmp_path)
    code, _, err = run_cli(
        capsys, "evolve", *options, "--max-generations", "1", "--out", tmp_path / "run", "-q"
    )
    assert_one_line_error(code, err, fragment)
    assert snapshot(tmp_path) == before


def test_cma_fools_every_digit_in_far_fewer_evaluations(lenet_target) -> None:
    import fooling

    cma = fooling.evolve(
        lenet_target, emitter="cma", batch=100, initial_population=10, until=0.9999,
        max_evaluations=2000, seed=0,
    )  # fmt: skip
    assert cma.summary["classes_at_threshold"] == 10
    assert cma.summary["evaluations"] <= 2000
    paper = fooling.evolve(lenet_target, batch=100, max_evaluations=2000, seed=0)
    assert paper.summary["classes_at_threshold"] < 10  # the paper's operators need far more
