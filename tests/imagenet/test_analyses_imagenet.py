"""``fooling transfer`` and ``fooling repetition`` on a real (tiny) ImageNet CPPN run: the run's
own network reproduces its confidences, another EfficientNet of another input size scores the
same 8-bit images, and the repetition study re-scores every elite with the run's target."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_helpers import read_csv, run_cli
from tolerances import ACROSS_BATCHES

from fitness.imagenet import imagenet_class_names
from fooling.api import read_run

pytest.importorskip("efficientnet_lite_pytorch")

CLASSES = ["king penguin", "starfish"]


@pytest.fixture(scope="module")
def tiny_imagenet_run(tmp_path_factory):
    """Two CPPN colour images per generation against lite0, two generations: a handful of
    forward passes at 224 pixels, so the module stays cheap on two CPU cores."""
    from fooling.cli import main

    run = tmp_path_factory.mktemp("inet") / "run"
    main(
        [
            *("evolve", "--target", "imagenet-efficientnet-lite0", "--device", "cpu"),
            *("--encoding", "cppn", "--renderer", "numba", "--only-classes", ",".join(CLASSES)),
            *("--batch", "2", "--max-generations", "1", "--seed", "0", "--out", str(run), "-q"),
        ]
    )
    return run


def test_transfer_to_own_network_and_to_lite1(tiny_imagenet_run, tmp_path, capsys):
    out = tmp_path / "transfer"
    code, _, err = run_cli(
        capsys, "transfer", tiny_imagenet_run,
        *("--to", "imagenet-efficientnet-lite0", "--to", "imagenet-efficientnet-lite1"),
        *("--device", "cpu", "--out", out, "-q"),
    )  # fmt: skip
    assert code == 0, err
    rows = read_csv(out / "transfer.csv")
    assert sorted((row["target"], row["class"]) for row in rows) == [
        (target, name)
        for target in ("imagenet-efficientnet-lite0", "imagenet-efficientnet-lite1")
        for name in sorted(CLASSES)
    ]
    run = read_run(tiny_imagenet_run)
    own = [row for row in rows if row["same_network"] == "True"]
    assert [row["class"] for row in own] == CLASSES  # the run's cells, in order
    # CPPN pixels are 8-bit already, so lite0 gives the saved images the run's confidences.
    np.testing.assert_allclose(
        [float(row["confidence"]) for row in own], run.archive.fitness, **ACROSS_BATCHES
    )
    names = set(imagenet_class_names())
    other = [row for row in rows if row["same_network"] == "False"]
    assert all(row["top1_class"] in names for row in other)
    assert all(0.0 <= float(row["confidence"]) <= float(row["top1_confidence"]) for row in other)
    pairs = json.loads((out / "transfer.json").read_text())["pairs"]
    assert len(pairs) == 2
    assert (out / "transfer.png").stat().st_size > 1000
    assert "imagenet-efficientnet-lite1" in (out / "transfer.md").read_text()


def test_repetition_rescored_by_the_runs_target(tiny_imagenet_run, tmp_path, capsys):
    out = tmp_path / "repetition"
    code, stdout, err = run_cli(
        capsys, "repetition", tiny_imagenet_run, "--device", "cpu", "--out", out, "-q"
    )
    assert code == 0, err
    rows = read_csv(out / "repetition.csv")
    assert [row["class"] for row in rows] == CLASSES
    run = read_run(tiny_imagenet_run)
    np.testing.assert_allclose(
        [float(row["confidence_before"]) for row in rows], run.archive.fitness, **ACROSS_BATCHES
    )
    for row in rows:  # either a period was found and both arms scored, or neither was
        found = row["repetition"] == "True"
        assert (row["confidence_after"] != "") == found == (row["confidence_control"] != "")
        assert (int(row["pixels_changed"]) > 0) == found
    summary = json.loads((out / "repetition.json").read_text())["summary"]
    assert summary["elites"] == 2
