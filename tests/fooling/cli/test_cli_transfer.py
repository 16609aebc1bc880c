"""``fooling transfer``: the run's own network reproduces its confidences, an independently
trained LeNet and a model file are scored, bad input is one line and exit status 2."""

from __future__ import annotations

import json

import numpy as np
from cli_helpers import assert_one_line_error, read_csv, run_cli, snapshot
from tolerances import ACROSS_BATCHES

from fooling.api import read_run


def read_rows(out):
    return read_csv(out / "transfer.csv")


def test_own_network_reproduces_the_runs_confidences(finished_run, tmp_path, capsys):
    before = snapshot(finished_run)
    out = tmp_path / "transfer"
    code, stdout, err = run_cli(
        capsys, "transfer", finished_run, "--to", "mnist-lenet", "--out", out, "-q"
    )
    assert code == 0, err
    rows = read_rows(out)
    run = read_run(finished_run)
    cells = np.flatnonzero(run.archive.occupied)
    assert [row["class"] for row in rows] == [run.archive.cell_names[c] for c in cells]
    assert all(row["same_network"] == "True" for row in rows)
    # Direct genomes express 8-bit images, so the run's own scores are those of its PNGs.
    np.testing.assert_allclose(
        [float(row["confidence"]) for row in rows], run.archive.fitness[cells], **ACROSS_BATCHES
    )
    np.testing.assert_allclose(
        [float(row["run_confidence"]) for row in rows], run.archive.fitness[cells]
    )
    argmax = run.archive.probabilities[cells].argmax(axis=1)
    assert [row["top1_class"] for row in rows] == [run.archive.class_names[a] for a in argmax]
    assert "(own)" in (out / "transfer.md").read_text()
    assert snapshot(finished_run) == before  # transfer only reads its runs


def test_independently_trained_lenet_and_a_model_file(
    finished_run, exported_lenet, tmp_path, capsys
):
    weights = tmp_path / "lenet_seed1.pt"
    code, _, err = run_cli(
        capsys,
        "train-target",
        "mnist-lenet",
        "--seed",
        "1",
        "--epochs",
        "1",
        "--out",
        weights,
        "-q",
    )
    assert code == 0, err
    out = tmp_path / "transfer"
    targets = ["mnist-lenet", f"mnist-lenet={weights}", str(exported_lenet)]
    args = [arg for target in targets for arg in ("--to", target)]
    code, stdout, err = run_cli(capsys, "transfer", finished_run, *args, "--out", out, "-q")
    assert code == 0, err
    rows = read_rows(out)
    by_target = {t: [r for r in rows if r["target"] == t] for t in targets}
    assert all(len(members) == len(rows) // 3 > 0 for members in by_target.values())
    own, other, exported = (by_target[t] for t in targets)
    assert {r["same_network"] for r in other} == {"False"}
    assert [r["confidence"] for r in other] != [r["confidence"] for r in own]
    # The .pt2 takes the run's input description and is the same network.
    np.testing.assert_allclose(
        [float(r["confidence"]) for r in exported],
        [float(r["confidence"]) for r in own],
        **ACROSS_BATCHES,
    )
    summary = json.loads((out / "transfer.json").read_text())
    assert len(summary["pairs"]) == 3
    text = (out / "transfer.md").read_text()
    assert f"mnist-lenet={weights}" in text and "The paper's finding" in text
    assert (out / "transfer.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_input_is_one_line(finished_run, tmp_path, capsys):
    out = tmp_path / "transfer"
    code, _, err = run_cli(capsys, "transfer", tmp_path, "--to", "mnist-lenet", "--out", out)
    assert_one_line_error(code, err, "not a fooling run directory")
    rgb = tmp_path / "rgb_models.py"
    rgb.write_text(
        "from torch import nn\n\n\ndef build():\n"
        "    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))\n"
    )
    code, _, err = run_cli(capsys, "transfer", finished_run, "--to", f"{rgb}:build", "--out", out)
    assert_one_line_error(code, err, "model fails on input of shape")
    assert not out.exists()
