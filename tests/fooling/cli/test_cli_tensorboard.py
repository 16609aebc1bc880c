"""``--tensorboard DIR`` of ``fooling evolve`` and ``fooling retrain``: a log TensorBoard reads,
continued on --resume with every step once; bad input is one line, exit 2, nothing written."""

from __future__ import annotations

import sys

import pytest
from cli_helpers import assert_one_line_error, run_cli, snapshot

pytest.importorskip("tensorboard")

from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)

RUN = ["--batch", "20", "--seed", "2", "--checkpoint-every", "3", "-q"]


def logged_steps(log_dir, tag: str = "best_confidence/5") -> list[int]:
    log = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "images": 0})
    log.Reload()
    return sorted(event.step for event in log.Scalars(tag))


def test_evolve_writes_a_log_and_resume_continues_it(lenet_target, tmp_path, capsys) -> None:
    run, log_dir = tmp_path / "run", tmp_path / "tb"
    code, _, err = run_cli(capsys, "evolve", *RUN, "--max-generations", "4", "--out", run,
                           "--tensorboard", log_dir)  # fmt: skip
    assert code == 0, err
    assert logged_steps(log_dir) == [0, 1, 2, 3, 4]
    code, _, err = run_cli(capsys, "evolve", "--resume", "--max-generations", "7", "--out", run,
                           "--tensorboard", log_dir, "-q")  # fmt: skip
    assert code == 0, err
    assert logged_steps(log_dir) == list(range(8))
    assert logged_steps(log_dir, "run/coverage") == list(range(8))


def test_a_new_run_does_not_mix_into_an_earlier_log(lenet_target, tmp_path, capsys) -> None:
    log_dir = tmp_path / "tb"
    code, _, err = run_cli(capsys, "evolve", *RUN, "--max-generations", "2",
                           "--out", tmp_path / "a", "--tensorboard", log_dir)  # fmt: skip
    assert code == 0, err
    before = snapshot(tmp_path)
    code, _, err = run_cli(capsys, "evolve", *RUN, "--max-generations", "2",
                           "--out", tmp_path / "b", "--tensorboard", log_dir)  # fmt: skip
    assert_one_line_error(code, err, "already holds a TensorBoard log", "--overwrite")
    assert snapshot(tmp_path) == before and not (tmp_path / "b").exists()
    code, _, err = run_cli(capsys, "evolve", *RUN, "--max-generations", "3", "--overwrite",
                           "--out", tmp_path / "b", "--tensorboard", log_dir)  # fmt: skip
    assert code == 0, err
    assert logged_steps(log_dir) == [0, 1, 2, 3]  # the earlier run's log replaced


@pytest.mark.parametrize("command", ["evolve", "retrain"])
def test_without_the_tensorboard_package_it_is_one_line(tmp_path, capsys, monkeypatch, command):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    (tmp_path / "keep.txt").write_text("untouched")
    before = snapshot(tmp_path)
    code, _, err = run_cli(capsys, command, "--max-generations", "2", "--out", tmp_path / "out",
                           "--tensorboard", tmp_path / "tb", "-q")  # fmt: skip
    assert_one_line_error(code, err, "tensorboard package", "fooling[tensorboard]")
    assert snapshot(tmp_path) == before and not (tmp_path / "out").exists()


def test_retrain_logs_each_run_at_its_place_in_the_study(lenet_target, tmp_path, capsys):
    import torch

    weights = tmp_path / "dnn_1.pt"
    torch.save(lenet_target.model.state_dict(), weights)
    study, log_dir = tmp_path / "study", tmp_path / "tb"
    code, _, err = run_cli(
        capsys, "retrain", "--weights", weights, "--rounds", "1", "--runs", "1", "--batch", "20",
        "--max-generations", "3", "--until", "0.99", "--collect-min", "0.2", "--per-round", "20",
        "--held-out", "2", "--epochs", "1", "--checkpoint-every", "2", "--device", "cpu",
        "--no-gallery", "--quiet", "--out", study, "--tensorboard", log_dir,
    )  # fmt: skip
    assert code == 0, err
    for round_dir in ("round_01", "round_02"):
        assert logged_steps(log_dir / round_dir / "run_1") == [0, 1, 2, 3], round_dir
