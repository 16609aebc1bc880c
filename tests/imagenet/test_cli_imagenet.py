"""The command line against a real ImageNet target: colour genomes, genome size, ten crops."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_helpers import run_cli

from archives.export import read_png

pytest.importorskip("efficientnet_lite_pytorch")

CLASSES = "king penguin,starfish"


def test_direct_hls_at_a_larger_genome_size_with_ten_crops(tmp_path, capsys):
    run = tmp_path / "run"
    code, out, err = run_cli(
        capsys,
        "evolve",
        *("--target", "imagenet-efficientnet-lite0", "--device", "cpu"),
        *("--encoding", "direct", "--color", "hls", "--crossover-rate", "0.5"),
        *("--genome-size", "232", "--crops", "ten", "--max-batch", "20"),
        *("--only-classes", CLASSES, "--batch", "2", "--max-generations", "1"),
        *("--out", run, "-q"),
    )
    assert code == 0, err
    config = json.loads((run / "config.json").read_text())
    assert config["target"]["image_size"] == [232, 232]
    assert config["target"]["crops"] == "ten" and config["target"]["precision"] == "fp32"
    assert config["encoding"]["color"] == "hls"
    assert (config["encoding"]["height"], config["encoding"]["width"]) == (232, 232)
    assert [config["class_names"][c] for c in config["cell_classes"]] == CLASSES.split(",")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["evaluations"] == summary["target_queries"] == 4  # images, not crops

    code, out, err = run_cli(capsys, "evolve", "--resume", "--max-generations", "2", "--out", run)
    assert code == 0, err
    assert json.loads((run / "summary.json").read_text())["evaluations"] == 6

    code, out, err = run_cli(capsys, "gallery", run, "-q")
    assert code == 0, err
    gallery = json.loads((run / "gallery" / "gallery.json").read_text())
    assert [cell["class"] for cell in gallery["cells"]] == CLASSES.split(",")
    png = read_png(run / "gallery" / gallery["cells"][0]["png"])
    assert png.shape == (3, 232, 232)
    assert np.abs(png[0] - png[1]).max() > 0  # colour, not grey
    for cell in gallery["cells"]:
        assert abs(cell["confidence_png"] - cell["confidence"]) < 1e-6  # 8-bit genes: lossless


def test_cppn_colour_run_and_bad_genome_sizes(tmp_path, capsys):
    run = tmp_path / "cppn"
    code, out, err = run_cli(
        capsys,
        "evolve",
        *("--target", "imagenet-efficientnet-lite0", "--device", "cpu", "--precision", "bf16"),
        *("--channels-last", "--encoding", "cppn", "--renderer", "numba"),
        *("--only-classes", CLASSES, "--batch", "3", "--max-generations", "1"),
        *("--out", run, "-q"),
    )
    assert code == 0, err
    config = json.loads((run / "config.json").read_text())
    assert config["target"]["precision"] == "bf16" and config["target"]["channels_last"] is True
    assert config["encoding"]["color"] == "hls" and config["encoding"]["height"] == 224

    code, out, err = run_cli(
        capsys,
        "evolve",
        *("--target", "imagenet-efficientnet-lite0", "--genome-size", "200", "--crops", "center"),
        *("--out", tmp_path / "bad", "-q"),
    )
    assert code == 2 and "need images at least that large" in err
    code, out, err = run_cli(
        capsys, "evolve", "--genome-size", "28,28,3", "--out", tmp_path / "bad", "-q"
    )
    assert code == 2 and "--genome-size" in err
