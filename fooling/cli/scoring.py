"""Where a command's runs are scored: this process (on ``--threads`` threads) or Ray workers
(``--workers``, ``--ray-address``), for the command's length."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from evolve.config import RunConfig
from evolve.errors import RunError
from fooling.studies.study import fixed_threads


@contextmanager
def scoring(cluster: Any, threads: int | None) -> Iterator[Any]:
    """For the command's length: torch and Numba on ``threads`` threads (if given), and a
    factory of Ray evaluators (``cluster``: :class:`ClusterSettings`) or None (in-process)."""
    with ExitStack() as stack:
        if threads is not None:
            stack.enter_context(fixed_threads(threads))
        if cluster is None:
            yield None
            return
        from evolve.distributed.session import ray_evaluators

        yield stack.enter_context(ray_evaluators(cluster))


def make_evaluator(evaluators: Any, encoding: Any, target: Any, config: RunConfig) -> Any:
    """The run's evaluator: from the Ray factory, or None for the default in-process one.

    Robust scoring (``--robust``) draws its transformations from the run's generator in this
    process, so it is not offered on Ray workers: refused before any cluster starts. Emitters
    run here, the grad emitter's forward and backward passes on this process's copy of the
    target; the workers only score."""
    if evaluators is None:
        return None
    if config.robust is not None:
        raise RunError(
            "--robust runs are scored in this process: drop --workers/--ray-address "
            "(Ray workers do not draw the run's transformations)"
        )
    return evaluators(encoding, target, config.chunk)
