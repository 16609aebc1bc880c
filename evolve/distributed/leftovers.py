"""The processes a local Ray cluster started, ended with it.

``ray.shutdown`` gives the raylet one second to stop before it kills it (Ray 2.x). While workers
start on a busy machine that is too little, and what the raylet started outlives the command:
its dashboard and runtime-env agents take a minute more (they report the raylet's death to the
GCS, stopped already, with a 60 s timeout), and workers still importing their modules exit when
they are done. So the processes ``ray.init`` started, and all below them, get :data:`GRACE_S`
after ``ray.shutdown`` to exit by themselves; those still running are killed.

This needs psutil, which Ray brings (``ray/thirdparty_files``, on the path once ``ray`` is
imported); without it, nothing is noted and nothing killed.
"""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any

#: Seconds the processes of a local cluster get to exit by themselves after ``ray.shutdown``.
GRACE_S = 5.0
#: How often :func:`end` looks whether they have.
POLL_S = 0.1


def _psutil() -> ModuleType | None:
    try:
        import psutil
    except ImportError:
        return None
    return psutil


def _children() -> list[Any]:
    """This process's child processes (psutil.Process), none without psutil."""
    psutil = _psutil()
    return [] if psutil is None else psutil.Process().children()


class StartedProcesses:
    """The child processes started between making this and :meth:`note` (by ``ray.init``)."""

    def __init__(self) -> None:
        self._before = {child.pid for child in _children()}
        self._started: list[Any] = []

    def note(self) -> None:
        """Note the children started since this was made."""
        self._started = [child for child in _children() if child.pid not in self._before]

    def now(self) -> list[Any]:
        """The noted processes and all processes below them, as they are now."""
        psutil = _psutil()
        found = list(self._started)
        for process in self._started:
            try:
                found.extend(process.children(recursive=True))
            except psutil.Error:  # gone: what it started is found no more
                pass
        return found


def _running(process: Any) -> bool:
    """Whether ``process`` still runs (a zombie has ended)."""
    psutil = _psutil()
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def end(processes: list[Any], grace_s: float = GRACE_S) -> list[Any]:
    """Give ``processes`` up to ``grace_s`` seconds to exit, then kill those still running;
    return those. (psutil.Process checks its process's start time: a reused pid is safe.)"""
    if not processes:
        return []
    psutil = _psutil()
    deadline = time.monotonic() + grace_s
    running = [process for process in processes if _running(process)]
    while running and time.monotonic() < deadline:
        time.sleep(POLL_S)
        running = [process for process in running if _running(process)]
    for process in running:
        try:
            process.kill()
        except psutil.Error:
            pass
    return running
