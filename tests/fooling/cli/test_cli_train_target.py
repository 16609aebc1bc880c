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


def test_pgd_trained_target_records_its_robust_accuracy_and_is_usable(
    small_mnist, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("FOOLING_HOME", str(tmp_path / "home"))
    weights = tmp_path / "lenet_pgd.pt"
    code, stdout, err = run_cli(
        capsys, "train-target", "mnist-lenet", "--data-dir", small_mnist, "--adversarial", "pgd",
        "--epsilon", "0.3", "--pgd-steps", "2", "--pgd-step-size", "0.2", "--epochs", "1",
        "--pgd-warmup-epochs", "0", "--out", weights, "-q",
    )  # fmt: skip
    assert code == 0, err
    record = json.loads((tmp_path / "lenet_pgd.pt.json").read_text())
    assert record["adversarial"] == "pgd"
    given = {"adversarial": "pgd", "epsilon": 0.3, "pgd_steps": 2, "pgd_step_size": 0.2,
             "pgd_warmup_epochs": 0}  # fmt: skip
    assert record["settings"].items() >= given.items()
    assert record["pgd_attack"] == {"epsilon": 0.3, "steps": 2, "step_size": 0.2,
                                    "random_start": True}  # fmt: skip
    assert record["strong_pgd_attack"]["steps"] == 40
    for key in ("test_accuracy", "pgd_test_accuracy", "strong_pgd_test_accuracy"):
        assert 0.0 <= record[key] <= 1.0
    # 200 test digits: every accuracy is a count of them.
    assert round(record["pgd_test_accuracy"] * 200, 9) == int(record["pgd_test_accuracy"] * 200)
    assert "PGD-trained at epsilon 0.3" in stdout
    assert f"PGD test accuracy {record['pgd_test_accuracy']:.4f} (2 steps of 0.2" in stdout
    assert len(list((tmp_path / "home" / "targets").glob("*.pt"))) == 1
    # Defaults fill the attack in: 10 steps of 2.5 * 0.3 / 10 (a new cache entry, not trained
    # here: the settings are what the record would say).
    from fooling.cli.train_target import pgd_settings

    attack = {"epsilon": None, "pgd_steps": None, "pgd_step_size": None, "pgd_warmup_epochs": None}
    assert pgd_settings("pgd", None, attack) == {"adversarial": "pgd", "epsilon": 0.3,
        "pgd_steps": 10, "pgd_step_size": pytest.approx(0.075), "pgd_warmup_epochs": 3}  # fmt: skip
    run = tmp_path / "run"
    code, _, err = run_cli(
        capsys, "evolve", "--target", "mnist-lenet", "--weights", weights,
        "--max-generations", "2", "--batch", "10", "--out", run, "-q",
    )  # fmt: skip
    assert code == 0, err
    assert read_run(run).archive.occupied.any()


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (["--adversarial", "pgd", "--epsilon", "0"], "--epsilon"),
        (["--adversarial", "pgd", "--epsilon", "1.5"], "--epsilon"),
        (["--adversarial", "pgd", "--epsilon", "nan"], "--epsilon"),
        (["--adversarial", "pgd", "--epsilon", "wide"], "--epsilon"),
        (["--adversarial", "pgd", "--pgd-steps", "0"], "--pgd-steps"),
        (["--adversarial", "pgd", "--pgd-step-size", "-0.1"], "--pgd-step-size"),
        (["--adversarial", "fgsm"], "--adversarial"),
        (["--epsilon", "0.3"], "--epsilon needs --adversarial pgd"),
        (["--adversarial", "pgd", "--distill-temperature", "5"], "exclude each other"),
    ],
    ids=["zero", "above-one", "nan", "word", "steps", "step-size", "method", "alone", "distil"],
)
def test_bad_adversarial_options_are_one_line(options, fragment, tmp_path, capsys):
    out = tmp_path / "w.pt"
    code, _, err = run_cli(capsys, "train-target", "mnist-lenet", *options, "--out", out)
    assert_one_line_error(code, err, fragment)
    assert not out.exists()
