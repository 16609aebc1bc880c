"""Emitters: what makes each generation's children (pyribs' ask/tell), and the scheduler that
splits a batch among them.

``paper`` (the default) is the 2015 paper's operators; the others spend fewer evaluations per
fooled class (docs/protocol.md, "Emitters"). A run's emitters are given as a spec,
``NAME[:SHARE][,NAME[:SHARE]...]`` (``--emitter cma:3,paper:1``), stored in config.json as a list
of settings (:meth:`Scheduler.config`), and rebuilt from it by :func:`build_scheduler`.
"""

from __future__ import annotations

from typing import Any

from evolve.emitters.base import Emitter, EmitterError
from evolve.emitters.paper import PaperEmitter
from evolve.emitters.scheduler import Scheduler
from evolve.encodings.base import Encoding

#: What ``--emitter`` accepts; ``paper`` is the default.
EMITTER_NAMES = ("paper",)
DEFAULT_EMITTERS = "paper"


def parse_emitters(spec: str) -> list[dict[str, Any]]:
    """``"cma:3,paper:1"`` -> ``[{"name": "cma", "share": 3.0}, {"name": "paper", "share": 1.0}]``;
    raise :class:`EmitterError` naming what is wrong."""
    settings: list[dict[str, Any]] = []
    for part in spec.split(","):
        name, _, share = part.strip().partition(":")
        if name not in EMITTER_NAMES:
            raise EmitterError(f"unknown emitter {name!r}: choose from {', '.join(EMITTER_NAMES)}")
        try:
            weight = float(share) if share else 1.0
        except ValueError:
            raise EmitterError(f"emitter share {share!r} is not a number") from None
        if not weight > 0 or weight == float("inf"):
            raise EmitterError(f"emitter share must be a positive number, got {share!r}")
        if any(s["name"] == name for s in settings):
            raise EmitterError(f"emitter {name!r} is named twice")
        settings.append({"name": name, "share": weight})
    return settings


def build_scheduler(
    settings: list[dict[str, Any]] | None, encoding: Encoding, target: Any = None
) -> Scheduler:
    """The scheduler for a run's ``emitters`` settings (None: a run made before emitters, which
    used the paper's operators). ``target``: for emitters that need the model itself."""
    if settings is None:
        settings = [{"name": "paper", "share": 1.0}]
    emitters, weights = [], []
    for entry in settings:
        params = {k: v for k, v in entry.items() if k not in ("name", "share")}
        emitters.append(_build_emitter(entry.get("name"), params, encoding, target))
        weights.append(entry.get("share", 1.0))
    return Scheduler(emitters, weights, encoding)


def _build_emitter(name: Any, params: dict[str, Any], encoding: Encoding, target: Any) -> Emitter:
    """One emitter by name; settings that do not fit raise :class:`EmitterError`."""
    if name == "paper":
        if params:
            raise EmitterError(f"the paper emitter takes no settings, got {', '.join(params)}")
        return PaperEmitter(encoding)
    raise EmitterError(f"unknown emitter {name!r}: choose from {', '.join(EMITTER_NAMES)}")


__all__ = [
    "DEFAULT_EMITTERS",
    "EMITTER_NAMES",
    "Emitter",
    "EmitterError",
    "PaperEmitter",
    "Scheduler",
    "build_scheduler",
    "parse_emitters",
]
