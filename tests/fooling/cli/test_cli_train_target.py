"""``fooling train-target --distill-temperature``: a real (small) distillation through the
command, its record beside the copied weights, the weights as a target; bad T is one line."""

from __future__ import annotations

import json

import pytest
from cli_helpers import assert_one_line_error, run_cli

from fitness.builtin import load_digits
from fooling.api import read_run


def write_idx(path, array) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    path.write_bytes(header + array.astype("uint8").tobytes())


@pytest.fixture(scope="module")
def small_mnist(tmp_path_factory):
    """600 training and 200 test digits of the bundled real ones, as MNIST IDX files."""
    digits = load_digits(None)
    folder = tmp_path_factory.mktemp("mnist_small")
    write_idx(folder / "train-images-idx3-ubyte", digits.train_images[::6][:600])
    write_idx(folder / "train-labels-idx1-ubyte", digits.train_labels[::6][:600])
    write_idx(folder / "t10k-images-idx3-ubyte", digits.test_images[::5])
    write_idx(folder / "t10k-labels-idx1-ubyte", digits.test_labels[::5])
    return folder


def test_distilled_target_is_trained_recorded_and_usable(
    small_mnist, tmp_path, capsys, monkeypatch
):
    # Its own cache, so the session's (which other tests count) holds only what they train.
    monkeypatch.setenv("FOOLING_HOME", str(tmp_path / "home"))
    weights = tmp_path / "lenet_T5.pt"
    code, stdout, err = run_cli(
        capsys, "train-target", "mnist-lenet", "--data-dir", small_mnist,
        "--distill-temperature", "5", "--epochs", "1", "--out", weights, "-q",
    )  # fmt: skip
    assert code == 0, err
    assert "distilled at T=5" in stdout and "teacher test accuracy" in stdout
    record = json.loads((tmp_path / "lenet_T5.pt.json").read_text())
    assert record["distill_temperature"] == 5.0
    assert record["settings"]["distill_temperature"] == 5.0
    assert record["test_size"] == 200 and 0.0 <= record["test_accuracy"] <= 1.0
    assert f"{record['test_accuracy']:.4f}" in stdout
    cached = sorted(p.name for p in (tmp_path / "home" / "targets").glob("*.pt"))
    assert len(cached) == 2 and cached[0].endswith("-teacher.pt")  # teacher and student
    # The student is a plain LeNet state dict: evolve takes it as --weights.
    run = tmp_path / "run"
    code, _, err = run_cli(
        capsys, "evolve", "--target", "mnist-lenet", "--weights", weights,
        "--max-generations", "2", "--batch", "10", "--out", run, "-q",
    )  # fmt: skip
    assert code == 0, err
    assert read_run(run).archive.occupied.any()


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "hot"])
def test_bad_temperature_is_one_line(value, tmp_path, capsys):
    out = tmp_path / "w.pt"
    code, _, err = run_cli(
        capsys, "train-target", "mnist-lenet", "--distill-temperature", value, "--out", out
    )
    assert_one_line_error(code, err, "--distill-temperature")
    assert not out.exists()
