"""Ray workers that fail on purpose, for the fault-tolerance tests (tests/ray). They live here,
on the workers' import path (conftest puts tests/support on PYTHONPATH, which Ray's worker
processes inherit), because Ray imports an actor's class by name in the worker."""

from __future__ import annotations

import os

from evolve.distributed.worker import ScoringWorker


class DiesOnce(ScoringWorker):
    """Kills its process on its 3rd chunk, in its first life only (Ray restarts it once)."""

    def score(self, index, payload):
        import ray

        if self.calls == 2 and not ray.get_runtime_context().was_current_actor_reconstructed:
            os._exit(1)
        return super().score(index, payload)


class DiesInGeneration2(ScoringWorker):
    """Kills its process on its 7th chunk: the first of generation 2 for a lone worker."""

    def score(self, index, payload):
        if self.calls == 6:
            os._exit(1)
        return super().score(index, payload)


class HangsOnce(ScoringWorker):
    """Hangs on its 2nd chunk, in its first life only: the evaluator's timeout must restart it."""

    def score(self, index, payload):
        import time

        import ray

        if self.calls == 1 and not ray.get_runtime_context().was_current_actor_reconstructed:
            time.sleep(3600)
        return super().score(index, payload)
