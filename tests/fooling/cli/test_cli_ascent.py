"""``fooling ascent``: gradient ascent fools LeNet on every digit, PGD and FGSM keep their
epsilon on the saved 8-bit images, the run directory is one gallery reads, bad input is one line.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, run_cli

from archives.elite_archive import read_npz
from fooling.api import read_run


def summary_of(run_dir):
    return json.loads((run_dir / "summary.json").read_text())


def test_ascent_reaches_99_99_on_lenet_and_gallery_reads_it(lenet_target, tmp_path, capsys):
    run_dir = tmp_path / "ascent"
    code, out, err = run_cli(
        capsys, "ascent", "--until", "0.9999", "--steps", "200", "--out", run_dir, "-q"
    )
    assert code == 0, err
    summary = summary_of(run_dir)
    assert summary["stop_reason"] == "threshold"
    assert min(summary["best_confidence"].values()) >= 0.9999
    steps = summary["steps"]
    # One forward pass per step (10 images), a backward pass after each but the last.
    assert summary["forward_evaluations"] == summary["evaluations"] == 10 * (steps + 1)
    assert summary["backward_evaluations"] == 10 * steps
    assert summary["all_at_threshold"]["backward_evaluations"] == 10 * steps
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == steps + 1
    code, out, err = run_cli(capsys, "gallery", run_dir, "-q")
    assert code == 0, err
    cells = json.loads((run_dir / "gallery" / "gallery.json").read_text())["cells"]
    assert len(cells) == 10
    # The model scored exactly the 8-bit images the gallery wrote.
    assert min(cell["confidence_png"] for cell in cells) >= 0.9999


@pytest.mark.parametrize(
    ("norm", "epsilon", "steps", "lr"),
    [("linf", 0.1, 4, 0.03), ("l2", 1.5, 3, 0.6), ("linf", 0.2, 1, 0.2)],  # the last: FGSM
)
def test_pgd_keeps_epsilon_on_saved_images(
    lenet_target, tmp_path, capsys, norm, epsilon, steps, lr
):
    run_dir = tmp_path / "pgd"
    code, _, err = run_cli(
        capsys, "ascent", "--start", "test-images", "--epsilon", epsilon, "--norm", norm,
        "--steps", steps, "--lr", lr, "--out", run_dir, "-q",
    )  # fmt: skip
    assert code == 0, err
    starts = read_npz(run_dir / "starts.npz")
    run = read_run(run_dir)
    assert (starts["labels"] != run.archive.cell_classes).all()  # real digits of another class
    saved = np.rint(run.images() * 255.0).astype(np.int64)  # the 8-bit images, as the PNGs hold
    change = (saved - starts["images"].astype(np.int64)).reshape(len(saved), -1)
    size = np.abs(change).max(axis=1) if norm == "linf" else np.linalg.norm(change, axis=1)
    assert change.any()
    assert (size <= epsilon * 255.0 + 1e-6).all(), size / 255.0
    summary = summary_of(run_dir)
    assert summary["method"] == "pgd"
    assert summary["backward_evaluations"] == 10 * steps


def test_negative_epsilon_is_one_line(tmp_path, capsys):
    run_dir = tmp_path / "pgd"
    code, _, err = run_cli(
        capsys, "ascent", "--start", "test-images", "--epsilon", "-0.1", "--out", run_dir
    )
    assert_one_line_error(code, err, "--epsilon")
    code, _, err = run_cli(capsys, "ascent", "--epsilon", "0.1", "--out", run_dir)
    assert_one_line_error(code, err, "--start test-images")
    assert not run_dir.exists()


def test_default_step_is_madrys_rule_and_fgsm_steps_by_epsilon(lenet_target, tmp_path, capsys):
    from evolve.checkpoint import STATE_ARRAY_PREFIX
    from fooling.cli.ascent import step_length

    assert step_length(None, None, 1000) == 0.01
    assert step_length(None, 0.3, 500) == pytest.approx(2.5 * 0.3 / 500)
    assert step_length(None, 0.2, 1) == step_length(None, 0.2, 2) == 0.2  # never beyond EPS
    assert step_length(0.05, 0.2, 1) == 0.05  # asked for: kept
    run_dir = tmp_path / "fgsm"
    code, _, err = run_cli(
        capsys, "ascent", "--start", "test-images", "--epsilon", "0.2", "--steps", "1",
        "--out", run_dir, "-q",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads((run_dir / "ascent.json").read_text())["settings"]["lr"] == 0.2
    starts = read_npz(run_dir / "starts.npz")["images"].astype(np.float32) / np.float32(255.0)
    moved = read_npz(run_dir / "checkpoint.npz")[STATE_ARRAY_PREFIX + "ascent_images"]
    change = np.abs(moved - starts).reshape(len(moved), -1)
    # One sign step of EPS, clipped to [0, 1]: every image moves some pixel by exactly EPS.
    np.testing.assert_allclose(change.max(axis=1), 0.2, rtol=1e-6)
