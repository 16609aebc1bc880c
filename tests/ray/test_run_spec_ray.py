"""The Ray options' cases of tests/fooling/test_run_spec.py: ``fooling evolve --workers`` (a
local cluster the run starts) and ``--ray-address`` (this session's cluster) give the same
config.json and results as :func:`fooling.evolve` with the same keywords. Each way runs in a
child process, as the command does, with a cluster of its own or joining this one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from run_spec_cases import RAY_CASES, case_arguments, comparable


def child(code: str) -> subprocess.CompletedProcess:
    """Python ``code`` in a child process."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


@pytest.mark.parametrize("name", RAY_CASES)
def test_ray_options_give_the_same_config_both_ways(
    name, ray_session, lenet_target, tmp_path
) -> None:
    address = ray_session.get_runtime_context().gcs_address
    args, target, keywords = case_arguments(name, {"address": address, "tmp": str(tmp_path)})
    cli_dir, api_dir = tmp_path / "cli", tmp_path / "api"
    command = ["evolve", *args, "--threads", "1", "--out", str(cli_dir)]
    done = child(f"from fooling.cli import main; main({command!r})")
    assert done.returncode == 0, done.stderr
    done = child(
        "import fooling; "
        f"fooling.evolve({target!r}, out={str(api_dir)!r}, threads=1, **{keywords!r})"
    )
    assert done.returncode == 0, done.stderr
    assert comparable(cli_dir) == comparable(api_dir)
    for run_dir in (cli_dir, api_dir):  # both were scored on Ray
        last = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])
        assert last.get("workers", 0) >= 1, last
    with np.load(cli_dir / "archive.npz") as a, np.load(api_dir / "archive.npz") as b:
        for key in a.files:
            if key != "meta":
                np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_the_spec_is_the_same_for_every_ray_option(tmp_path: Path) -> None:
    from fooling.api import evolve_spec
    from fooling.cli.evolve import evolve as evolve_command
    from fooling.run_spec import run_spec

    for name in RAY_CASES:
        args, target, keywords = case_arguments(name, {"address": "127.0.0.1:1", "tmp": "t"})
        params = evolve_command.make_context("evolve", [*args, "--out", str(tmp_path)]).params
        assert run_spec(params) == evolve_spec(target, out=tmp_path, **keywords)
        assert run_spec(params).scoring.cluster is not None
