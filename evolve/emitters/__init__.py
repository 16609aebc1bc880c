"""Emitters: what makes each generation's children (pyribs' ask/tell), and the scheduler that
splits a batch among them.

``paper`` (the default) is the 2015 paper's operators; the others spend fewer evaluations per
fooled class (docs/protocol.md, "Emitters"). A run's emitters are given as a spec,
``NAME[:SHARE][,NAME[:SHARE]...]`` (``--emitter cma:3,paper:1``), stored in config.json as a list
of settings (:meth:`Scheduler.config`), and rebuilt from it by :func:`build_scheduler`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from evolve.emitters.base import Emitter, EmitterError
from evolve.emitters.paper import PaperEmitter
from evolve.emitters.scheduler import Scheduler, split_batch
from evolve.encodings.base import Encoding

#: What ``--emitter`` accepts; ``paper`` is the default.
EMITTER_NAMES = ("paper", "cma", "grad")
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


def emitter_settings(spec: str, settings: Sequence[str] = ()) -> list[dict[str, Any]]:
    """A run's emitters from a spec and ``NAME.KEY=VALUE`` settings (``cma.sigma=1.5``; values
    read as JSON numbers, booleans or null where they parse, else as text); raise
    :class:`EmitterError` naming what is wrong. Whether a setting fits the emitter and the
    encoding is checked when the scheduler is built."""
    emitters = parse_emitters(spec)
    by_name = {entry["name"]: entry for entry in emitters}
    for item in settings:
        target, equals, text = item.partition("=")
        name, dot, key = target.partition(".")
        if not (equals and dot and key):
            raise EmitterError(f"emitter setting {item!r} is not NAME.KEY=VALUE")
        if name not in by_name:
            raise EmitterError(f"emitter setting {item!r} names no emitter of --emitter {spec}")
        if key in ("name", "share") or key in by_name[name]:
            raise EmitterError(f"emitter setting {target} is given twice or is not a setting")
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        by_name[name][key] = value
    return emitters


@dataclass(frozen=True)
class RunContext:
    """What emitters may need of the run beyond its encoding: the class of each archive cell,
    the confidence that counts as fooled, the batch, and the target (for emitters that use the
    model itself, not only its scores)."""

    cell_classes: Sequence[int] = ()
    threshold: float = 0.9999
    batch: int = 1 << 30  # no limit where the batch is not known
    target: Any = None
    robust: bool = False  # scored under random transformations (--robust)


def build_scheduler(
    settings: list[dict[str, Any]] | None, encoding: Encoding, context: RunContext | None = None
) -> Scheduler:
    """The scheduler for a run's ``emitters`` settings (None: a run made before emitters, which
    used the paper's operators)."""
    if settings is None:
        settings = [{"name": "paper", "share": 1.0}]
    context = RunContext() if context is None else context
    emitters, weights = [], []
    for entry in settings:
        params = {k: v for k, v in entry.items() if k not in ("name", "share")}
        emitters.append(_build_emitter(entry.get("name"), params, encoding, context))
        weights.append(entry.get("share", 1.0))
    for emitter, count in zip(emitters, split_batch(context.batch, weights), strict=True):
        needs = getattr(emitter, "min_children", 1)
        if count < needs:
            raise EmitterError(
                f"the {emitter.name} emitter needs at least {needs} children a generation, but "
                f"its share of the batch ({context.batch}) is {count}"
            )
    return Scheduler(emitters, weights, encoding)


def _build_emitter(
    name: Any, params: dict[str, Any], encoding: Encoding, context: RunContext
) -> Emitter:
    """One emitter by name; settings that do not fit raise :class:`EmitterError`."""
    if name == "paper":
        if params:
            raise EmitterError(f"the paper emitter takes no settings, got {', '.join(params)}")
        return PaperEmitter(encoding)
    if name == "cma":
        from evolve.emitters.cma import CmaEmitter

        known = {"lam", "sigma", "grid", "weights", "covariance"}
        if set(params) - known:
            unknown = ", ".join(sorted(set(params) - known))
            raise EmitterError(f"the cma emitter has no setting {unknown}")
        return CmaEmitter(encoding, np.asarray(context.cell_classes), context.threshold, **params)
    if name == "grad":
        from evolve.emitters.gradient import GradientEmitter

        known = {"lr", "steps", "grid", "objective"}
        if set(params) - known:
            unknown = ", ".join(sorted(set(params) - known))
            raise EmitterError(f"the grad emitter has no setting {unknown}")
        if context.robust:
            raise EmitterError(
                "--gradients (the grad emitter) ascends the clean image's log-probability; it "
                "does not fit --robust scoring"
            )
        if encoding.name == "cppn":
            from evolve.emitters.gradient_cppn import CppnGradientEmitter

            return CppnGradientEmitter(
                encoding, np.asarray(context.cell_classes), context.threshold, context.target,
                **params,
            )  # fmt: skip
        return GradientEmitter(
            encoding, np.asarray(context.cell_classes), context.threshold, context.target, **params
        )
    raise EmitterError(f"unknown emitter {name!r}: choose from {', '.join(EMITTER_NAMES)}")


def with_gradients(spec: str) -> str:
    """The emitter spec ``--gradients`` makes of ``--emitter SPEC``: ``grad`` in place of the
    default, the spec itself where it names ``grad``; any other spec raises
    :class:`EmitterError`."""
    if spec.strip() == DEFAULT_EMITTERS:
        return "grad"
    if any(part.strip().partition(":")[0] == "grad" for part in spec.split(",")):
        return spec
    raise EmitterError(
        f"--gradients is the grad emitter, but --emitter {spec} has none: drop one of them or "
        "add grad to --emitter"
    )


__all__ = [
    "DEFAULT_EMITTERS",
    "EMITTER_NAMES",
    "Emitter",
    "EmitterError",
    "PaperEmitter",
    "RunContext",
    "Scheduler",
    "build_scheduler",
    "emitter_settings",
    "parse_emitters",
    "with_gradients",
]
