"""Start or join a Ray cluster for a run, and leave it as found.

``--workers N`` without an address starts a local cluster sized for N workers, shut down when
the run ends (also on Ctrl-C and errors); ``--ray-address`` (or ``RAY_ADDRESS``) joins one that
``ray start`` made, and only disconnects. A Ray session already open in this process (tests, the
Python API) is used as it is. Every problem the user can fix (no Ray, an unreachable address,
more CPUs or GPUs asked than the cluster has) is a :class:`evolve.errors.RunError`: one line.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

from evolve.distributed import leftovers
from evolve.distributed.signals import signals_end_the_block, sigterm_left_alone
from evolve.errors import RunError

INSTALL_HINT = "pip install 'fooling[ray]'"
#: Seconds a chunk may take, from its submission, before its worker counts as hung (default).
DEFAULT_TIMEOUT_S = 600.0
#: Seconds to wait for a TCP answer from a cluster address before calling it unreachable.
CONNECT_TIMEOUT_S = 10.0
#: The environment variable that sets the log level of Ray's C++ core (driver, raylet, workers).
LOG_LEVEL_VARIABLE = "RAY_BACKEND_LOG_LEVEL"


class WorkersLost(RunError):
    """No Ray worker is left to score the generation (the run checkpoints and stops).

    ``reason``: the message without its resume command, for a caller (a study) that names its own.
    """

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = message if reason is None else reason


@dataclass(frozen=True)
class ClusterSettings:
    """How to score on Ray: ``workers`` actors (None: as many as the cluster's CPUs, or GPUs,
    allow) of ``threads`` CPU threads and ``gpus`` GPUs each (None: 1 when the cluster has GPUs,
    else 0); ``address``: a cluster to join (None: start a local one); ``timeout_s``: how long a
    chunk may take before its worker is restarted and the chunk sent to another."""

    workers: int | None = None
    address: str | None = None
    threads: int = 1
    gpus: float | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S


def require_ray() -> ModuleType:
    """The ``ray`` module, or a one-line :class:`RunError` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise RunError(f"--workers and --ray-address need Ray: {INSTALL_HINT}") from None
    return ray


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def unreachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> str | None:
    """Why nothing answers at ``address`` ("host:port" or "ray://host:port"), or None.

    Ray itself retries an unreachable address for minutes; one TCP connection says it at once.
    Other forms ("auto") are left to Ray.
    """
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit() or not host:
        return None
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        return exc.strerror or str(exc) or type(exc).__name__
    return None


@contextmanager
def stderr_discarded() -> Iterator[None]:
    """File descriptor 2 points at the null device for the ``with`` block and at its old target
    after it, however the block ends (C++ code writes to the descriptor, not to ``sys.stderr``).
    Where there is no descriptor 2, this does nothing."""
    if sys.stderr is not None:
        sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        if sys.stderr is not None:
            sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def _init(ray: ModuleType, **options: Any) -> None:
    """``ray.init(**options)``, quietly: Ray's notices (token set-up, the log level its C++ core
    read from RAY_BACKEND_LOG_LEVEL, worker logs) are not the user's business; its errors reach
    the user as this tool's one-line errors, and its logs stay in its session directory."""
    with sigterm_left_alone(ray), stderr_discarded():
        ray.init(logging_level=logging.ERROR, log_to_driver=False, **options)


def _connect(ray: ModuleType, settings: ClusterSettings) -> None:
    """Join ``settings.address`` or start a local cluster sized for the workers."""
    if settings.address is not None:
        problem = unreachable(settings.address)
        if problem is not None:
            raise RunError(f"cannot reach the Ray cluster at {settings.address}: {problem}")
        try:
            _init(ray, address=settings.address)
        except Exception as exc:  # ConnectionError, RuntimeError, ValueError...: all "cannot reach"
            raise RunError(
                f"cannot reach the Ray cluster at {settings.address}: {_first_line(exc)}"
            ) from None
        return
    workers = settings.workers or 1
    # "local" even when RAY_ADDRESS is set: --workers without --ray-address means this machine.
    _init(
        ray,
        address="local",
        num_cpus=max(1, round(workers * settings.threads)),
        include_dashboard=False,
    )


def resolve(ray: ModuleType, settings: ClusterSettings) -> ClusterSettings:
    """Fill in the worker count and GPUs per worker from the cluster's resources; check that the
    cluster has what is asked (Ray would otherwise wait for it forever)."""
    resources = ray.cluster_resources()
    cpus, gpus_total = float(resources.get("CPU", 0)), float(resources.get("GPU", 0))
    gpus = settings.gpus if settings.gpus is not None else (1.0 if gpus_total else 0.0)
    workers = settings.workers
    if workers is None:
        by_cpu = int(cpus // settings.threads)
        workers = max(1, min(by_cpu, int(gpus_total // gpus)) if gpus else by_cpu)
    if gpus * workers > gpus_total + 1e-9:
        raise RunError(
            f"{workers} worker(s) x --worker-gpus {gpus:g} need {gpus * workers:g} GPU(s); "
            f"the Ray cluster has {gpus_total:g}"
        )
    if settings.threads * workers > cpus + 1e-9:
        raise RunError(
            f"{workers} worker(s) x --worker-threads {settings.threads} need "
            f"{settings.threads * workers} CPU(s); the Ray cluster has {cpus:g}"
        )
    return replace(settings, workers=workers, gpus=gpus)


@contextmanager
def quiet_ray_backend() -> Iterator[None]:
    """Ray's C++ core prints its ERROR lines to stderr (e.g. a notice about actors whose
    constructor arguments live in the object store, at every run), beside this tool's one-line
    errors; its log level is raised to FATAL for the processes this session starts unless the
    user set RAY_BACKEND_LOG_LEVEL. (Each process's core says so, on stderr, as it starts: the
    driver's while ``ray.init`` runs, whose stderr is discarded, the others' in their log files.)
    Problems with workers reach the user as this tool's own errors
    (:mod:`evolve.distributed.evaluator`)."""
    set_here = LOG_LEVEL_VARIABLE not in os.environ
    if set_here:
        os.environ[LOG_LEVEL_VARIABLE] = "fatal"
    try:
        yield
    finally:
        if set_here:
            os.environ.pop(LOG_LEVEL_VARIABLE, None)


@contextmanager
def ray_cluster(settings: ClusterSettings) -> Iterator[ClusterSettings]:
    """Be connected to a Ray cluster for the ``with`` block; yield the resolved settings.

    A local cluster started here is shut down on leaving, however the block ends: errors,
    Ctrl-C, SIGTERM and SIGHUP (:mod:`evolve.distributed.signals`), and what it started is
    gone a few seconds later (:mod:`evolve.distributed.leftovers`). After kill -9 nothing in
    this process runs: Ray's own processes notice their driver is gone and exit within about a
    minute (docs/reliability.md).
    """
    ray = require_ray()
    opened_here = not ray.is_initialized()
    started = leftovers.StartedProcesses()
    with signals_end_the_block() as stop, quiet_ray_backend():
        try:
            if opened_here:
                try:
                    _connect(ray, settings)
                finally:
                    started.note()  # raylet, GCS server...: what ray.init started, if anything
                stop.install()  # again: ray.init's C++ core put its own SIGTERM handler first
            yield resolve(ray, settings)
        except KeyboardInterrupt:
            if not stop.received:  # Ctrl-C: the command's own handling
                raise
            raise stop.interrupted() from None
        finally:
            if opened_here:
                processes = started.now()
                try:
                    ray.shutdown()
                finally:
                    leftovers.end(processes)
