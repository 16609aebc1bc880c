"""Running the ``fooling`` command in-process and in a subprocess, for the CLI tests."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
