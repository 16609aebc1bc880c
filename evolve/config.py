"""A run's configuration: everything needed to rerun or resume it, stored as config.json."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from archives.atomic import atomic_write_json
from archives.fooled import DEFAULT_THRESHOLD
from evolve.errors import RunError

CONFIG_FORMAT = "fooling-run"
CONFIG_VERSION = 1


@dataclass
class StopConditions:
    """A run stops at the first condition met; ``None`` disables a condition."""

    max_generations: int | None = None
    max_evaluations: int | None = None
    time_limit_s: float | None = None
    until: float | None = None  # stop once every class has an elite at or above this confidence

    def any_set(self) -> bool:
        """Whether at least one condition can end the run."""
        return any(value is not None for value in asdict(self).values())


#: Generations the original code runs when no stop condition is given (docs/protocol.md).
DEFAULT_GENERATIONS = {"direct": 1010, "cppn": 1001}


def stop_conditions(
    encoding: str,
    max_generations: int | None = None,
    max_evaluations: int | None = None,
    time_limit_s: float | None = None,
    until: float | None = None,
) -> StopConditions:
    """The stop conditions asked for; the original code's generation count for ``encoding``
    when neither generations, evaluations nor time bound the run (``until`` alone may never
    be met)."""
    stop = StopConditions(max_generations, max_evaluations, time_limit_s, until)
    if stop.max_generations is None and not any((stop.max_evaluations, stop.time_limit_s)):
        stop.max_generations = DEFAULT_GENERATIONS[encoding]
    return stop


@dataclass
class RunConfig:
    """What a run was asked to do. ``cell_classes`` indexes ``class_names`` (target outputs)."""

    target: dict[str, Any]
    target_fingerprint: str
    class_names: list[str]
    cell_classes: list[int]
    encoding: dict[str, Any]
    batch: int
    initial_population: int
    seed: int
    stop: StopConditions = field(default_factory=StopConditions)
    checkpoint_every: int = 100
    threshold: float = DEFAULT_THRESHOLD
    # When set, every new elite at or above this confidence is kept in elite_log.npz.
    elite_log_min: float | None = None

    @classmethod
    def for_target(
        cls,
        target: Any,
        encoding: Any,
        cell_classes: list[int],
        *,
        batch: int,
        seed: int,
        stop: StopConditions,
        initial_population: int | None = None,
        checkpoint_every: int = 100,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> RunConfig:
        """A new run's configuration against a loaded ``target`` (its recorded options) with a
        built ``encoding``. ``until``, when set, is also the threshold the summaries count."""
        return cls(
            target=target.options.to_dict(),
            target_fingerprint=target.fingerprint,
            class_names=list(target.class_names),
            cell_classes=list(cell_classes),
            encoding=encoding.config(),
            batch=batch,
            initial_population=initial_population or batch,
            seed=seed,
            stop=stop,
            checkpoint_every=checkpoint_every,
            threshold=stop.until if stop.until is not None else threshold,
        )

    @property
    def cell_names(self) -> list[str]:
        """Class name of each archive cell."""
        return [self.class_names[c] for c in self.cell_classes]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, tagged with the format and version."""
        return {"format": CONFIG_FORMAT, "version": CONFIG_VERSION, **asdict(self)}

    def save(self, path: Path) -> None:
        """Write atomically."""
        atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: Path) -> RunConfig:
        """Read a config.json; raise :class:`RunError` naming the problem."""
        if not path.parent.is_dir():
            raise RunError(f"no such run directory: {path.parent}")
        if not path.is_file():
            raise RunError(f"{path.parent} has no config.json: not a fooling run directory")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.pop("format", None) != CONFIG_FORMAT:
                raise RunError(f"{path} is not a fooling run configuration")
            if data.pop("version", None) != CONFIG_VERSION:
                raise RunError(f"{path} has an unsupported configuration version")
            known = {f.name for f in fields(cls)}
            if set(data) - known:
                raise RunError(f"{path} has unknown keys: {', '.join(sorted(set(data) - known))}")
            data["stop"] = StopConditions(**data.get("stop", {}))
            return cls(**data)
        except RunError:
            raise
        except (OSError, ValueError, TypeError) as exc:
            raise RunError(f"{path} is unreadable or corrupt ({exc})") from None
