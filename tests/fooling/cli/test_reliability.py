"""Reliability of every command (docs/reliability.md), one test per category: a file of another
run or study is refused by name; work beyond the machine is refused before it starts; files read
back are validated before anything is written; a failing command leaves no folder it created;
class names follow one policy; the same input is not counted twice. Each damages a copy with the
fault-injection helpers of tests/support/faults.py and asks for one line, exit status 2 and
nothing on disk changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli
from faults import (
    DELETE,
    assert_refused,
    delete_file,
    edit_json,
    edit_npz,
    swap_file,
    truncate_file,
)

from fitness.class_names import MAX_CLASS_NAME, class_names_problem
from fitness.errors import TransformSpecError
from fitness.transforms import TransformSpec


@pytest.fixture(scope="module")
def other_run(tmp_path_factory, lenet_target) -> Path:
    """A second finished run of the same classes (another seed and batch)."""
    run = tmp_path_factory.mktemp("other") / "run"
    code = _evolve(["--seed", "1", "--batch", "30", "--max-generations", "4", "--out", run, "-q"])
    assert code == 0
    return run


def _evolve(args: list) -> int:
    from fooling.cli import main

    try:
        main(["evolve", *map(str, args)])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _without_key(text: np.ndarray, key: str) -> np.ndarray:
    return np.array(json.dumps({k: v for k, v in json.loads(str(text)).items() if k != key}))


def strip_ids(run: Path) -> None:
    """Make ``run`` look like a run made before run ids: none in config.json, the checkpoint's
    run state or either archive's metadata."""
    edit_json(run / "config.json", "run_id", DELETE)
    edit_npz(run / "checkpoint.npz", "run_state", lambda text: _without_key(text, "run_id"))
    for name in ("checkpoint.npz", "archive.npz"):
        edit_npz(run / name, "meta", lambda text: _without_key(text, "run_id"))


def resume(run: Path, generations: int = 8) -> list:
    return ["evolve", "--resume", "--max-generations", generations, "--out", run, "-q"]


# ------------------------------------------------------------------------------ run identity
def test_a_checkpoint_or_archive_of_another_run_is_refused_by_name(
    run_copy, other_run, tmp_path, capsys
):
    swap_file(other_run / "checkpoint.npz", run_copy / "checkpoint.npz")
    assert_refused(capsys, run_copy, resume(run_copy), "checkpoint.npz is not this run's",
                   "belongs to run")  # fmt: skip

    swap_file(other_run / "archive.npz", run_copy / "archive.npz")
    out = tmp_path / "transfer"
    args = ["transfer", run_copy, "--to", "mnist-lenet", "--out", out, "-q"]
    assert_refused(capsys, tmp_path, args, "archive.npz is not this run's archive")
    assert_refused(capsys, tmp_path, ["gallery", run_copy, "-q"], "is not this run's archive")


def test_runs_made_before_run_ids_resume_and_are_checked_against_their_log(
    run_copy, other_run, tmp_path, capsys
):
    legacy = tmp_path / "legacy"
    shutil.copytree(run_copy, legacy)
    strip_ids(legacy)
    code, _, err = run_cli(capsys, *resume(legacy))
    assert code == 0, err
    assert json.loads((legacy / "config.json").read_text())["run_id"] is None  # stays legacy

    # A legacy run's checkpoint in another legacy run: its counters differ from the log's.
    foreign = tmp_path / "foreign"
    shutil.copytree(other_run, foreign)
    strip_ids(foreign)
    strip_ids(run_copy)
    swap_file(foreign / "checkpoint.npz", run_copy / "checkpoint.npz")
    assert_refused(capsys, run_copy, resume(run_copy), "checkpoint.npz is not this run's",
                   "150 evaluations", "metrics.jsonl 100")  # fmt: skip
    # A checkpoint with an id in a run without one, and the reverse, are someone else's too.
    swap_file(other_run / "checkpoint.npz", legacy / "checkpoint.npz")
    assert_refused(capsys, legacy, resume(legacy, 12), "made before run ids")


def test_an_ascent_refuses_another_ascents_settings(tmp_path, capsys, lenet_target):
    for seed in ("0", "1"):
        code, _, err = run_cli(capsys, "ascent", "--steps", "3", "--seed", seed, "--out",
                               tmp_path / seed, "-q")  # fmt: skip
        assert code == 0, err
    swap_file(tmp_path / "1" / "ascent.json", tmp_path / "0" / "ascent.json")
    args = ["ascent", "--resume", "--steps", "5", "--out", tmp_path / "0", "-q"]
    assert_refused(capsys, tmp_path / "0", args, "ascent.json is not this run's")


# ------------------------------------------------------------------------------ studies
@pytest.fixture()
def study_copy(tiny_study, tmp_path) -> Path:
    """A copy of the tiny study whose state points at its own files (a moved study)."""
    copy = tmp_path / "study"
    shutil.copytree(tiny_study, copy)
    state = copy / "state.json"
    state.write_text(state.read_text().replace(str(tiny_study), str(copy)))
    return copy


def retrain_resume(study: Path) -> list:
    return ["retrain", "--resume", "--out", study, "--quiet"]


def test_a_whole_study_resumes_and_one_made_before_ids_too(study_copy, capsys):
    code, _, err = run_cli(capsys, *retrain_resume(study_copy))
    assert code == 0, err
    edit_json(study_copy / "study.json", "study_id", DELETE)
    edit_json(study_copy / "state.json", "study_id", DELETE)
    state = json.loads((study_copy / "state.json").read_text())
    for network in state["networks"]:
        network.pop("sha256")
    for record in state["rounds"]:
        record.get("collection", {}).pop("sha256", None)
    (study_copy / "state.json").write_text(json.dumps(state))
    code, _, err = run_cli(capsys, *retrain_resume(study_copy))
    assert code == 0, err
    delete_file(study_copy / "networks" / "dnn_02.pt")  # a legacy state still needs its files
    assert_refused(capsys, study_copy, retrain_resume(study_copy), "dnn_02.pt is missing")


def _swap_networks(study: Path) -> None:
    swap_file(study / "networks" / "dnn_03.pt", study / "networks" / "dnn_02.pt")


@pytest.mark.parametrize(
    ("damage", "fragments"),
    [
        (lambda s: truncate_file(s / "networks" / "dnn_02.pt"), ["DNN_2", "not the file"]),
        (lambda s: delete_file(s / "networks" / "dnn_02.pt"), ["DNN_2", "is missing"]),
        (_swap_networks, ["DNN_2", "truncated or replaced"]),
        (lambda s: truncate_file(s / "round_01" / "fooling.npz"), ["round 1's fooling images"]),
        (lambda s: edit_json(s / "state.json", "networks", lambda n: n * 3), ["networks"]),
        (lambda s: edit_json(s / "state.json", "rounds.0.runs", lambda r: r * 3), ["rounds[0]"]),
        (lambda s: edit_json(s / "state.json", "study_id", "0" * 32), ["not this study's"]),
        (lambda s: edit_json(s / "study.json", "runs", "two"), ["study.json", "runs"]),
    ],
)
def test_a_damaged_or_foreign_study_file_is_refused_before_anything_is_written(
    study_copy, capsys, damage, fragments
):
    damage(study_copy)
    assert_refused(capsys, study_copy, retrain_resume(study_copy), *fragments)


def test_a_run_folder_of_another_study_is_not_resumed(finished_run):
    from dataclasses import replace

    from evolve.config import RunConfig
    from evolve.errors import RunError
    from fooling.studies.study import same_run

    config = RunConfig.load(finished_run / "config.json")
    assert same_run(config, replace(config, run_id=None), finished_run) is config
    with pytest.raises(RunError, match="its seed differs"):
        same_run(config, replace(config, seed=config.seed + 1), finished_run)


def test_report_reads_everything_before_it_writes(study_copy, capsys):
    edit_json(study_copy / "state.json", "networks.0.evaluation.test_accuracy", "high")
    args = ["report", study_copy, "--html"]
    assert_refused(capsys, study_copy, args, "networks[0].evaluation.test_accuracy", "[0, 1]")


# ------------------------------------------------------------------------------ resources
@pytest.mark.parametrize(
    ("command", "fragments"),
    [
        (["evolve", "--workers", "1000"], ["--workers 1000", "CPUs", "--oversubscribe"]),
        (["evolve", "--workers", "1", "--worker-threads", "999"], ["--worker-threads 999"]),
        (["evolve", "--threads", "1000"], ["--threads 1000", "--oversubscribe"]),
        (["retrain", "--workers", "1000"], ["--workers 1000"]),
        (["retrain", "--batch", "10000000000"], ["--batch 10,000,000,000", "needs about"]),
        (["ascent", "--blur", "1e6"], ["--blur must be at most 8"]),
        (["ascent", "--lr", "1e9"], ["--lr must be at most 1"]),
        (["ascent", "--start", "test-images", "--epsilon", "5"], ["--epsilon must be at most 1"]),
        (["ascent", "--norm", "l2", "--lr", "100"], ["--lr must be at most 28"]),
        (["robustness", "{run}", "--transforms", "shift=2", "--samples", "1000000000000"],
         ["--samples", "1<=x<=100000"]),
    ],
)  # fmt: skip
def test_work_beyond_the_machine_or_a_bound_is_refused_before_it_starts(
    run_copy, tmp_path, capsys, command, fragments
):
    command = [str(run_copy) if part == "{run}" else part for part in command]
    out = tmp_path / "out"
    assert_refused(capsys, tmp_path, [*command, "--out", out], *fragments)


def test_oversubscribe_lets_more_workers_than_cpus_through():
    from evolve.errors import RunError
    from evolve.resources import available_cpus, check_cpus

    check_cpus(available_cpus() * 4, "--workers", oversubscribe=True)
    with pytest.raises(RunError, match="--oversubscribe"):
        check_cpus(available_cpus() + 1, "--workers", oversubscribe=False)


# ------------------------------------------------------------------------------ read-back files
@pytest.mark.parametrize(
    ("bad", "fragment"), [(np.nan, "genes hold NaN"), (1e9, "genes lie outside [0, 1]")]
)
@pytest.mark.parametrize("command", ["transfer", "repetition", "detect"])
def test_genes_out_of_range_in_an_archive_are_refused(
    run_copy, tmp_path, capsys, bad, fragment, command
):
    def damage(genes: np.ndarray) -> np.ndarray:
        genes = genes.astype(np.float64)
        genes[0, 0] = bad
        return genes

    edit_npz(run_copy / "archive.npz", "genome/genes", damage)
    extra = {"transfer": ["--to", "mnist-lenet"], "detect": ["--target", "mnist-lenet"]}
    extra = extra.get(command, [])
    args = [command, run_copy, *extra, "--out", tmp_path / "out", "-q"]
    assert_refused(capsys, tmp_path, args, "archive.npz", fragment)


def test_a_damaged_robustness_study_is_refused_by_report(finished_run, tmp_path, capsys):
    study = tmp_path / "robust"
    code, _, err = run_cli(capsys, "robustness", finished_run, "--transforms", "shift=1",
                           "--samples", "2", "--out", study, "-q")  # fmt: skip
    assert code == 0, err
    edit_json(study / "robustness.json", "runs.0.threshold", "high")
    assert_refused(capsys, study, ["report", study], "robustness.json is corrupt")


# ------------------------------------------------------------------------------ partial output
def test_a_failing_command_leaves_no_folder_it_created(run_copy, tmp_path, capsys, monkeypatch):
    import evolve.map_elites
    import fooling.reports.gallery
    import fooling.reports.transfer
    from fitness.target import TargetError

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device", "somewhere")

    monkeypatch.setattr(fooling.reports.gallery, "write_png", disk_full)
    assert_refused(capsys, run_copy, ["gallery", run_copy, "-q"], "No space left on device")
    assert not (run_copy / "gallery").exists()

    monkeypatch.setattr(fooling.reports.transfer, "write_heatmap", disk_full)
    out = tmp_path / "transfer"
    assert_refused(capsys, tmp_path, ["transfer", run_copy, "--to", "mnist-lenet", "--out", out,
                                      "-q"], "No space left")  # fmt: skip

    def broken_model(*args, **kwargs):
        raise TargetError("the model returned NaN or inf")

    monkeypatch.setattr(evolve.map_elites, "initialise", broken_model)
    run = tmp_path / "new_run"
    args = ["evolve", "--max-generations", "2", "--out", run, "-q"]
    assert_refused(capsys, tmp_path, args, "returned NaN")
    assert not run.exists()


# ------------------------------------------------------------------------------ class names
def test_class_name_policy():
    assert class_names_problem(["0", "tabby, tabby cat", "x" * MAX_CLASS_NAME]) is None
    imagenet = (Path(__file__).parents[3] / "fitness" / "imagenet_classes.txt").read_text()
    assert class_names_problem(imagenet.splitlines()) is None
    for names, fragment in [
        (["x" * (MAX_CLASS_NAME + 1)], "at most 100"),
        (["a\tb"], "control character"),
        (["a\nb"], "control character"),
        ([" a"], "whitespace"),
        ([""], "empty"),
        (["a", "a"], "repeats"),
    ]:
        assert fragment in class_names_problem(names)


def test_class_names_are_checked_where_they_enter(run_copy, tmp_path, capsys):
    names = tmp_path / "names.txt"
    names.write_text("\n".join([*map(str, range(9)), "n" * 5000]) + "\n")
    model = ["--target", "model_factories:lenet", "--input-shape", "1,28,28", "--random-weights"]
    args = ["evolve", *model, "--class-names", names, "--out", tmp_path / "new", "-q"]
    assert_refused(capsys, tmp_path, args, "names.txt", "5,000 characters", "at most 100")
    args = ["evolve", "--only-classes", "1," + "7" * 5000, "--out", tmp_path / "new"]
    assert_refused(capsys, tmp_path, args, "--only-classes", "5,000 characters")
    edit_json(run_copy / "config.json", "class_names.3", "3" * 1000)
    assert_refused(capsys, run_copy, resume(run_copy), "class_names: class name", "1,000")


# ------------------------------------------------------------------------------ items 5 and 6
def test_the_same_input_twice_is_refused(run_copy, tmp_path, capsys):
    out = ["--out", tmp_path / "out", "-q"]
    for runs in ([run_copy, run_copy], [run_copy, f"{run_copy}/./"]):
        args = ["transfer", *runs, "--to", "mnist-lenet", *out]
        assert_refused(capsys, tmp_path, args, "is given twice")
        args = ["robustness", *runs, "--transforms", "shift=1", *out]
        assert_refused(capsys, tmp_path, args, "is given twice")
        args = ["detect", *runs, "--target", "mnist-lenet", *out]
        assert_refused(capsys, tmp_path, args, "is given twice")
    args = ["transfer", run_copy, "--to", "mnist-lenet", "--to", "mnist-lenet", *out]
    assert_refused(capsys, tmp_path, args, "--to mnist-lenet is given twice")


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("print-photo,jpeg=50", "cannot be combined with other transforms"),
        ("identity", "changes no image"),
        ("", "changes no image"),
        ("shift=-2", "magnitude >= 0"),
        ("rotate=10:-10", "low end"),
    ],
)
def test_robustness_specs_that_mean_nothing_are_refused(run_copy, tmp_path, capsys, spec,
                                                         fragment):  # fmt: skip
    args = ["robustness", run_copy, "--transforms", spec, "--out", tmp_path / "out"]
    assert_refused(capsys, tmp_path, args, fragment)


def test_preset_message_names_the_preset():
    with pytest.raises(TransformSpecError, match="preset 'print-photo' cannot be combined"):
        TransformSpec.parse("shift=1,print-photo")


def test_gallery_of_a_run_without_elites_is_refused(run_copy, capsys):
    edit_npz(run_copy / "archive.npz", "fitness", lambda f: np.full_like(f, -np.inf))
    assert_refused(capsys, run_copy, ["gallery", run_copy, "-q"], "has no elites yet")
