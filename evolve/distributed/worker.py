"""A Ray worker: one replica of the target and the encoding's expression, nothing else.

It keeps no run state: a chunk in (its index and the packed genomes), scores out. A
worker that Ray restarts after a crash runs ``__init__`` again and so rebuilds its replica from
the same spec and weights (held once in the object store by the driver).
"""

from __future__ import annotations

from typing import Any

from evolve.encodings import build_encoding
from fitness.devices import HOST
from fitness.replica import ReplicaSpec, build_replica
from fitness.scores import Scores


def set_threads(threads: int) -> None:
    """torch and Numba on ``threads`` CPU threads: a chunk's floats depend on torch's count."""
    import numba
    import torch

    torch.set_num_threads(threads)
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))


def worker_encoding_config(config: dict[str, Any], on_gpu: bool) -> dict[str, Any]:
    """The driver's encoding settings adapted to the worker's device: direct genomes arrive as
    bytes on the host; a CPPN renders on the worker's GPU if it has one, else with Numba."""
    config = dict(config)
    if config.get("name") == "direct":
        config["device"] = HOST
    elif config.get("renderer") in ("auto", "gpu"):
        config["renderer"] = "gpu" if on_gpu else "numba"
    return config


class ScoringWorker:
    """Expresses and scores chunks of a generation (made a Ray actor by the evaluator)."""

    def __init__(
        self,
        spec: ReplicaSpec,
        weights: list[Any],
        encoding_config: dict[str, Any],
        threads: int,
    ) -> None:
        import ray

        set_threads(threads)
        on_gpu = bool(ray.get_gpu_ids())
        # ``weights``: [object reference] to the driver's state dict, put in the store once.
        state = ray.get(weights[0])
        self.target = build_replica(spec, state, "cuda" if on_gpu else "cpu")
        self.encoding = build_encoding(worker_encoding_config(encoding_config, on_gpu))
        self.calls = 0

    def score(self, index: int, payload: Any) -> tuple[int, Scores]:
        """Chunk ``index``'s scores (probabilities and log-odds ``[n, num_classes]``, float64)."""
        self.calls += 1
        images = self.encoding.express_payload(payload)
        return index, self.target.scores(images)

    def ready(self) -> bool:
        """Answers once the replica is built (the evaluator waits for every worker's)."""
        return True
