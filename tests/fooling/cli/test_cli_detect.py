"""``fooling detect``: a small real run against the real LeNet and real digits (bundled or a
folder); saturated logits still rank; bad input is one line and exit status 2."""

from __future__ import annotations

import json

import numpy as np
import torch
from cli_helpers import assert_one_line_error, read_csv, run_cli, snapshot
from PIL import Image

from fitness.builtin import load_digits
from fooling.api import read_run
from fooling.studies.detection import detector_scores, log_odds_against_top


def test_detect_a_real_run_against_the_bundled_test_digits(finished_run, tmp_path, capsys):
    before = snapshot(finished_run)
    out = tmp_path / "detect"
    code, stdout, err = run_cli(
        capsys, "detect", finished_run, "--target", "mnist-lenet", "--out", out, "-q"
    )
    assert code == 0, err
    run = read_run(finished_run)
    cells = np.flatnonzero(run.archive.occupied)
    rows = read_csv(out / "detection.csv")
    assert [row["class"] for row in rows] == [run.archive.cell_names[c] for c in cells]
    # The run's own network re-scores the 8-bit elites: MSP is the top-1 probability.
    top1 = run.archive.probabilities[cells].max(axis=1)
    np.testing.assert_allclose([float(r["msp"]) for r in rows], top1, rtol=1e-4, atol=1e-6)
    summary = json.loads((out / "detection.json").read_text())
    assert summary["reference"]["images"] == len(load_digits(None).test_labels)
    assert {row["detector"] for row in summary["summary"]} == {"msp", "energy"}
    for row in summary["summary"]:
        assert 0.0 <= row["auroc"] <= 1.0 and row["fooling_images"] == len(cells)
    assert (out / "roc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| max softmax probability |" in (out / "detection.md").read_text()
    assert "AUROC" in stdout
    assert snapshot(finished_run) == before  # detect only reads its runs


def test_real_digits_as_fooling_images_are_not_separated(tmp_path, lenet_target):
    """A check that the AUROC measures separation: two halves of the real test digits, one
    as "reference", the other as "fooling", give about 0.5 for both detectors."""
    from fooling.studies.detection import DETECTORS
    from fooling.studies.roc import auroc

    digits = load_digits(None).test_images[:, None].astype(np.float32) / 255.0
    a, b = detector_scores(lenet_target, digits[::2]), detector_scores(lenet_target, digits[1::2])
    for detector in DETECTORS:
        assert abs(auroc(a.flag(detector), b.flag(detector)) - 0.5) < 0.08


def test_reference_folder_and_overwrite(finished_run, tmp_path, capsys):
    digits = load_digits(None)
    folder = tmp_path / "real"
    for i in range(30):  # flat files and one sub-folder, both read
        target = folder / ("sub" if i % 2 else "") / f"{i:03d}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(digits.test_images[i]).save(target)
    out = tmp_path / "detect"
    args = ["detect", finished_run, "--target", "mnist-lenet", "--reference", folder, "--out", out]
    code, _, err = run_cli(capsys, *args, "-q")
    assert code == 0, err
    assert json.loads((out / "detection.json").read_text())["reference"]["images"] == 30
    code, _, err = run_cli(capsys, *args, "-q")
    assert_one_line_error(code, err, "--overwrite")
    code, _, err = run_cli(capsys, *args, "-q", "--overwrite")
    assert code == 0, err


def test_saturated_logits_still_rank(lenet_target):
    """A LeNet whose last layer is scaled by 1000 (as saturated as a distilled network): its
    float64 softmax gives exactly 1.0 to most digits, the log-odds still order them."""
    import copy

    model = copy.deepcopy(lenet_target.model)
    with torch.no_grad():
        model.fc2.weight.mul_(1000.0)
        model.fc2.bias.mul_(1000.0)
    images = load_digits(None).test_images[:200, None].astype(np.float32) / 255.0
    x = torch.from_numpy(images)
    with torch.inference_mode():
        logits = model(x).double()
    probabilities = logits.softmax(dim=1).max(dim=1).values
    assert (probabilities == 1.0).float().mean() > 0.5  # ties: MSP cannot rank these
    odds = log_odds_against_top(logits)
    top2 = logits.topk(2, dim=1).values
    gap = top2[:, 0] - top2[:, 1]
    # log((1 - p) / p) = logsumexp of the other logits minus the top one: between -gap and
    # -gap + log(9) for ten classes, so it keeps the order the logit gaps give.
    assert torch.all(odds >= -gap - 1e-6) and torch.all(odds <= -gap + np.log(9) + 1e-6)
    saturated = odds[probabilities == 1.0]
    assert len(torch.unique(saturated)) > 0.9 * len(saturated)


def test_bad_input_is_one_line(finished_run, tmp_path, capsys):
    out = tmp_path / "detect"
    code, _, err = run_cli(
        capsys, "detect", finished_run, "--target", "mnist-lenet",
        "--reference", tmp_path / "missing", "--out", out,
    )  # fmt: skip
    assert_one_line_error(code, err, "missing")
    assert not out.exists()
    code, _, err = run_cli(capsys, "detect", finished_run, "--target", "no-such-net", "--out", out)
    assert_one_line_error(code, err)
    code, _, err = run_cli(capsys, "detect", tmp_path / "nothing", "--target", "mnist-lenet",
                           "--out", out)  # fmt: skip
    assert_one_line_error(code, err)
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_cli(
        capsys, "detect", finished_run, "--target", "mnist-lenet", "--reference", empty,
        "--out", out,
    )  # fmt: skip
    assert_one_line_error(code, err, "at least 2 images")


def test_detect_has_help(capsys):
    code, out, _ = run_cli(capsys, "detect", "--help")
    assert code == 0 and "--reference" in out and "energy" in out
