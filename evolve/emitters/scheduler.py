"""The scheduler: splits a generation's batch among the run's emitters, gathers their children
into one batch for one forward pass, and hands each emitter back the scores of its own children.

It owns nothing but the emitters and their shares (pyribs' Scheduler). Shares are fixed weights:
``cma:3,paper:1`` gives the CMA emitter three quarters of every batch. With one emitter the
scheduler is a pass-through: no concatenation, no slicing, the emitter's children are the batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from archives import EliteArchive
from evolve.emitters.base import Emitter, EmitterError
from evolve.encodings.base import Encoding
from fitness.scores import Scores


def split_batch(batch: int, weights: list[float]) -> list[int]:
    """``batch`` children split in proportion to ``weights`` by largest remainders (ties to the
    earlier emitter); every count is an integer and they sum to ``batch``."""
    total = float(sum(weights))
    exact = [batch * w / total for w in weights]
    counts = [int(np.floor(x)) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: batch - sum(counts)]:
        counts[i] += 1
    return counts


class Scheduler:
    """The run's emitters with their shares of each batch."""

    def __init__(self, emitters: list[Emitter], weights: list[float], encoding: Encoding) -> None:
        if not emitters or len(emitters) != len(weights):
            raise EmitterError("a scheduler needs one weight per emitter")
        if any(not (w > 0 and np.isfinite(w)) for w in weights):
            raise EmitterError(f"emitter shares must be positive numbers, got {weights}")
        self.emitters = emitters
        self.weights = [float(w) for w in weights]
        self.encoding = encoding
        self._counts: list[int] = []

    def ask(
        self, archive: EliteArchive, rng: np.random.Generator, generation: int, batch: int
    ) -> Any:
        """The generation's children: each emitter's share (or fewer, where an emitter has less
        to do, e.g. few classes left below the threshold), in emitter order, as one batch."""
        parts, self._counts = [], []
        for emitter, count in zip(self.emitters, split_batch(batch, self.weights), strict=True):
            part = emitter.ask(archive, rng, generation, count) if count > 0 else None
            size = 0 if part is None else len(part)
            if size > count:
                raise EmitterError(
                    f"the {emitter.name} emitter made {size} children, asked {count}"
                )
            self._counts.append(size)
            if size:
                parts.append(part)
        if not parts:
            raise EmitterError("no emitter made a child this generation")
        return parts[0] if len(parts) == 1 else self.encoding.concatenate(parts)

    def tell(
        self, children: Any, scores: Scores, archive: EliteArchive, improved: np.ndarray
    ) -> None:
        """Each emitter hears how its own children scored."""
        start = 0
        for emitter, count in zip(self.emitters, self._counts, strict=True):
            if count == 0:
                continue
            stop = start + count
            if count == len(children):
                emitter.tell(children, scores, archive, improved)
            else:
                part = Scores(scores.probabilities[start:stop], scores.log_odds[start:stop])
                emitter.tell(children[start:stop], part, archive, improved)
            start = stop

    def config(self) -> list[dict[str, Any]]:
        """Each emitter's settings with its share (config.json's ``emitters``)."""
        return [
            {**emitter.config(), "share": weight}
            for emitter, weight in zip(self.emitters, self.weights, strict=True)
        ]

    def state(self) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
        """Every emitter's state: a JSON list (one entry per emitter) and arrays named
        ``<emitter index>.<array name>``."""
        values, arrays = [], {}
        for index, emitter in enumerate(self.emitters):
            own_values, own_arrays = emitter.state()
            values.append(own_values)
            arrays.update({f"{index}.{name}": array for name, array in own_arrays.items()})
        return values, arrays

    def load_state(
        self, values: list[dict[str, Any]] | None, arrays: dict[str, np.ndarray]
    ) -> None:
        """Restore what :meth:`state` returned. ``values`` None: a checkpoint written before
        emitters existed, which only a run of stateless emitters (the paper's) can continue."""
        if values is None:
            values = [{} for _ in self.emitters]
        if not isinstance(values, list) or len(values) != len(self.emitters):
            held = len(values) if isinstance(values, list) else 0
            raise EmitterError(
                f"the checkpoint holds the state of {held} emitters, this run has "
                f"{len(self.emitters)}"
            )
        for index, (emitter, own) in enumerate(zip(self.emitters, values, strict=True)):
            prefix = f"{index}."
            own_arrays = {
                name[len(prefix) :]: array
                for name, array in arrays.items()
                if name.startswith(prefix)
            }
            if not isinstance(own, dict):
                raise EmitterError(f"emitter {index} ({emitter.name}): its state is not an object")
            emitter.load_state(own, own_arrays)
        known = {f"{i}." for i in range(len(self.emitters))}
        stray = sorted(name for name in arrays if name[: name.find(".") + 1] not in known)
        if stray:
            raise EmitterError(f"the checkpoint has emitter arrays of no emitter: {stray[0]}")

    def counters(self) -> dict[str, int]:
        """The emitters' own queries (e.g. backward passes), summed by kind."""
        total: dict[str, int] = {}
        for emitter in self.emitters:
            for kind, count in emitter.counters().items():
                total[kind] = total.get(kind, 0) + int(count)
        return total
