"""Running the ``fooling`` command in-process and in a subprocess, for the CLI tests."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from archives.elite_archive import read_npz
from fooling.cli import main


def run_cli(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    """Run ``fooling ARGS`` in this process; return (exit status, stdout, stderr)."""
    capsys.readouterr()
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def spawn_cli(*args: str) -> subprocess.Popen:
    """Start ``fooling ARGS`` as a child process (for signals and kill -9)."""
    return subprocess.Popen(
        [sys.executable, "-m", "fooling", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def snapshot(directory: Path) -> dict[str, str]:
    """SHA-256 of every file under ``directory``: proves nothing on disk changed."""
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    """Bad input's contract: exit status 2, one line starting "error: " naming the problem."""
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file a command wrote, as dicts keyed by its header."""
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def final_state(run_dir: Path) -> dict[str, np.ndarray]:
    """Every array of a run's archive.npz but its metadata."""
    return {k: v for k, v in read_npz(Path(run_dir) / "archive.npz").items() if k != "meta"}


def metrics_without_times(run_dir: Path) -> list[dict]:
    """metrics.jsonl's records without their wall-clock field (the one thing runs may differ in)."""
    lines = (Path(run_dir) / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "elapsed_s"} for line in lines]


def assert_same_run(a: Path, b: Path) -> None:
    """Two run directories hold the same archive, array for array, and the same metrics."""
    left, right = final_state(a), final_state(b)
    assert left.keys() == right.keys()
    for key in left:
        np.testing.assert_array_equal(left[key], right[key], err_msg=key)
    assert metrics_without_times(a) == metrics_without_times(b)


def evolve_whole_and_resumed(
    capsys: pytest.CaptureFixture, tmp_path: Path, common: list[str], total: int, stop: int
) -> tuple[Path, Path]:
    """``fooling evolve COMMON`` for ``total`` generations in one go (``tmp_path/a``), and for
    ``stop`` generations then ``--resume`` to ``total`` (``tmp_path/b``); every call must exit 0.
    Returns the two run directories."""
    whole, resumed = tmp_path / "a", tmp_path / "b"
    for out, generations in ((whole, total), (resumed, stop)):
        code, _, err = run_cli(
            capsys, "evolve", "--max-generations", str(generations), "--out", out, *common
        )
        assert code == 0, err
    code, _, err = run_cli(
        capsys, "evolve", "--resume", "--max-generations", str(total), "--out", resumed, "-q"
    )
    assert code == 0, err
    return whole, resumed
