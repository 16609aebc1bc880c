"""Files the tool reads back are checked before anything is written; one writer per run.

Each test damages a copy (``run_copy``) of a small finished run of 5 generations.
"""

from __future__ import annotations

import pytest
from cli_helpers import assert_one_line_error, run_cli, snapshot
from faults import edit_json

from evolve.run_dir import RunDirLock


def assert_refused(capsys, run, *fragments: str) -> None:
    before = snapshot(run)
    code, _, err = run_cli(capsys, "evolve", "--resume", "--out", run, "--max-generations", "8")
    assert_one_line_error(code, err, *fragments)
    assert snapshot(run) == before  # config.json and metrics.jsonl exactly as they were


def edit_config(run, **changes) -> None:
    for field, value in changes.items():
        edit_json(run / "config.json", field, value)


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"batch": 0}, "batch: must be an integer >= 1"),
        ({"batch": "200"}, "batch: must be an integer >= 1"),
        ({"seed": -1}, "seed: must be an integer >= 0"),
        ({"threshold": 2.0}, "threshold: must be a number in [0, 1]"),
        ({"cell_classes": [0, 1, 99]}, "cell_classes: must be class indices in [0, 10)"),
        ({"cell_classes": [1, 1]}, "cell_classes: repeats a class"),
        ({"class_names": ["a"] * 10}, "class_names: repeats a name"),
        ({"stop.until": 1.5}, "stop.until: must be null or a number in [0, 1]"),
        ({"checkpoint_every": 0}, "checkpoint_every: must be an integer >= 1"),
        ({"chunk": 0}, "chunk: must be null or an integer >= 1"),
        ({"encoding": []}, "encoding: must be an object with a name"),
        ({"method": "genetic"}, "method: must be one of evolve, ascent"),
    ],
)
def test_a_hand_edited_config_is_one_line_naming_the_field(
    capsys, run_copy, changes, fragment
) -> None:
    edit_config(run_copy, **changes)
    assert_refused(capsys, run_copy, "config.json", fragment)


def test_renamed_classes_are_refused(capsys, run_copy) -> None:
    edit_config(run_copy, class_names=[f"digit {i}" for i in range(10)])
    assert_refused(capsys, run_copy, "class_names differ from the target's")


@pytest.mark.parametrize(
    "line, fragment",
    [
        (b"\xff\xfe\n", "is not UTF-8 text"),
        (b'{"generation": "x", "evaluations": 0, "elapsed_s": 0, "best_confidence": []}\n',
         "generation must be a non-negative integer"),
        (b'{"generation": 0, "evaluations": 0, "elapsed_s": 0, "best_confidence": []}\n',
         "out of order"),
    ],
)  # fmt: skip
def test_a_damaged_metrics_file_is_one_line_naming_the_line(capsys, run_copy, line, fragment):
    path = run_copy / "metrics.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join([*lines[:2], line, *lines[2:]]))
    assert_refused(capsys, run_copy, "metrics.jsonl: line 3", fragment)


def test_a_second_writer_is_refused_and_stale_temporaries_are_cleaned(capsys, run_copy) -> None:
    held = RunDirLock(run_copy).acquire()  # another process's run, as far as the CLI can tell
    try:
        assert_refused(capsys, run_copy, "in use by another fooling process")
        code, _, err = run_cli(capsys, "evolve", "--overwrite", "--out", run_copy, "-q")
        assert code == 2 and "in use by another fooling process" in err
        assert (run_copy / "checkpoint.npz").exists()  # --overwrite removed nothing
    finally:
        held.release()
    stale = run_copy / ".checkpoint.npz.abc123.tmp"
    stale.write_bytes(b"half a checkpoint")
    code, _, err = run_cli(capsys, "evolve", "--resume", "--out", run_copy, "-q",
                           "--max-generations", "6")  # fmt: skip
    assert code == 0, err
    assert not stale.exists()
