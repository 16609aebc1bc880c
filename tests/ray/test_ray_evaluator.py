"""Runs scored on Ray equal in-process runs bit for bit (same chunks, same threads), a worker
that dies costs a retry and nothing else, and a run moves between Ray and this process.

Every comparison is between runs made on this machine in this test session, with torch and
Numba on one thread in the driver and in each worker, so equality is exact (docs/tutorials/ray.md,
"When results are identical", says when that holds).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from ray_workers import DiesInGeneration2, DiesOnce, HangsOnce

from evolve.config import RunConfig, StopConditions
from evolve.distributed.cluster import WorkersLost
from evolve.distributed.evaluator import RayEvaluator
from evolve.distributed.worker import set_threads
from evolve.encodings import build_encoding
from evolve.run_dir import METRICS_FILE
from evolve.runner import Evolution

BATCH, CHUNK = 40, 16  # 3 chunks a generation, the last one short


@pytest.fixture(autouse=True)
def one_thread():
    """The in-process runs use one thread, as each worker does (``--threads 1``)."""
    import numba
    import torch

    before = torch.get_num_threads(), numba.get_num_threads()
    set_threads(1)
    yield
    torch.set_num_threads(before[0])
    numba.set_num_threads(before[1])


def make_config(target, encoding, generations: int) -> RunConfig:
    return RunConfig.for_target(
        target,
        encoding,
        list(range(10)),
        batch=BATCH,
        seed=3,
        stop=StopConditions(max_generations=generations),
        chunk=CHUNK,
    )


def encoding_for(name: str):
    return build_encoding({"name": name, "channels": 1, "height": 28, "width": 28})


def run(run_dir: Path, target, name: str, generations: int, evaluator=None, resume=False):
    """A run of ``generations`` (new, or resumed with the stop raised), scored by ``evaluator``
    (None: in this process); returns the Evolution after it ran."""
    encoding = encoding_for(name)
    config = make_config(target, encoding, generations)
    if resume:  # as the command does: the run's own config.json (its run id), new stop
        stop, config = config.stop, RunConfig.load(run_dir / "config.json")
        config.stop = stop
    make = Evolution.resume if resume else Evolution.create
    evolution = make(run_dir, config, target, encoding, progress=False, evaluator=evaluator)
    evolution.run()
    return evolution


def assert_same_run(a: Evolution, b: Evolution) -> None:
    """Archive arrays, generator state and counters identical, bit for bit."""
    arrays_a, arrays_b = a.archive.to_arrays(a.encoding), b.archive.to_arrays(b.encoding)
    assert arrays_a.keys() == arrays_b.keys()
    for key in arrays_a:
        if key != "meta":  # which holds each run's own id
            np.testing.assert_array_equal(arrays_a[key], arrays_b[key], err_msg=key)
    assert a.state.rng.bit_generator.state == b.state.rng.bit_generator.state
    assert (a.state.generation, a.state.evaluations) == (b.state.generation, b.state.evaluations)
    assert a.encoding.state_dict() == b.encoding.state_dict()


def ray_evaluator(target, name: str, workers: int, **kwargs) -> RayEvaluator:
    return RayEvaluator(encoding_for(name), target, CHUNK, workers=workers, threads=1, **kwargs)


@pytest.mark.parametrize("name", ["direct", "cppn"])
def test_ray_runs_equal_the_in_process_run(ray_session, lenet_target, tmp_path, name) -> None:
    local = run(tmp_path / "local", lenet_target, name, 3)
    for workers in (1, 2):
        with ray_evaluator(lenet_target, name, workers) as evaluator:
            remote = run(tmp_path / f"ray{workers}", lenet_target, name, 3, evaluator)
            assert evaluator.queries == 4 * BATCH and evaluator.retries == 0
        assert_same_run(local, remote)
        last = json.loads((tmp_path / f"ray{workers}" / METRICS_FILE).read_text().splitlines()[-1])
        assert last["workers"] == workers and last["retries"] == 0


def test_ray_runs_equal_the_in_process_run_where_log_odds_break_ties(
    ray_session, saturated_lenet_target, tmp_path
) -> None:
    """Against a LeNet with 100 times larger logits most probabilities are exactly 0 or 1 and
    the log-odds the workers send back decide; the runs still agree bit for bit."""
    local = run(tmp_path / "local", saturated_lenet_target, "direct", 6)
    with ray_evaluator(saturated_lenet_target, "direct", 2) as evaluator:
        remote = run(tmp_path / "ray", saturated_lenet_target, "direct", 6, evaluator)
    assert_same_run(local, remote)
    fitness = local.archive.fitness
    assert ((fitness == 0.0) | (fitness == 1.0)).any()  # saturated: the log-odds ranked these


def test_payload_expresses_the_same_images(lenet_target) -> None:
    """What a worker renders from the packed genomes is what this process renders."""
    rng = np.random.default_rng(0)
    for name in ("direct", "cppn"):
        encoding = encoding_for(name)
        genomes = encoding.vary(encoding.random(20, rng), rng, 1)
        expected = encoding.express(genomes)
        np.testing.assert_array_equal(encoding.express_payload(encoding.payload(genomes)), expected)
    for color in ("rgb", "hls", "hls_full"):
        encoding = build_encoding(
            {"name": "direct", "channels": 3, "height": 5, "width": 4, "color": color}
        )
        genomes = encoding.random(7, rng)
        payload = encoding.payload(genomes)
        assert payload["bytes"].dtype == np.uint8
        np.testing.assert_array_equal(
            encoding.express_payload(payload), encoding.express(genomes), err_msg=color
        )


def test_a_worker_that_dies_costs_a_retry(ray_session, lenet_target, tmp_path) -> None:
    local = run(tmp_path / "local", lenet_target, "cppn", 3)
    with ray_evaluator(lenet_target, "cppn", 2, worker_class=DiesOnce) as evaluator:
        remote = run(tmp_path / "ray", lenet_target, "cppn", 3, evaluator)
        assert evaluator.retries >= 1
        assert evaluator.workers_alive == 2  # restarted, not given up
        assert evaluator.queries == 4 * BATCH
    assert_same_run(local, remote)
    retries = [json.loads(line)["retries"] for line in (tmp_path / "ray" / METRICS_FILE).open()]
    assert retries[-1] >= 1


def test_no_worker_left_checkpoints_and_resumes(ray_session, lenet_target, tmp_path) -> None:
    """With no worker left the run stops at its last whole generation, checkpointed; resumed
    in this process it ends as the uninterrupted in-process run."""
    local = run(tmp_path / "local", lenet_target, "cppn", 3)
    with ray_evaluator(
        lenet_target, "cppn", 1, worker_class=DiesInGeneration2, max_restarts=0
    ) as evaluator:
        with pytest.raises(WorkersLost, match="checkpoint at generation 1; continue with"):
            run(tmp_path / "lost", lenet_target, "cppn", 3, evaluator)
        assert evaluator.workers_alive == 0
    summary = json.loads((tmp_path / "lost" / "summary.json").read_text())
    assert summary["stop_reason"] == "workers_lost" and summary["generations"] == 1
    resumed = run(tmp_path / "lost", lenet_target, "cppn", 3, resume=True)
    assert_same_run(local, resumed)


def test_ray_then_in_process_equals_in_process(ray_session, lenet_target, tmp_path) -> None:
    local = run(tmp_path / "local", lenet_target, "direct", 6)
    with ray_evaluator(lenet_target, "direct", 2) as evaluator:
        run(tmp_path / "mixed", lenet_target, "direct", 3, evaluator)
    mixed = run(tmp_path / "mixed", lenet_target, "direct", 6, resume=True)
    assert_same_run(local, mixed)


def test_a_hung_worker_is_restarted_and_its_chunk_resent(
    ray_session, lenet_target, tmp_path
) -> None:
    local = run(tmp_path / "local", lenet_target, "direct", 2)
    with ray_evaluator(lenet_target, "direct", 2, worker_class=HangsOnce, timeout_s=8) as evaluator:
        remote = run(tmp_path / "ray", lenet_target, "direct", 2, evaluator)
        assert evaluator.retries >= 1
    assert_same_run(local, remote)


def test_a_study_that_loses_its_workers_names_its_own_resume_command(
    ray_session, lenet_target, tmp_path
) -> None:
    """A retraining round's run stops as a lone run does, but the message continues the study."""
    from fooling.run_spec import run_spec
    from fooling.studies.study import run_round

    encoding = encoding_for("cppn")
    with ray_evaluator(
        lenet_target, "cppn", 1, worker_class=DiesInGeneration2, max_restarts=0
    ) as evaluator:
        with pytest.raises(WorkersLost) as lost:
            run_round(
                tmp_path / "round_1",
                1,
                [],
                lenet_target,
                encoding,
                lambda run: run_spec(
                    {
                        "target_options": lenet_target.options,
                        "encoding": "cppn",
                        "batch": BATCH,
                        "seed": 3,
                        "max_generations": 3,
                        "chunk": CHUNK,
                    }
                ),
                progress=False,
                where="round 1, run {run}",
                resume_command="fooling retrain --resume --out study",
                on_run_done=lambda run, summary: None,
                evaluators=lambda *_: evaluator,
            )
    message = str(lost.value)
    assert "checkpoint at generation 1 in round 1, run 1" in message
    assert message.endswith("continue with: fooling retrain --resume --out study")
    assert "fooling evolve" not in message
