"""End to end from the shell: evolve against the really trained LeNet, gallery, plot, resume."""

from __future__ import annotations

import json
import signal
import time

import numpy as np
import pytest
from cli_helpers import assert_same_run, evolve_whole_and_resumed, run_cli, spawn_cli
from tolerances import ACROSS_BATCHES

from archives.elite_archive import read_npz


def read_metrics(run_dir) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_evolve_fools_all_ten_digits_then_gallery_and_plot(tmp_path, capsys, lenet_target):
    run = tmp_path / "run"
    code, out, err = run_cli(
        capsys,
        "evolve",
        "--until",
        "0.99",
        "--max-generations",
        "400",
        "--seed",
        "1",
        "--out",
        run,
        "-q",
    )
    assert code == 0, err
    assert "10/10 classes >= 0.99" in out
    summary = json.loads((run / "summary.json").read_text())
    assert summary["stop_reason"] == "threshold"
    assert summary["classes_at_threshold"] == 10
    assert min(summary["best_confidence"].values()) >= 0.99
    assert summary["target_queries"] == summary["evaluations"]
    assert summary["all_at_threshold"]["generation"] == summary["generations"]
    metrics = read_metrics(run)
    assert [m["generation"] for m in metrics] == list(range(summary["generations"] + 1))
    assert metrics[-1]["evaluations"] == summary["evaluations"]
    config = json.loads((run / "config.json").read_text())
    assert config["seed"] == 1 and config["encoding"]["name"] == "direct"

    # The archive's confidences are the model's, recomputed from the stored genomes.
    archive = read_npz(run / "archive.npz")
    genes = archive["genome/genes"]
    images = np.floor(genes * np.float32(255)) / np.float32(255)
    rescored = lenet_target.probabilities(images.reshape(-1, 1, 28, 28))
    np.testing.assert_allclose(
        rescored[np.arange(10), np.arange(10)], archive["fitness"], **ACROSS_BATCHES
    )

    code, out, err = run_cli(capsys, "gallery", run, "--size", "112", "-q")
    assert code == 0, err
    gallery = json.loads((run / "gallery" / "gallery.json").read_text())
    assert [c["class"] for c in gallery["cells"]] == [str(d) for d in range(10)]
    for cell in gallery["cells"]:
        assert (run / "gallery" / cell["png"]).is_file()
        assert cell["confidence_png"] >= 0.99  # the 8-bit PNG keeps its confidence
        assert cell["png_argmax"] == cell["class"]
    assert (run / "gallery" / "grid.png").stat().st_size > 1000
    assert len(list((run / "gallery" / "elites").glob("*_112.png"))) == 10
    assert all((run / "gallery" / c["png_large"]).is_file() for c in gallery["cells"])

    # --max-generations on --resume replaces the stored stop conditions: the run continues past
    # the --until it had met, and still reports when every class first reached 0.99.
    end = summary["generations"] + 5
    code, out, err = run_cli(capsys, "evolve", "--resume", "--max-generations", end, "--out", run,
                             "-q")  # fmt: skip
    assert code == 0, err
    resumed = json.loads((run / "summary.json").read_text())
    assert resumed["generations"] == end and resumed["stop_reason"] == "max_generations"
    assert resumed["all_at_threshold"] == summary["all_at_threshold"]
    code, out, err = run_cli(capsys, "evolve", "--resume", "--until", "0.9", "--out", run, "-q")
    assert code == 0, err
    first = next(m for m in read_metrics(run) if min(m["best_confidence"]) >= 0.9)
    reached = json.loads((run / "summary.json").read_text())["all_at_threshold"]
    assert reached["threshold"] == 0.9 and reached["generation"] == first["generation"]

    code, out, err = run_cli(capsys, "plot", run)
    assert code == 0, err
    assert (run / "confidence.png").stat().st_size > 1000


@pytest.mark.parametrize(
    "variation",
    [["--crossover-rate", "0.0"], ["--crossover-rate", "0.5"], ["--encoding", "cppn"]],
    ids=["direct", "direct-sbx", "cppn"],
)
def test_resumed_run_ends_exactly_like_an_uninterrupted_one(tmp_path, capsys, variation):
    assert_resume_is_exact(tmp_path, capsys, variation)


def test_resume_is_exact_where_ties_are_broken_by_log_odds(
    tmp_path, capsys, saturated_lenet_weights
):
    """Against a LeNet whose logits are 100 times larger most probabilities are exactly 0 or 1;
    the log-odds that rank them are checkpointed and a resumed run makes the same choices."""
    assert_resume_is_exact(tmp_path, capsys, ["--weights", str(saturated_lenet_weights)])
    archive = read_npz(tmp_path / "b" / "archive.npz")
    fitness, log_odds, found = archive["fitness"], archive["log_odds"], archive["generation"]
    # Ties were broken: a cell already at its final probability, exactly 0 or 1, at some
    # generation, whose elite was replaced later (only an equal probability can replace it).
    history = np.array([m["best_confidence"] for m in read_metrics(tmp_path / "b")])
    reached = np.argmax(history == fitness, axis=0)  # first generation at the final value
    saturated = (fitness == 0.0) | (fitness == 1.0)
    assert (saturated & (found > reached)).any() and np.isfinite(log_odds).all()
    summary = json.loads((tmp_path / "b" / "archive.json").read_text())
    assert [c["log_odds"] for c in summary["cells"]] == log_odds.tolist()


def assert_resume_is_exact(tmp_path, capsys, variation: list[str]) -> None:
    """30 generations in one go equal 12, then a resume to 30 (checkpoints every 5)."""
    common = ["--seed", "7", "--batch", "50", "--checkpoint-every", "5", "-q", *variation]
    assert_same_run(*evolve_whole_and_resumed(capsys, tmp_path, common, 30, 12))
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["generations"] == 30 and summary["target_queries"] == 31 * 50


def wait_for_checkpoint(run_dir, process, min_generation: int) -> None:
    deadline = time.time() + 120
    while time.time() < deadline:
        assert process.poll() is None, process.communicate()
        path = run_dir / "checkpoint.npz"
        if path.exists():
            try:
                state = json.loads(str(read_npz(path)["run_state"]))
                if state["generation"] >= min_generation:
                    return
            except Exception:  # caught mid-rename: try again
                pass
        time.sleep(0.05)
    raise AssertionError("no checkpoint appeared")


def checkpoint_generation(run_dir) -> int:
    return json.loads(str(read_npz(run_dir / "checkpoint.npz")["run_state"]))["generation"]


def test_kill_9_then_resume_matches_the_uninterrupted_run(tmp_path, capsys, lenet_target):
    run = tmp_path / "killed"
    args = ["--seed", "3", "--batch", "50", "--checkpoint-every", "4", "-q"]
    process = spawn_cli("evolve", "--max-generations", "100000", "--out", run, *args)
    wait_for_checkpoint(run, process, 8)
    process.kill()  # SIGKILL: no handler runs, the last checkpoint is all there is
    process.wait()
    end = checkpoint_generation(run) + 10
    code, _, err = run_cli(
        capsys, "evolve", "--resume", "--max-generations", end, "--out", run, "-q"
    )
    assert code == 0, err
    code, _, err = run_cli(
        capsys, "evolve", "--max-generations", end, "--out", tmp_path / "whole", *args
    )
    assert code == 0, err
    assert_same_run(run, tmp_path / "whole")


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_checkpoints_and_exits(tmp_path, capsys, signum, status):
    run = tmp_path / "interrupted"
    process = spawn_cli(
        "evolve",
        "--max-generations",
        "100000",
        "--seed",
        "2",
        "--batch",
        "50",
        "--checkpoint-every",
        "1000",
        "--out",
        run,
        "-q",
    )
    deadline = time.time() + 120
    while not (run / "metrics.jsonl").exists() or not (run / "metrics.jsonl").read_text():
        assert time.time() < deadline and process.poll() is None
        time.sleep(0.05)
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    assert process.returncode == status
    assert "interrupted at generation" in err and "Traceback" not in err
    generation = checkpoint_generation(run)
    assert read_metrics(run)[-1]["generation"] == generation
    assert json.loads((run / "summary.json").read_text())["stop_reason"] == "interrupted"
    code, _, err = run_cli(
        capsys, "evolve", "--resume", "--max-generations", generation + 3, "--out", run, "-q"
    )
    assert code == 0, err
    assert read_metrics(run)[-1]["generation"] == generation + 3


def test_a_cppn_run_does_not_need_its_config_file_again(tmp_path, capsys, lenet_target):
    user = tmp_path / "mine.cfg"
    user.write_text("[DefaultGenome]\nnode_add_prob = 0.9\n")
    run = tmp_path / "run"
    args = ["evolve", "-e", "cppn", "--cppn-config", user, "--batch", "20", "--out", run, "-q"]
    code, _, err = run_cli(capsys, *args, "--max-generations", "2")
    assert code == 0, err
    user.unlink()
    config = json.loads((run / "config.json").read_text())
    assert "node_add_prob = 0.9" in config["encoding"]["profile"]
    code, _, err = run_cli(capsys, "evolve", "--resume", "--out", run, "--max-generations", "4")
    assert code == 0, err
    code, _, err = run_cli(capsys, "gallery", run, "-q")
    assert code == 0, err
