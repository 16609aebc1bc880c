"""Bad input: one line naming the problem, exit status 2, no traceback, nothing on disk damaged."""

from __future__ import annotations

import json
import shutil

import click
import numpy as np
import pytest
import torch
from cli_helpers import assert_one_line_error, run_cli, snapshot
from faults import edit_npz, read_json_field, swap_file, truncate_file

from fitness.builtin import save_state_dict


@pytest.fixture(scope="module")
def model_files(tmp_path_factory, exported_lenet):
    folder = tmp_path_factory.mktemp("models")
    shutil.copy(exported_lenet, folder / "lenet.pt2")
    (folder / "junk.pt2").write_bytes(b"\x00not a model" * 20)
    (folder / "three.txt").write_text("a\nb\nc\n")
    save_state_dict(torch.nn.Linear(3, 3), folder / "linear.pt")
    return folder


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--target", "alexnet-imagenet-9000"], ["unknown target 'alexnet-imagenet-9000'"]),
        (
            ["--target", "{models}/junk.pt2", "--input-shape", "1,28,28"],
            ["junk.pt2 is not a loadable torch.export program"],
        ),
        (["--weights", "{models}/linear.pt"], ["linear.pt"]),
        (["--weights", "{models}/missing.pt"], ["weights file not found"]),
        (
            [
                "--target",
                "{models}/lenet.pt2",
                "--input-shape",
                "1,28,28",
                "--class-names",
                "{models}/three.txt",
            ],
            ["expected [N, 3] (3 class names)"],
        ),
        (
            ["--target", "{models}/lenet.pt2", "--input-shape", "1,32,32"],
            ["model fails on input of shape [N, 1, 32, 32]"],
        ),
        (["--target", "{models}/lenet.pt2", "--input-shape", "1,28"], ["needs exactly 3 values"]),
        (
            ["--target", "model_factories:nan_model", "--input-shape", "1,28,28"],
            ["model returned NaN or inf"],
        ),
        (["--batch", "many"], ["'many' is not a valid integer"]),
        (["--batch", "0"], ["--batch", "0 is not in the range x>=1"]),
        (["--until", "1.5"], ["--until", "1.5 is not in the range"]),
        (["--time-limit", "-3"], ["--time-limit"]),
        (["--encoding", "bitmap"], ["'bitmap' is not one of"]),
        (["--only-classes", "3,eleven"], ["'eleven' is neither a class name nor a class index"]),
        (["--no-such-option"], ["No such option '--no-such-option'"]),
        (
            ["--device", "cuda:7"] if not torch.cuda.is_available() else ["--device", "tpu"],
            ["device"],
        ),
        (["--device", "tpu"], ["device must be auto, cpu, cuda or cuda:N, got 'tpu'"]),
        (["--until", "nan"], ["--until", "'nan' is not a finite number"]),
        (["--threshold", "inf"], ["--threshold", "not a finite number"]),
        (["--mutation-rate", "nan"], ["--mutation-rate", "not a finite number"]),
        (["--mutation-eta", "inf"], ["--mutation-eta", "not a finite number"]),
        (["--crossover-eta", "-inf"], ["--crossover-eta", "not a finite number"]),
        (["--time-limit", "inf"], ["--time-limit", "not a finite number"]),
        (["--input-scale", "nan"], ["--input-scale", "not a finite number"]),
        (["--batch", "10000000000"], ["--batch 10,000,000,000", "needs about", "available"]),
        (
            ["--batch", "10", "--initial-population", "10000000000"],
            ["--initial-population 10,000,000,000", "needs about"],
        ),
    ],
)
def test_bad_options_for_a_new_run(tmp_path, capsys, model_files, args, fragments):
    args = [a.replace("{models}", str(model_files)) for a in args]
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "evolve", "--max-generations", "2", "--out", run, "-q", *args)
    assert_one_line_error(code, err, *fragments)
    assert not run.exists()  # nothing created for a run that could not start


def test_existing_run_dir_needs_resume_or_overwrite(run_copy, capsys):
    before = snapshot(run_copy)
    code, _, err = run_cli(capsys, "evolve", "--max-generations", "2", "--out", run_copy)
    assert_one_line_error(code, err, "already holds a run", "--resume", "--overwrite")
    assert snapshot(run_copy) == before


def test_overwrite_keeps_files_that_are_not_the_runs(run_copy, capsys):
    (run_copy / "notes.txt").write_text("mine")
    code, _, err = run_cli(
        capsys,
        "evolve",
        "--max-generations",
        "1",
        "--batch",
        "10",
        "--out",
        run_copy,
        "--overwrite",
        "-q",
    )
    assert code == 0, err
    assert (run_copy / "notes.txt").read_text() == "mine"


def test_corrupt_checkpoint(run_copy, capsys):
    data = bytearray((run_copy / "checkpoint.npz").read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64
    (run_copy / "checkpoint.npz").write_bytes(bytes(data))
    before = snapshot(run_copy)
    code, _, err = run_cli(
        capsys, "evolve", "--resume", "--max-generations", "9", "--out", run_copy
    )
    assert_one_line_error(code, err, "checkpoint", "corrupt")
    assert snapshot(run_copy) == before


def test_truncated_checkpoint(run_copy, capsys):
    path = run_copy / "checkpoint.npz"
    truncate_file(path, keep=100 / path.stat().st_size)
    before = snapshot(run_copy)
    code, _, err = run_cli(capsys, "evolve", "--resume", "--out", run_copy)
    assert_one_line_error(code, err, "checkpoint.npz", "corrupt")
    assert snapshot(run_copy) == before


def with_run_id(run_state: np.ndarray, run_id: str) -> np.ndarray:
    """A checkpoint's run state (JSON text) with another run id."""
    return np.array(json.dumps({**json.loads(str(run_state)), "run_id": run_id}))


def test_foreign_checkpoint(run_copy, tmp_path, capsys):
    other = tmp_path / "other"
    code, _, err = run_cli(
        capsys,
        "evolve",
        "--only-classes",
        "1,2",
        "--max-generations",
        "2",
        "--batch",
        "10",
        "--out",
        other,
        "-q",
    )
    assert code == 0, err
    swap_file(other / "checkpoint.npz", run_copy / "checkpoint.npz")
    before = snapshot(run_copy)
    code, _, err = run_cli(
        capsys, "evolve", "--resume", "--max-generations", "9", "--out", run_copy
    )
    assert_one_line_error(code, err, "checkpoint.npz is not this run's", "belongs to run")
    assert snapshot(run_copy) == before
    # The same checkpoint claiming this run's id: its classes still give it away.
    run_id = read_json_field(run_copy / "config.json", "run_id")
    edit_npz(run_copy / "checkpoint.npz", "run_state", lambda text: with_run_id(text, run_id))
    before = snapshot(run_copy)
    code, _, err = run_cli(
        capsys, "evolve", "--resume", "--max-generations", "9", "--out", run_copy
    )
    assert_one_line_error(code, err, "foreign", "classes differ")
    assert snapshot(run_copy) == before
    np.savez(run_copy / "checkpoint.npz", weights=np.zeros(3))
    code, _, err = run_cli(capsys, "evolve", "--resume", "--out", run_copy)
    assert_one_line_error(code, err, "foreign")


def test_resume_errors(tmp_path, run_copy, capsys):
    code, _, err = run_cli(capsys, "evolve", "--resume", "--out", tmp_path / "missing")
    assert_one_line_error(code, err, "no such run directory")
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(capsys, "evolve", "--resume", "--out", tmp_path / "empty")
    assert_one_line_error(code, err, "no config.json")
    before = snapshot(run_copy)
    code, _, err = run_cli(capsys, "evolve", "--resume", "--batch", "10", "--out", run_copy)
    assert_one_line_error(code, err, "--batch cannot change on --resume")
    (run_copy / "config.json").write_text("{ not json")
    before = snapshot(run_copy)
    code, _, err = run_cli(capsys, "evolve", "--resume", "--out", run_copy)
    assert_one_line_error(code, err, "config.json", "corrupt")
    assert snapshot(run_copy) == before


def test_gallery_and_plot_on_a_folder_that_is_not_a_run(tmp_path, capsys):
    code, _, err = run_cli(capsys, "gallery", tmp_path)
    assert_one_line_error(code, err, "no config.json")
    code, _, err = run_cli(capsys, "plot", tmp_path)
    assert_one_line_error(code, err, "no config.json")
    code, _, err = run_cli(capsys, "gallery", tmp_path / "missing")
    assert_one_line_error(code, err, "no such run directory")


def test_every_command_has_help(capsys):
    for command in ([], ["evolve"], ["gallery"], ["plot"], ["train-target"]):
        code, out, _ = run_cli(capsys, *command, "--help")
        assert code == 0 and "Usage:" in out


def test_bad_cppn_config_and_colour(tmp_path, capsys, lenet_target):
    config = tmp_path / "user.cfg"
    config.write_text("[DefaultGenome]\nnode_add_prob = 1.5\n")
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "evolve", "--encoding", "cppn", "--cppn-config", config,
                           "--out", run, "-q")  # fmt: skip
    assert_one_line_error(code, err, "node_add_prob")
    code, _, err = run_cli(capsys, "evolve", "--encoding", "cppn", "--cppn-config",
                           tmp_path / "missing.cfg", "--out", run, "-q")  # fmt: skip
    assert_one_line_error(code, err, "missing.cfg")
    code, _, err = run_cli(capsys, "evolve", "--color", "hls", "--out", run, "-q")
    assert_one_line_error(code, err, "hls")
    assert not run.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_asking_for_a_gpu_without_one_is_a_one_line_error(tmp_path, capsys):
    for command in ("evolve", "retrain"):
        code, _, err = run_cli(
            capsys, command, "--device", "cuda", "--encoding", "direct", "--out", tmp_path / command
        )
        assert_one_line_error(code, err, "no CUDA GPU")
        assert not (tmp_path / command).exists()


def test_every_float_option_refuses_nan_and_infinity():
    from fooling.cli import cli
    from fooling.cli.param_types import FiniteFloat

    def float_params(command, path=()):
        for name, sub in getattr(command, "commands", {}).items():
            yield from float_params(sub, (*path, name))
        for param in command.params:
            if isinstance(param.type, click.types.FloatParamType):
                yield " ".join(path), param.name, param.type

    found = list(float_params(cli))
    assert len(found) >= 8
    for command, name, kind in found:
        assert isinstance(kind, FiniteFloat), f"fooling {command} --{name} takes NaN"


def test_gallery_size_beyond_memory_is_one_line_and_writes_nothing(run_copy, capsys):
    before = snapshot(run_copy)
    code, _, err = run_cli(capsys, "gallery", run_copy, "--size", "10000000")
    assert_one_line_error(code, err, "--size 10,000,000", "needs about", "available")
    assert snapshot(run_copy) == before
    assert not (run_copy / "gallery").exists()


def test_a_model_that_misbehaves_mid_run_stops_it_with_one_line(tmp_path, capsys):
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "evolve", "--target", "model_factories:drops_a_row_later",
                           "--input-shape", "1,28,28", "--random-weights", "--batch", "4",
                           "--max-generations", "3", "--out", run, "-q")  # fmt: skip
    assert_one_line_error(code, err, "model output has shape (3, 10) for a batch of 4")


def test_random_weights_factory_run_resumes(tmp_path, capsys):
    run = tmp_path / "run"
    args = ["--target", "model_factories:lenet", "--input-shape", "1,28,28", "--batch", "6"]
    code, _, err = run_cli(capsys, "evolve", *args, "--max-generations", "2", "--out", run, "-q")
    assert code == 0 and "warning: model_factories:lenet has no --weights" in err
    code, _, err = run_cli(capsys, "evolve", *args, "--random-weights", "--max-generations", "2",
                           "--out", run, "--overwrite", "-q")  # fmt: skip
    assert code == 0 and err == "", err
    assert json.loads((run / "config.json").read_text())["target"]["random_weights"] is True
    code, _, err = run_cli(
        capsys, "evolve", "--resume", "--max-generations", "4", "--out", run, "-q"
    )
    assert code == 0 and err == "", err
    assert json.loads((run / "summary.json").read_text())["generations"] == 4
