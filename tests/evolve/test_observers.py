"""The run loop's observers: hooks in order; a new observer attaches without touching the loop."""

from __future__ import annotations

import json

import numpy as np

from evolve.config import RunConfig, StopConditions
from evolve.encodings import DirectEncoding
from evolve.observers import Observer
from evolve.runner import Evolution


class Recorder(Observer):
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def started(self, run) -> None:
        self.calls.append(("started", run.state.generation))

    def generation_done(self, run, improved) -> None:
        assert isinstance(improved, np.ndarray)
        self.calls.append(("generation", run.state.generation))

    def saving(self, run) -> None:
        self.calls.append(("saving", run.state.generation))

    def finished(self, run, reason) -> None:
        self.calls.append(("finished", reason))


def test_hooks_see_every_generation_and_checkpoint(lenet_target, tmp_path) -> None:
    encoding = DirectEncoding()
    config = RunConfig.for_target(
        lenet_target, encoding, list(range(10)), batch=20, seed=0,
        stop=StopConditions(max_generations=4), checkpoint_every=2,
    )  # fmt: skip
    recorder = Recorder()
    evolution = Evolution.create(
        tmp_path / "run", config, lenet_target, encoding, progress=False, observers=[recorder]
    )
    summary = evolution.run()
    assert summary["generations"] == 4
    assert recorder.calls == [
        ("started", -1),
        ("generation", 0), ("saving", 0),  # generation 0 is a multiple of checkpoint_every
        ("generation", 1),
        ("generation", 2), ("saving", 2),
        ("generation", 3),
        ("generation", 4), ("saving", 4),  # the final checkpoint
        ("finished", "max_generations"),
    ]  # fmt: skip
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 5  # the metrics observer wrote one line per generation


def test_the_progress_bar_counts_generations_not_generation_zero(
    lenet_target, tmp_path, capsys
) -> None:
    encoding = DirectEncoding()
    config = RunConfig.for_target(
        lenet_target, encoding, list(range(10)), batch=10, seed=0,
        stop=StopConditions(max_generations=3),
    )  # fmt: skip
    Evolution.create(tmp_path / "run", config, lenet_target, encoding, progress=True).run()
    err = capsys.readouterr().err
    assert "3/3" in err and "4/4" not in err, err


def test_a_long_run_thins_its_log_and_keeps_the_last_generation(lenet_target, tmp_path) -> None:
    encoding = DirectEncoding()
    config = RunConfig.for_target(
        lenet_target, encoding, list(range(10)), batch=2, seed=0,
        stop=StopConditions(max_generations=1015), checkpoint_every=500,
    )  # fmt: skip
    Evolution.create(tmp_path / "run", config, lenet_target, encoding, progress=False).run()
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    generations = [json.loads(line)["generation"] for line in lines]
    assert generations == [*range(1000), 1000, 1010, 1015]
