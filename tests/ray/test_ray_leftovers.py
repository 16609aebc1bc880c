"""What a local Ray cluster started is gone a few seconds after it: the processes started after
the note is taken, and all below them, get their grace and are killed after it; children that
were there before are left alone (docs/reliability.md, section 3)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from evolve.distributed import leftovers

psutil = pytest.importorskip("psutil", reason="psutil comes with Ray")  # after conftest's ray

#: A child that starts a grandchild, and both sleep (a raylet and its agents, in short).
FAMILY = (
    "import subprocess, sys, time; "
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
    "time.sleep(60)"
)


def wait_for_grandchild(child: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while not psutil.Process(child.pid).children():
        assert time.monotonic() < deadline, "the grandchild did not start"
        time.sleep(0.1)


def test_what_was_started_and_is_still_running_after_the_grace_is_killed() -> None:
    before = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        started = leftovers.StartedProcesses()
        child = subprocess.Popen([sys.executable, "-c", FAMILY])
        wait_for_grandchild(child)
        started.note()
        processes = started.now()
        assert sorted(p.pid for p in processes) == sorted(
            [child.pid, *(p.pid for p in psutil.Process(child.pid).children())]
        )
        begin = time.monotonic()
        killed = leftovers.end(processes, grace_s=1.0)
        assert 1.0 <= time.monotonic() - begin < 10
        assert sorted(p.pid for p in killed) == sorted(p.pid for p in processes)
        assert child.wait(timeout=10) == -9
        assert before.poll() is None  # there before the note: not the cluster's
    finally:
        before.kill()
        before.wait()


def test_what_exits_within_the_grace_is_not_killed() -> None:
    started = leftovers.StartedProcesses()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1)"])
    started.note()
    processes = started.now()
    assert [p.pid for p in processes] == [child.pid]
    begin = time.monotonic()
    assert leftovers.end(processes, grace_s=30.0) == []
    assert time.monotonic() - begin < 20  # ended when the child did, not at the grace's end
    assert child.wait(timeout=10) == 0


def test_nothing_noted_nothing_ended() -> None:
    started = leftovers.StartedProcesses()
    assert started.now() == []  # note() not called: ray.init never ran
    assert leftovers.end([], grace_s=5.0) == []
