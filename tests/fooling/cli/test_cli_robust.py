"""``fooling evolve --robust`` and ``fooling robustness`` end to end against the really trained
LeNet: exact resume, an identity SPEC equals a plain run, bad SPECs are one line and exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_helpers import (
    assert_one_line_error,
    assert_same_run,
    evolve_whole_and_resumed,
    final_state,
    read_csv,
    run_cli,
    snapshot,
)

from fooling.api import read_run

SPEC = "shift=2,rotate=10,scale=0.9:1.1,noise=0.02,jpeg=60:95"


@pytest.mark.parametrize("encoding", ["direct", "cppn"])
def test_robust_run_resumes_exactly(tmp_path, capsys, lenet_target, encoding):
    common = ["--seed", "4", "--batch", "20", "--checkpoint-every", "3", "-q", "-e", encoding,
              "--robust", SPEC, "--robust-samples", "3"]  # fmt: skip
    assert_same_run(*evolve_whole_and_resumed(capsys, tmp_path, common, 10, 4))
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    # Evaluations count genomes; the target scored 3 views of each, and of the 10 elites again
    # in each of the 10 generations after the first (--robust-elites paired, the default).
    assert summary["evaluations"] == 11 * 20
    assert summary["target_queries"] == 3 * (11 * 20 + 10 * 10)
    config = json.loads((tmp_path / "b" / "config.json").read_text())
    assert config["robust"]["samples"] == 3 and config["robust"]["reduce"] == "mean"
    assert config["robust"]["elites"] == "paired"
    assert config["robust"]["transforms"]["jpeg"] == [60.0, 95.0]


@pytest.mark.parametrize("elites", ["average", "rescore"])
def test_averaged_and_rescored_runs_resume_exactly(tmp_path, capsys, lenet_target, elites):
    common = ["--seed", "5", "--batch", "20", "--checkpoint-every", "3", "-q", "--robust", SPEC,
              "--robust-samples", "3", "--robust-elites", elites]  # fmt: skip
    assert_same_run(*evolve_whole_and_resumed(capsys, tmp_path, common, 9, 4))
    config = json.loads((tmp_path / "b" / "config.json").read_text())
    assert config["robust"]["elites"] == elites
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["target_queries"] == 3 * (10 * 20 + 9 * 10)  # elites rescored, as paired
    scorings = final_state(tmp_path / "b")["scorings"]
    if elites == "average":  # elites that survived generations average several scores
        assert scorings.max() > 1
    else:
        assert (scorings == 1).all()


def test_robust_fitness_differs_from_the_plain_score(tmp_path, capsys, lenet_target):
    run = tmp_path / "robust"
    args = ["--seed", "1", "--batch", "20", "--max-generations", "3", "-q"]
    code, _, err = run_cli(
        capsys, "evolve", "--out", run, *args, "--robust", SPEC, "--robust-samples", "4"
    )
    assert code == 0, err
    elites = read_run(run)
    cells = np.flatnonzero(elites.archive.occupied)
    plain = lenet_target.probabilities(elites.images())[np.arange(len(cells)), cells]
    assert not np.allclose(elites.archive.fitness[cells], plain, atol=1e-3)


def test_rescored_elites_can_lose_score_kept_ones_cannot(tmp_path, capsys, lenet_target):
    """With rescore an elite's score is its latest fresh estimate, so a class's best can fall
    from one generation to the next; with keep it is the luckiest draw and never falls."""
    falls = {}
    for policy in ("rescore", "keep"):
        run = tmp_path / policy
        code, _, err = run_cli(
            capsys, "evolve", "--out", run, "--seed", "3", "--batch", "20",
            "--max-generations", "8", "-q", "--robust", SPEC, "--robust-samples", "2",
            "--robust-elites", policy,
        )  # fmt: skip
        assert code == 0, err
        lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        best = np.array([line["best_confidence"] for line in lines])
        falls[policy] = int((np.diff(best, axis=0) < 0).sum())
    assert falls["keep"] == 0
    assert falls["rescore"] > 0


def test_identity_spec_with_one_sample_equals_a_plain_run(tmp_path, capsys, lenet_target):
    args = ["--seed", "2", "--batch", "30", "--max-generations", "8", "-q"]
    code, _, err = run_cli(capsys, "evolve", "--out", tmp_path / "plain", *args)
    assert code == 0, err
    code, _, err = run_cli(
        capsys, "evolve", "--out", tmp_path / "identity", *args,
        "--robust", "shift=0,rotate=0,scale=1", "--robust-samples", "1",
    )  # fmt: skip
    assert code == 0, err
    assert_same_run(tmp_path / "plain", tmp_path / "identity")


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--robust", "warp=3"], ["--robust", "unknown transform 'warp'"]),
        (["--robust", "jpeg=0:101"], ["--robust", "out of range"]),
        (["--robust", "rotate=10:5"], ["--robust", "low end"]),
        (["--robust", "color=0.1"], ["colour"]),
        (["--robust", "shift=2", "--robust-samples", "0"], ["--robust-samples"]),
        (["--robust-samples", "4"], ["--robust-samples needs --robust"]),
        (["--robust", "shift=2", "--robust-reduce", "max"], ["--robust-reduce"]),
        (["--robust-elites", "keep"], ["--robust-elites needs --robust"]),
        (["--robust", "shift=2", "--robust-samples", "10000000", "--batch", "1000"], ["memory"]),
    ],
)
def test_bad_robust_options_are_one_line(tmp_path, capsys, lenet_target, args, fragments):
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "evolve", "--max-generations", "2", "--out", run, *args)
    assert_one_line_error(code, err, *fragments)
    assert not run.exists()


def test_resume_checks_the_stored_robust_settings(run_copy, capsys):
    config_path = run_copy / "config.json"
    before = snapshot(run_copy)
    code, _, err = run_cli(capsys, "evolve", "--resume", "--robust", SPEC, "--out", run_copy)
    assert_one_line_error(code, err, "--robust cannot change on --resume")
    config = json.loads(config_path.read_text())
    config["robust"] = {"transforms": {"rotate": [-400, 10]}, "samples": 2, "reduce": "mean"}
    config_path.write_text(json.dumps(config))
    before = snapshot(run_copy)
    code, _, err = run_cli(capsys, "evolve", "--resume", "--out", run_copy, "-q")
    assert_one_line_error(code, err, "config.json", "robust", "rotate")
    assert snapshot(run_copy) == before


def read_rows(out):
    return read_csv(out / "robustness.csv")


def test_robustness_command_end_to_end(finished_run, tmp_path, capsys):
    before = snapshot(finished_run)
    out = tmp_path / "scores"
    args = [finished_run, "--transforms", "print-photo", "--samples", "12", "--out", out, "-q"]
    code, stdout, err = run_cli(capsys, "robustness", *args)
    assert code == 0, err
    assert "median clean" in stdout
    rows = read_rows(out)
    run = read_run(finished_run)
    cells = np.flatnonzero(run.archive.occupied)
    assert [row["class"] for row in rows] == [run.archive.cell_names[c] for c in cells]
    for row in rows:
        values = [float(row[k]) for k in ("min", "p5", "median", "mean")]
        assert 0.0 <= values[0] <= values[1] <= values[2] <= 1.0 and values[3] <= 1.0
        assert row["samples"] == "12" and row["evolved_with"] == "standard"
        assert 0.0 <= float(row["share_ge_0.5"]) <= 1.0
    summary = json.loads((out / "robustness.json").read_text())
    assert summary["transforms"] == "print-photo" and "color" in summary["transform_ranges"]
    assert "color" not in summary["runs"][0]["transform_ranges"]  # gray images: no colour shift
    assert summary["runs"][0]["evaluations"] == run.summary["evaluations"]
    assert (out / "grid_run.png").stat().st_size > 1000
    markdown = (out / "robustness.md").read_text()
    assert "| class | clean |" in markdown
    # The study reports through ``fooling report`` like every study: same markdown, a page.
    (out / "robustness.md").unlink()
    code, _, err = run_cli(capsys, "report", out, "--html")
    assert code == 0, err
    assert (out / "robustness.md").read_text() == markdown
    page = (out / "report" / "index.html").read_text()
    assert 'src="../grid_run.png"' in page and "Runs compared" in page
    # The same seed gives the same figures; another seed other draws.
    code, _, err = run_cli(capsys, "robustness", *args, "--overwrite", "--max-batch", "7")
    assert code == 0, err
    again = read_rows(out)
    for a, b in zip(rows, again, strict=True):
        np.testing.assert_allclose(float(a["mean"]), float(b["mean"]), rtol=1e-5, atol=1e-7)
    code, _, err = run_cli(capsys, "robustness", *args, "--overwrite", "--seed", "5")
    assert code == 0, err
    assert [r["mean"] for r in read_rows(out)] != [r["mean"] for r in rows]
    assert snapshot(finished_run) == before  # robustness only reads its runs


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--transforms", "zoom=2"], ["--transforms", "unknown transform 'zoom'"]),
        (["--transforms", "noise=3"], ["--transforms", "out of range"]),
        (["--transforms", "color=0.1"], ["colour"]),
        (["--transforms", "print-photo", "--samples", "0"], ["--samples"]),
    ],
)
def test_robustness_bad_input_is_one_line(finished_run, tmp_path, capsys, args, fragments):
    out = tmp_path / "scores"
    code, _, err = run_cli(capsys, "robustness", finished_run, "--out", out, *args)
    assert_one_line_error(code, err, *fragments)
    assert not (out / "robustness.csv").exists()


def test_robustness_refuses_to_overwrite_without_asking(finished_run, tmp_path, capsys):
    out = tmp_path / "scores"
    args = [finished_run, "--transforms", "shift=1", "--samples", "2", "--out", out, "-q"]
    assert run_cli(capsys, "robustness", *args)[0] == 0
    before = snapshot(out)
    code, _, err = run_cli(capsys, "robustness", *args)
    assert_one_line_error(code, err, "already holds a robustness study")
    assert snapshot(out) == before
