"""``fooling evolve --workers``: a local Ray cluster started and stopped by the command, its run
equal to the in-process one, resumed without Ray; and bad input (no Ray, an unreachable address,
more GPUs than the cluster has) as one line and exit status 2, nothing written."""

from __future__ import annotations

import socket
import subprocess
import sys

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, final_state

RUN = ["-e", "cppn", "--batch", "24", "--chunk", "8", "--seed", "5", "-q"]


def fooling(*args: str) -> subprocess.CompletedProcess:
    """``fooling ARGS`` in a child process (its own Ray cluster, if any)."""
    return subprocess.run(
        [sys.executable, "-m", "fooling", *map(str, args)], capture_output=True, text=True
    )


def test_workers_run_resumed_in_process_equals_in_process_run(lenet_target, tmp_path) -> None:
    ray_run, local = tmp_path / "ray", tmp_path / "local"
    done = fooling("evolve", *RUN, "--workers", "2", "--max-generations", "2", "--out", ray_run)
    assert done.returncode == 0, done.stderr
    last = (ray_run / "metrics.jsonl").read_text().splitlines()[-1]
    assert '"workers": 2' in last and '"retries": 0' in last
    done = fooling(
        "evolve", "--resume", "--threads", "1", "--max-generations", "4", "--out", ray_run
    )
    assert done.returncode == 0, done.stderr
    done = fooling("evolve", *RUN, "--threads", "1", "--max-generations", "4", "--out", local)
    assert done.returncode == 0, done.stderr
    a, b = np.load(ray_run / "archive.npz"), np.load(local / "archive.npz")
    assert a.files == b.files
    for key in a.files:
        if key != "meta":  # which holds each run's own id
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (["--ray-address", f"127.0.0.1:{closed_port()}"], "cannot reach the Ray cluster"),
        (["--workers", "1", "--worker-gpus", "1"], "the Ray cluster has 0"),
        (["--workers", "1", "--robust", "shift=2"], "--robust runs are scored in this process"),
    ],
)
def test_bad_cluster_input_is_one_line(lenet_target, tmp_path, options, fragment) -> None:
    run_dir = tmp_path / "run"
    done = fooling("evolve", *RUN, "--max-generations", "1", *options, "--out", run_dir)
    assert_one_line_error(done.returncode, done.stderr, fragment)
    assert not run_dir.exists()


def test_without_ray_installed_is_one_line(lenet_target, tmp_path) -> None:
    run_dir = tmp_path / "run"
    # sys.modules["ray"] = None makes "import ray" fail as it does where Ray is not installed.
    code = (
        "import sys; sys.modules['ray'] = None; from fooling.cli import main; "
        f"main(['evolve', '--workers', '2', '--max-generations', '1', '--out', {str(run_dir)!r}])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert_one_line_error(done.returncode, done.stderr, "need Ray", "pip install 'fooling[ray]'")
    assert not run_dir.exists()


@pytest.mark.parametrize("emitters", ["cma:2,paper:1", "grad:1,paper:2"])
def test_workers_run_with_each_emitter_equals_in_process_run(
    lenet_target, tmp_path, emitters
) -> None:
    """Emitters run on the driver (the grad emitter with the driver's own copy of the target);
    Ray workers only score: the same run either way."""
    common = ["--emitter", emitters, "--batch", "30", "--initial-population", "10",
              "--chunk", "8", "--seed", "4", "--max-generations", "4", "-q"]  # fmt: skip
    ray_run, local = tmp_path / "ray", tmp_path / "local"
    # --threads 1 on the driver too: the grad emitter's backward passes run there.
    done = fooling(
        "evolve", *common, "--workers", "2", "--worker-threads", "1", "--threads", "1",
        "--out", ray_run,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = fooling("evolve", *common, "--threads", "1", "--out", local)
    assert done.returncode == 0, done.stderr
    a, b = final_state(ray_run), final_state(local)  # all but the metadata (each run's own id)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
