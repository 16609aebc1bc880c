"""A local Ray cluster never outlives its command: SIGTERM while its workers start shuts it down;
and Ray's own log lines stay off stderr (docs/reliability.md, section 3)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

RUN = ["--batch", "20", "--workers", "1", "-q"]


def fooling_process(*args: object) -> subprocess.Popen:
    """``fooling ARGS`` as a child process."""
    return subprocess.Popen(
        [sys.executable, "-m", "fooling", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def processes() -> dict[int, tuple[int, str, str]]:
    """Every live process: pid -> (parent pid, name, state)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        state, parent = stat[stat.rindex(")") + 2 :].split()[:2]
        table[int(entry.name)] = (int(parent), name, state)
    return table


def descendants(pid: int) -> dict[int, str]:
    """The processes below ``pid`` (children, theirs, ...): pid -> name."""
    table = processes()
    found: dict[int, str] = {}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, name, _) in table.items():
            if ppid == parent and child not in found:
                found[child] = name
                frontier.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (zombies count as gone)."""
    table = processes()
    return {pid for pid in pids if pid in table and table[pid][2] != "Z"}


def test_a_ray_run_writes_nothing_of_rays_own_to_stderr(lenet_target, tmp_path) -> None:
    process = fooling_process("evolve", *RUN, "--max-generations", "1", "--out", tmp_path / "run")
    out, err = process.communicate(timeout=900)
    assert process.returncode == 0, err
    assert err == "", err
    assert "results in" in out


def test_sigterm_while_workers_start_shuts_the_local_cluster_down(lenet_target, tmp_path) -> None:
    run = tmp_path / "run"
    process = fooling_process("evolve", *RUN, "--max-generations", "100000", "--out", run)
    deadline = time.time() + 600
    started: dict[int, str] = {}
    while not any(name in ("raylet", "gcs_server") for name in started.values()):
        assert process.poll() is None and time.time() < deadline, process.communicate()
        time.sleep(0.2)
        started = descendants(process.pid)
    time.sleep(2)  # the cluster is up; its workers are starting
    started.update(descendants(process.pid))
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=600)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    deadline = time.time() + 30
    while alive(set(started)) and time.time() < deadline:
        time.sleep(0.5)
    left = {pid: started[pid] for pid in alive(set(started))}
    for pid in left:  # do not leave them to the next test, whatever this one says
        os.kill(pid, signal.SIGKILL)
    assert not left, f"Ray processes outlived the command: {left}"
