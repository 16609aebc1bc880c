"""CPUs asked of this machine, checked before anything starts.

``--workers 1000`` on a 2-core machine used to start over 100 Ray workers and drive the load
average past 80 while writing nothing for minutes. A local Ray cluster (``--workers`` without
``--ray-address``), and the threads of this process (``--threads``), are therefore held to the
CPUs this process may run on, unless the user asks for more on purpose (``--oversubscribe``). A
remote cluster is checked against its own resources when joined
(:func:`evolve.distributed.cluster.resolve`).
"""

from __future__ import annotations

import os

from evolve.errors import RunError


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask; else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def check_cpus(needed: float, what: str, oversubscribe: bool) -> None:
    """A one-line :class:`RunError` when ``what`` needs more than this machine's CPUs and
    ``oversubscribe`` was not asked for."""
    cpus = available_cpus()
    if needed > cpus and not oversubscribe:
        raise RunError(
            f"{what} need {needed:g} CPUs but this machine has {cpus}; ask for fewer, or give "
            "--oversubscribe to start them anyway"
        )
