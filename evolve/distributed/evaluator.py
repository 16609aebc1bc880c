"""The Ray evaluator: a generation's chunks scored by a pool of actors, results put back by
chunk index, a lost or hung worker costing a retry and nothing else.

Each chunk is packed once (:meth:`Encoding.payload`: compiled CPPN programs, or 8-bit pixels of
direct genomes), put in the object store once, and sent to a live worker; a worker holds at most
``in_flight`` chunks so the next one is already there when it finishes. A worker that dies has
its chunks sent to others while Ray restarts it (``max_restarts``; a restarted worker rebuilds
its replica in ``__init__``); one that takes longer than ``timeout_s`` for a chunk is killed and
restarted the same way. Every resent chunk counts as a retry. A worker that fails more often than
``max_restarts`` is given up; with none left, :class:`WorkersLost` stops the run, which the runner
turns into a checkpoint at the last whole generation.

Since every chunk is scored as the same images by a replica with the same weights and threads,
which worker scored it does not change a bit of the result (see docs/tutorials/ray.md for
when results are identical).
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from typing import Any

import numpy as np

from evolve.distributed.cluster import DEFAULT_TIMEOUT_S, WorkersLost, require_ray
from evolve.distributed.worker import ScoringWorker
from evolve.encodings.base import Encoding
from evolve.errors import RunError
from evolve.evaluator import chunk_bounds
from fitness import Target
from fitness.replica import ReplicaSpec, target_weights
from fitness.scores import Scores
from fitness.target import TargetError

#: How often the dispatch loop looks for hung workers while it waits for results (seconds).
POLL_S = 1.0
#: A worker's start (importing torch, building its replica) may take this long whatever the
#: chunk timeout: on a loaded 2-core machine it took over 8 s, longer than a short
#: ``--worker-timeout`` meant to catch hung chunks.
MIN_STARTUP_TIMEOUT_S = 120.0


def payload_bytes(payload: Any) -> int:
    """Bytes of the arrays in a payload (a dict of arrays or a dataclass of arrays)."""
    if dataclasses.is_dataclass(payload):
        values = [getattr(payload, f.name) for f in dataclasses.fields(payload)]
    elif isinstance(payload, dict):
        values = list(payload.values())
    else:
        values = [payload]
    return sum(int(np.asarray(v).nbytes) for v in values)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class RayEvaluator:
    """Scores generations on ``workers`` Ray actors of ``threads`` CPU threads and ``gpus`` GPUs
    each, in chunks of ``chunk`` images (the run's setting: the same as in-process).

    Needs a connected Ray session (:func:`evolve.distributed.cluster.ray_cluster`). Call
    :meth:`close` (or use it as a context manager) to stop the actors.
    """

    def __init__(
        self,
        encoding: Encoding,
        target: Target,
        chunk: int | None,
        *,
        workers: int,
        threads: int = 1,
        gpus: float = 0.0,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_restarts: int = 3,
        in_flight: int = 2,
        worker_class: type = ScoringWorker,
    ) -> None:
        ray = require_ray()
        if workers < 1:
            raise RunError(f"--workers must be >= 1, got {workers}")
        self.encoding = encoding
        self.chunk = chunk
        self.timeout_s = float(timeout_s)
        self.startup_timeout_s = max(self.timeout_s, MIN_STARTUP_TIMEOUT_S)
        self.max_restarts = int(max_restarts)
        self.in_flight = max(1, int(in_flight))
        self.retries = 0  # chunks resent after a worker died or hung (this process)
        self.bytes_sent = 0  # payload bytes put in the object store (this process)
        self._queries = 0
        # The weights go to the object store once; every worker (and every restart) reads them.
        self._weights = ray.put(target_weights(target))
        actor = ray.remote(worker_class).options(
            num_cpus=threads,
            num_gpus=gpus,
            max_restarts=self.max_restarts,
            max_task_retries=0,  # this evaluator resends chunks itself, to a live worker
        )
        spec = ReplicaSpec.of(target)
        self._actors = [
            # Inside a list, the reference reaches the worker unresolved: it reads the weights
            # itself (see ScoringWorker), and a restarted worker reads them again.
            actor.remote(spec, [self._weights], encoding.config(), int(threads))
            for _ in range(workers)
        ]
        self._failures = [0] * workers
        self._alive = list(range(workers))  # not given up (recovering ones included)
        self._ready = list(range(workers))  # alive and taking chunks
        self._probes: dict[Any, tuple[int, float]] = {}  # ref -> (recovering worker, since)
        self._wait_ready()

    # ------------------------------------------------------------------------ set-up, teardown
    def _wait_ready(self) -> None:
        """Wait until every worker has built its replica; report why one could not."""
        ray = require_ray()
        try:
            ray.get([a.ready.remote() for a in self._actors], timeout=self.startup_timeout_s)
        except ray.exceptions.GetTimeoutError:
            self.close()
            raise RunError(
                f"the Ray workers were not ready after {self.startup_timeout_s:g} s (does the "
                "cluster have the CPUs and GPUs asked for, and fooling installed on every node?)"
            ) from None
        except ray.exceptions.RayError as exc:
            self.close()
            raise RunError(f"a Ray worker could not start: {_cause_line(exc)}") from None

    def close(self) -> None:
        """Stop the workers (idempotent)."""
        ray = require_ray()
        for actor in self._actors:
            ray.kill(actor, no_restart=True)
        self._actors, self._alive, self._ready, self._probes = [], [], [], {}

    def __enter__(self) -> RayEvaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------ reporting
    @property
    def queries(self) -> int:
        """Images the workers have scored for this process."""
        return self._queries

    @property
    def workers_alive(self) -> int:
        """Workers not given up (restarting ones included)."""
        return len(self._alive)

    def status(self) -> dict[str, int]:
        """What the progress bar and metrics.jsonl show: live workers and retries so far."""
        return {"workers": self.workers_alive, "retries": self.retries}

    # ------------------------------------------------------------------------ scoring
    def __call__(self, genomes: Any, rng: np.random.Generator | None = None) -> Scores:
        """Scores (probabilities and log-odds ``[N, num_classes]``) of the images ``genomes``
        express (``rng``, for robust scoring in process, is not used: workers score plain
        images)."""
        ray = require_ray()
        bounds = chunk_bounds(len(genomes), self.chunk)
        payloads = []
        for start, stop in bounds:
            payload = self.encoding.payload(genomes[start:stop])
            self.bytes_sent += payload_bytes(payload)
            payloads.append(ray.put(payload))  # once: a resent chunk reuses it
        results: list[Scores | None] = [None] * len(bounds)
        queue = deque(range(len(bounds)))
        pending: dict[Any, tuple[int, int, float]] = {}  # ref -> (chunk, worker, submitted)
        while queue or pending:
            self._submit(queue, pending, payloads)
            if not pending and not self._probes:
                raise WorkersLost(
                    f"no Ray worker is left ({len(self._actors)} lost; {self.retries} retries)"
                )
            ready, _ = ray.wait([*pending, *self._probes], num_returns=1, timeout=POLL_S)
            for ref in ready:
                if ref in self._probes:
                    self._probe_answered(ref)
                elif ref in pending:  # else dropped with its failed worker: resent already
                    self._chunk_answered(ref, pending, queue, results)
            now = time.monotonic()
            for worker in {w for (_, w, t) in pending.values() if now - t > self.timeout_s}:
                self._worker_failed(worker, pending, queue, hung=True)
        return Scores.concatenate(results)

    def _submit(
        self, queue: deque[int], pending: dict[Any, tuple[int, int, float]], payloads: list
    ) -> None:
        """Give queued chunks to workers in rotation, up to ``in_flight`` each."""
        load = dict.fromkeys(self._ready, 0)
        for _, worker, _ in pending.values():
            load[worker] = load.get(worker, 0) + 1
        for worker in list(self._ready):
            while queue and load[worker] < self.in_flight:
                index = queue.popleft()
                ref = self._actors[worker].score.remote(index, payloads[index])
                pending[ref] = (index, worker, time.monotonic())
                load[worker] += 1

    def _chunk_answered(
        self,
        ref: Any,
        pending: dict[Any, tuple[int, int, float]],
        queue: deque[int],
        results: list[Scores | None],
    ) -> None:
        """Place a chunk's result by its index, or resend it if its worker failed."""
        ray = require_ray()
        index, worker, _ = pending[ref]
        try:
            _, scores = ray.get(ref)
        except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError,
                ray.exceptions.ObjectLostError):  # fmt: skip
            self._worker_failed(worker, pending, queue, hung=False)
            return
        except ray.exceptions.RayTaskError as exc:  # the scoring itself failed
            raise _task_error(exc) from None
        del pending[ref]
        results[index] = scores
        self._queries += len(scores)

    def _worker_failed(
        self,
        worker: int,
        pending: dict[Any, tuple[int, int, float]],
        queue: deque[int],
        *,
        hung: bool,
    ) -> None:
        """Requeue every chunk ``worker`` holds (a retry each) and take it out of rotation until
        a probe says it is back; restart a hung one; give up one that failed more than
        ``max_restarts`` times."""
        ray = require_ray()
        for ref in [ref for ref, (_, w, _) in pending.items() if w == worker]:
            queue.appendleft(pending.pop(ref)[0])
            self.retries += 1
        if worker not in self._ready:
            return  # already recovering: its probe decides
        self._ready.remove(worker)
        self._failures[worker] += 1
        if self._failures[worker] > self.max_restarts:
            self._give_up(worker)
            return
        if hung:  # Ray restarts it (and it rebuilds its replica)
            ray.kill(self._actors[worker], no_restart=False)
        self._probe(worker, time.monotonic())

    def _probe(self, worker: int, since: float) -> None:
        """Ask a recovering worker whether it is back (it answers once its replica is built)."""
        self._probes[self._actors[worker].ready.remote()] = (worker, since)

    def _probe_answered(self, ref: Any) -> None:
        """Back in rotation; still restarting: ask again (until ``startup_timeout_s``); dead:
        give up."""
        ray = require_ray()
        worker, since = self._probes.pop(ref)
        try:
            ray.get(ref)
        except ray.exceptions.ActorUnavailableError:  # restarting: not yet back
            if time.monotonic() - since > self.startup_timeout_s:
                self._give_up(worker)
            else:
                time.sleep(min(POLL_S, 0.2))
                self._probe(worker, since)
            return
        except ray.exceptions.RayError:  # died for good (restarts spent) or cannot rebuild
            self._give_up(worker)
            return
        self._ready.append(worker)

    def _give_up(self, worker: int) -> None:
        """Stop using ``worker`` for the rest of the run."""
        require_ray().kill(self._actors[worker], no_restart=True)
        if worker in self._alive:
            self._alive.remove(worker)
        if worker in self._ready:
            self._ready.remove(worker)


def _cause_line(exc: BaseException) -> str:
    """The first line of the exception a worker raised, without Ray's traceback around it."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        return _first_line(cause)
    lines = [line for line in str(exc).splitlines() if "Error:" in line]
    return lines[-1].strip() if lines else _first_line(exc)


def _task_error(exc: BaseException) -> BaseException:
    """A worker's scoring error as the driver reports it: the user's model failing stays a
    :class:`TargetError` (one line, exit 2); anything else becomes a one-line RunError."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, TargetError):
        return TargetError(str(cause))
    return RunError(f"a Ray worker failed: {_cause_line(exc)}")
