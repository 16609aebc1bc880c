"""Ray evaluators for the length of a command: connect (or start a local cluster), hand out a
:class:`~evolve.distributed.evaluator.RayEvaluator` per run, and stop workers and cluster at the
end, however the command ends (Ctrl-C and errors included)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

from evolve.distributed.cluster import ClusterSettings, ray_cluster
from evolve.distributed.evaluator import RayEvaluator
from evolve.encodings.base import Encoding
from evolve.evaluator import Evaluator
from fitness import Target

#: Makes a run's evaluator from its encoding, target and chunk size.
EvaluatorFactory = Callable[[Encoding, Target, "int | None"], Evaluator]


@contextmanager
def ray_evaluators(settings: ClusterSettings) -> Iterator[EvaluatorFactory]:
    """A factory of Ray evaluators on the cluster ``settings`` name. The cluster is joined (or
    started) at the first call, so a command that fails its checks first never starts one; each
    new evaluator stops the previous one's workers (runs follow one another); leaving stops the
    workers and the cluster this started."""
    with ExitStack() as stack:
        made: list[RayEvaluator] = []
        cluster: list[ClusterSettings] = []

        def factory(encoding: Encoding, target: Target, chunk: int | None) -> RayEvaluator:
            if not cluster:
                cluster.append(stack.enter_context(ray_cluster(settings)))
            for evaluator in made:
                evaluator.close()
            resolved = cluster[0]
            assert resolved.workers is not None and resolved.gpus is not None
            evaluator = RayEvaluator(
                encoding,
                target,
                chunk,
                workers=resolved.workers,
                threads=resolved.threads,
                gpus=resolved.gpus,
                timeout_s=resolved.timeout_s,
            )
            stack.callback(evaluator.close)  # before the cluster's shutdown: last in, first out
            made.append(evaluator)
            return evaluator

        yield factory
