"""The TensorBoard observer: what it writes, read back with TensorBoard's own reader, and a
resumed run that continues the log with every step once."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("tensorboard")

from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)

from evolve.config import RunConfig, StopConditions  # noqa: E402
from evolve.encodings import DirectEncoding  # noqa: E402
from evolve.observers import Observer  # noqa: E402
from evolve.runner import Evolution  # noqa: E402
from evolve.tensorboard import TensorBoardLog, event_files, truncate_events  # noqa: E402

CLASSES = [str(d) for d in range(10)]


def read_log(log_dir) -> EventAccumulator:
    """Every event of the log (no sampling), as TensorBoard reads it."""
    log = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "images": 0})
    log.Reload()
    return log


def events(log: EventAccumulator, tag: str) -> list:
    """A tag's events by step (a log of several processes is read file by file, in the order
    of the files' names, which is not always the order they were written in)."""
    found = log.Images(tag) if tag == "elites" else log.Scalars(tag)
    return sorted(found, key=lambda event: event.step)


def steps(log: EventAccumulator, tag: str) -> list[int]:
    return [event.step for event in events(log, tag)]


def make_config(target, encoding, generations: int) -> RunConfig:
    return RunConfig.for_target(
        target, encoding, list(range(10)), batch=20, seed=4,
        stop=StopConditions(max_generations=generations), checkpoint_every=4,
    )  # fmt: skip


def test_the_log_holds_each_class_coverage_speed_and_images(lenet_target, tmp_path) -> None:
    encoding = DirectEncoding()
    config = make_config(lenet_target, encoding, 12)
    log_dir = tmp_path / "tb"
    run = Evolution.create(
        tmp_path / "run", config, lenet_target, encoding, progress=False,
        observers=[TensorBoardLog(log_dir, images_every=5)],
    )  # fmt: skip
    run.run()
    log = read_log(log_dir)
    scalars = set(log.Tags()["scalars"])
    assert {f"best_confidence/{name}" for name in CLASSES} <= scalars
    assert {"run/coverage", "run/evaluations_per_s", "run/classes_at_threshold"} <= scalars
    metrics = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").open()]
    for digit in (0, 7):
        logged = log.Scalars(f"best_confidence/{digit}")
        assert [e.step for e in logged] == [m["generation"] for m in metrics] == list(range(13))
        np.testing.assert_allclose(
            [e.value for e in logged], [m["best_confidence"][digit] for m in metrics], rtol=1e-6
        )  # float32 in the log
    assert [e.value for e in log.Scalars("run/coverage")] == [m["coverage"] for m in metrics]
    assert all(e.value > 0 for e in log.Scalars("run/evaluations_per_s"))
    assert steps(log, "elites") == [0, 5, 10, 12]  # every 5 generations and the last
    grid = log.Images("elites")[-1]
    assert grid.width >= 28 * 5 and grid.height >= 28 * 2  # ten 28x28 elites in one grid


class CopyCheckpointAt(Observer):
    """Keeps a copy of the checkpoint on disk at ``generation``: what a run killed then holds."""

    def __init__(self, generation: int, to) -> None:
        self.generation, self.to = generation, to

    def generation_done(self, run, improved) -> None:
        if run.state.generation == self.generation:
            shutil.copy(run.run_dir / "checkpoint.npz", self.to)


def test_a_resumed_run_continues_the_log_with_every_step_once(lenet_target, tmp_path) -> None:
    encoding = DirectEncoding()
    whole_log = tmp_path / "tb_whole"
    Evolution.create(
        tmp_path / "whole", make_config(lenet_target, encoding, 14), lenet_target, encoding,
        progress=False, observers=[TensorBoardLog(whole_log, images_every=5)],
    ).run()  # fmt: skip

    # A run that went on to generation 11 after its checkpoint at 8, then died: the log holds
    # 9-11 (and a grid at 10) that the resumed run writes again.
    run_dir, log_dir, saved = tmp_path / "split", tmp_path / "tb_split", tmp_path / "ckpt.npz"
    Evolution.create(
        run_dir, make_config(lenet_target, encoding, 11), lenet_target, DirectEncoding(),
        progress=False,
        observers=[CopyCheckpointAt(9, saved), TensorBoardLog(log_dir, images_every=5)],
    ).run()  # fmt: skip
    shutil.copy(saved, run_dir / "checkpoint.npz")
    assert max(steps(read_log(log_dir), "best_confidence/3")) == 11
    config = RunConfig.load(run_dir / "config.json")
    config.stop = StopConditions(max_generations=14)
    encoding = DirectEncoding()
    Evolution.resume(
        run_dir, config, lenet_target, encoding, progress=False,
        observers=[TensorBoardLog(log_dir, images_every=5)],
    ).run()  # fmt: skip

    whole, split = read_log(whole_log), read_log(log_dir)
    assert len(event_files(log_dir)) == 2  # one file per process
    for tag in ("best_confidence/3", "run/coverage", "run/evaluations_per_s", "elites"):
        assert steps(split, tag) == steps(whole, tag), tag  # each step once, none missing
    assert steps(split, "elites") == [0, 5, 10, 14]
    for digit in CLASSES:
        tag = f"best_confidence/{digit}"
        assert [e.value for e in events(split, tag)] == [e.value for e in events(whole, tag)]


def test_truncation_keeps_earlier_steps_and_a_new_run_starts_afresh(lenet_target, tmp_path):
    encoding = DirectEncoding()
    log_dir = tmp_path / "tb"
    Evolution.create(
        tmp_path / "run", make_config(lenet_target, encoding, 6), lenet_target, encoding,
        progress=False, observers=[TensorBoardLog(log_dir)],
    ).run()  # fmt: skip
    truncate_events(log_dir, 3)
    assert steps(read_log(log_dir), "run/coverage") == [0, 1, 2, 3]
    truncate_events(log_dir, -1)
    assert event_files(log_dir) == []
