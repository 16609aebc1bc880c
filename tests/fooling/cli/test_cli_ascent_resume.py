"""``fooling ascent --resume``: a killed or stopped ascent continues exactly as if it had never
stopped; a run is continued only by the command that wrote it, other input is one line."""

from __future__ import annotations

import json
import shutil
import signal
import time

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, run_cli, snapshot, spawn_cli
from faults import delete_file, edit_json, edit_npz

from archives.elite_archive import read_npz
from evolve.checkpoint import STATE_ARRAY_PREFIX
from evolve.run_dir import read_metrics

# Small steps and a blur every 3 steps, so every step changes the images and the blur's
# schedule (by step number) must survive a resume too.
COMMON = ["--lr", "0.004", "--blur", "0.5", "--blur-every", "3", "--seed", "5", "-q"]


def run_state(run_dir) -> dict:
    return json.loads(str(read_npz(run_dir / "checkpoint.npz")["run_state"]))


def checkpoint_images(run_dir) -> np.ndarray:
    return read_npz(run_dir / "checkpoint.npz")[STATE_ARRAY_PREFIX + "ascent_images"]


def elites(run_dir) -> dict[str, np.ndarray]:
    arrays = read_npz(run_dir / "archive.npz")
    return {k: arrays[k] for k in ("genome/genes", "fitness", "probabilities", "generation")}


def assert_same_path(a, b) -> None:
    """The same elites, the same images at the end, the same confidences at every step."""
    left, right = elites(a), elites(b)
    for key in left:
        np.testing.assert_array_equal(left[key], right[key], err_msg=key)
    np.testing.assert_array_equal(checkpoint_images(a), checkpoint_images(b))
    curve = [(m["generation"], m["best_confidence"]) for m in read_metrics(a)]
    assert curve == [(m["generation"], m["best_confidence"]) for m in read_metrics(b)]


def test_kill_9_then_resume_matches_the_uninterrupted_ascent(tmp_path, capsys, lenet_target):
    killed = tmp_path / "killed"
    process = spawn_cli(
        "ascent", "--steps", "100000", "--checkpoint-every", "7", "--out", killed, *COMMON
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if run_state(killed)["generation"] >= 14:
                break
        except Exception:  # no checkpoint yet, or caught mid-rename
            time.sleep(0.02)
    process.kill()  # SIGKILL: no handler runs, the last periodic checkpoint is all there is
    process.wait()
    state = run_state(killed)
    assert state["ascent"]["moved"] is True  # a periodic checkpoint follows the step's move
    end = state["generation"] + 9
    code, _, err = run_cli(capsys, "ascent", "--resume", "--steps", end, "--out", killed, "-q")
    assert code == 0, err
    whole = tmp_path / "whole"
    code, _, err = run_cli(capsys, "ascent", "--steps", end, "--out", whole, *COMMON)
    assert code == 0, err
    assert_same_path(killed, whole)
    left, right = (json.loads((d / "summary.json").read_text()) for d in (killed, whole))
    for key in ("steps", "forward_calls", "backward_calls", "backward_evaluations", "evaluations"):
        assert left[key] == right[key], key


def test_a_stopped_ascent_continues_on_the_uninterrupted_path(tmp_path, capsys, lenet_target):
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    code, _, err = run_cli(capsys, "ascent", "--steps", "20", "--out", whole, *COMMON)
    assert code == 0, err
    code, _, err = run_cli(capsys, "ascent", "--steps", "8", "--out", stopped, *COMMON)
    assert code == 0, err
    assert run_state(stopped)["ascent"]["moved"] is False  # stopped after scoring step 8
    code, out, err = run_cli(capsys, "ascent", "--resume", "--steps", "20", "--out", stopped)
    assert code == 0, err
    assert_same_path(stopped, whole)
    left, right = (json.loads((d / "summary.json").read_text()) for d in (stopped, whole))
    # The step skipped at the stop is taken on resuming: one more forward pass, not a backward.
    assert left["forward_calls"] == right["forward_calls"] + 1
    assert left["forward_evaluations"] == right["forward_evaluations"] + 10
    assert left["backward_evaluations"] == right["backward_evaluations"] == 20 * 10
    assert left["steps"] == right["steps"] == 20


def with_old_emitter_entries(run_state_array: np.ndarray) -> np.ndarray:
    """The run state as ascent checkpoints before the Method seam (95a738f) wrote it: the
    paper emitter's (empty) state and query counters beside the ascent's own."""
    state = json.loads(str(run_state_array))
    return np.array(json.dumps({**state, "emitters": [{}], "emitter_queries": {}}))


def test_an_ascent_checkpoint_from_before_the_method_seam_resumes(tmp_path, capsys, lenet_target):
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    code, _, err = run_cli(capsys, "ascent", "--steps", "16", "--out", whole, *COMMON)
    assert code == 0, err
    code, _, err = run_cli(capsys, "ascent", "--steps", "8", "--out", stopped, *COMMON)
    assert code == 0, err
    edit_npz(stopped / "checkpoint.npz", "run_state", with_old_emitter_entries)
    assert run_state(stopped)["emitters"] == [{}]
    code, _, err = run_cli(capsys, "ascent", "--resume", "--steps", "16", "--out", stopped)
    assert code == 0, err
    assert_same_path(stopped, whole)


def test_a_run_is_continued_only_by_the_command_that_wrote_it(tmp_path, capsys, finished_run):
    ascent_run = tmp_path / "ascent"
    code, _, err = run_cli(capsys, "ascent", "--steps", "3", "--out", ascent_run, "-q")
    assert code == 0, err
    assert json.loads((ascent_run / "config.json").read_text())["method"] == "ascent"
    before = snapshot(ascent_run)
    code, _, err = run_cli(capsys, "evolve", "--resume", "--max-generations", "9", "--out",
                           ascent_run)  # fmt: skip
    assert_one_line_error(
        code, err, "fooling ascent", f"fooling ascent --resume --out {ascent_run}"
    )
    code, _, err = run_cli(capsys, "evolve", "--max-generations", "9", "--out", ascent_run)
    assert_one_line_error(code, err, "already holds a run")
    assert snapshot(ascent_run) == before

    evolve_before = snapshot(finished_run)
    code, _, err = run_cli(capsys, "ascent", "--resume", "--out", finished_run)
    assert_one_line_error(code, err, "fooling evolve --resume")
    assert snapshot(finished_run) == evolve_before

    # A directory from before config.json named its method: ascent.json still tells.
    legacy = tmp_path / "legacy"
    shutil.copytree(ascent_run, legacy)
    config = json.loads((legacy / "config.json").read_text())
    del config["method"]
    (legacy / "config.json").write_text(json.dumps(config))
    code, _, err = run_cli(capsys, "evolve", "--resume", "--out", legacy)
    assert_one_line_error(code, err, "fooling ascent --resume")


def flip_first_bit(images: np.ndarray) -> np.ndarray:
    """The images with the lowest bit of their first value flipped."""
    images = images.copy()
    images.flat[0] ^= 1
    return images


@pytest.mark.parametrize(
    ("damage", "fragments"),
    [
        ("options", ("--lr cannot change on --resume",)),
        ("overwrite", ("exclude each other",)),
        ("settings", ("ascent.json", "--lr must be > 0")),
        ("no_settings", ("ascent.json",)),
        ("starts", ("start images differ",)),
        ("old_checkpoint", ("holds no ascent state",)),
        ("images", ("ascent images must be float32",)),
        ("not_a_run", ("config.json",)),
    ],
)
def test_bad_resume_is_one_line_and_changes_nothing(tmp_path, capsys, lenet_target, damage,
                                                    fragments):  # fmt: skip
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "ascent", "--steps", "3", "--out", run, "-q")
    assert code == 0, err
    extra: list[str] = []
    if damage == "options":
        extra = ["--lr", "0.1"]
    elif damage == "overwrite":
        extra = ["--overwrite"]
    elif damage == "settings":
        edit_json(run / "ascent.json", "settings.lr", -1.0)
    elif damage == "no_settings":
        delete_file(run / "ascent.json")
    elif damage == "starts":
        edit_npz(run / "starts.npz", "images", flip_first_bit)
    elif damage == "old_checkpoint":
        arrays = read_npz(run / "checkpoint.npz")
        del arrays[STATE_ARRAY_PREFIX + "ascent_images"]
        np.savez(run / "checkpoint.npz", **arrays)
    elif damage == "images":
        edit_npz(run / "checkpoint.npz", STATE_ARRAY_PREFIX + "ascent_images",
                 lambda images: images[:, :, :14])  # fmt: skip
    elif damage == "not_a_run":
        run = tmp_path / "empty"
        run.mkdir()
    before = snapshot(run)
    code, _, err = run_cli(capsys, "ascent", "--resume", "--steps", "6", "--out", run, *extra)
    assert_one_line_error(code, err, *fragments)
    assert snapshot(run) == before


def test_ctrl_c_checkpoints_and_names_the_resume_command(tmp_path, capsys, lenet_target):
    run = tmp_path / "interrupted"
    process = spawn_cli("ascent", "--steps", "100000", "--checkpoint-every", "100000", "--out",
                        run, *COMMON)  # fmt: skip
    deadline = time.time() + 120
    while not (run / "metrics.jsonl").exists() or not (run / "metrics.jsonl").read_text():
        assert time.time() < deadline and process.poll() is None
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert f"fooling ascent --resume --out {run}" in err and "Traceback" not in err
    state = run_state(run)
    assert read_metrics(run)[-1]["generation"] == state["generation"]
    end = state["generation"] + 4
    code, _, err = run_cli(capsys, "ascent", "--resume", "--steps", end, "--out", run, "-q")
    assert code == 0, err
    whole = tmp_path / "whole"
    code, _, err = run_cli(capsys, "ascent", "--steps", end, "--out", whole, *COMMON)
    assert code == 0, err
    assert_same_path(run, whole)
