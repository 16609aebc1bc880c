"""A run's configuration: everything needed to rerun or resume it, stored as config.json."""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from archives.atomic import atomic_write_json
from archives.fooled import DEFAULT_THRESHOLD
from evolve.errors import RunError
from fitness.class_names import class_names_problem
from fitness.errors import TransformSpecError
from fitness.robust import RobustScoring

#: Images scored together for new runs (:func:`evolve.evaluator.chunk_bounds`): >= the default
#: --batch (200), so the default in-process run scores a generation in one forward call.
DEFAULT_CHUNK = 256

CONFIG_FORMAT = "fooling-run"
CONFIG_VERSION = 1
#: The commands that write run directories (config.json's ``method``; older files: evolve).
RUN_METHODS = ("evolve", "ascent")
#: A new run's emitters when none are named: the paper's operators, the whole batch.
PAPER_EMITTERS: tuple[dict[str, Any], ...] = ({"name": "paper", "share": 1.0},)


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
    # Images scored together (evolve.evaluator.chunk_bounds), in this process and on Ray
    # workers alike; None (runs made before chunks): a generation in one call.
    chunk: int | None = None
    # When set (--robust), images are scored under random transformations
    # (fitness.robust.RobustScoring.to_dict: transforms, samples, reduce).
    robust: dict[str, Any] | None = None
    # The command that wrote the run and is the one to continue it (``fooling METHOD --resume``).
    method: str = "evolve"
    # What makes the children (evolve.emitters.Scheduler.config: each emitter's settings and
    # share of the batch); None (runs made before emitters): the paper's operators.
    emitters: list[dict[str, Any]] | None = None
    # Written once when the run is created (:func:`new_run_id`) and into each checkpoint and
    # archive it saves, so a file from another run is refused by name; None: a run made before
    # run ids, whose files carry none either (still resumable).
    run_id: str | None = None

    @classmethod
    def for_target(
        cls,
        target: Any,
        encoding: Any,
        cell_classes: Sequence[int],
        *,
        batch: int,
        seed: int,
        stop: StopConditions,
        initial_population: int | None = None,
        checkpoint_every: int = 100,
        threshold: float = DEFAULT_THRESHOLD,
        elite_log_min: float | None = None,
        chunk: int | None = DEFAULT_CHUNK,
        robust: RobustScoring | None = None,
        method: str = "evolve",
        emitters: Sequence[Mapping[str, Any]] | None = PAPER_EMITTERS,
    ) -> RunConfig:
        """A new run's configuration against a loaded ``target`` (one from
        :func:`fitness.loading.load_target`: its recorded options and fingerprint) with a built
        ``encoding``; the only code that makes a new run's config. ``initial_population``
        (None: the batch); ``until``, when set, is also the threshold the summaries count;
        ``robust``: already fitted to the target's channels; ``emitters``:
        :meth:`evolve.emitters.Scheduler.config` (default: the paper's operators; None: none
        recorded, as in runs made before emitters). ``chunk`` defaults to :data:`DEFAULT_CHUNK`,
        as ``--chunk`` does (the field's None is for runs made before chunks).

        The application (every command, the Python API, the studies) reaches it through
        :func:`fooling.run_spec.run_config`; scripts and tests call it directly."""
        if target.options is None:
            raise ValueError("the target must come from fitness.loading.load_target")
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
            elite_log_min=elite_log_min,
            chunk=chunk,
            robust=robust.to_dict() if robust is not None else None,
            method=method,
            emitters=None if emitters is None else [dict(e) for e in emitters],
        )

    def ensure_run_id(self) -> str:
        """This run's id, drawn now for a new run that has none yet."""
        if self.run_id is None:
            self.run_id = new_run_id()
        return self.run_id

    def robust_scoring(self) -> RobustScoring | None:
        """The run's robust scoring (``--robust``), or None for plain scoring."""
        return RobustScoring.from_dict(self.robust) if self.robust is not None else None

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
            if not isinstance(data, dict) or data.pop("format", None) != CONFIG_FORMAT:
                raise RunError(f"{path} is not a fooling run configuration")
            if data.pop("version", None) != CONFIG_VERSION:
                raise RunError(f"{path} has an unsupported configuration version")
            known = {f.name for f in fields(cls)}
            if set(data) - known:
                raise RunError(f"{path} has unknown keys: {', '.join(sorted(set(data) - known))}")
            stop = data.get("stop", {})
            if not isinstance(stop, dict) or set(stop) - {f.name for f in fields(StopConditions)}:
                raise RunError(f"{path}: stop: must be an object of stop conditions")
            data["stop"] = StopConditions(**stop)
            config = cls(**data)
        except RunError:
            raise
        except (OSError, ValueError, TypeError) as exc:
            raise RunError(f"{path} is unreadable or corrupt ({exc})") from None
        problem = config.problem()
        if problem is not None:
            raise RunError(f"{path}: {problem}")
        return config

    def problem(self) -> str | None:
        """What is wrong with these values ("field: must be ..., got ..."), or None.

        A hand-edited config.json is read back with the same rules the command line enforces.
        """
        if self.method not in RUN_METHODS:
            return f"method: must be one of {', '.join(RUN_METHODS)}, got {self.method!r}"
        if self.run_id is not None and not is_run_id(self.run_id):
            return f"run_id: must be null or 32 hexadecimal digits, got {self.run_id!r}"
        names = self.class_names
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            return "class_names: must be a non-empty list of names"
        problem = class_names_problem(names)
        if problem is not None:
            return f"class_names: {problem}"
        cells = self.cell_classes
        if (
            not isinstance(cells, list)
            or not cells
            or not all(_is_int(c) and 0 <= c < len(names) for c in cells)
        ):
            return f"cell_classes: must be class indices in [0, {len(names)}), got {cells!r}"
        if len(set(cells)) != len(cells):
            return "cell_classes: repeats a class"
        if not isinstance(self.target, dict) or not isinstance(self.target_fingerprint, str):
            return "target: must be an object of target options with a target_fingerprint"
        if not isinstance(self.encoding, dict) or not isinstance(self.encoding.get("name"), str):
            return "encoding: must be an object with a name"
        for key, low in (("batch", 1), ("initial_population", 1), ("seed", 0)):
            value = getattr(self, key)
            if not _is_int(value) or value < low:
                return f"{key}: must be an integer >= {low}, got {value!r}"
        if self.chunk is not None and (not _is_int(self.chunk) or self.chunk < 1):
            return f"chunk: must be null or an integer >= 1, got {self.chunk!r}"
        if not _is_int(self.checkpoint_every) or self.checkpoint_every < 1:
            return f"checkpoint_every: must be an integer >= 1, got {self.checkpoint_every!r}"
        if not _is_unit(self.threshold):
            return f"threshold: must be a number in [0, 1], got {self.threshold!r}"
        if self.elite_log_min is not None and not _is_unit(self.elite_log_min):
            return f"elite_log_min: must be null or a number in [0, 1], got {self.elite_log_min!r}"
        if self.robust is not None:
            try:
                RobustScoring.from_dict(self.robust)
            except TransformSpecError as exc:
                return f"robust: {exc}"
        emitters = self.emitters
        if emitters is not None and (
            not isinstance(emitters, list)
            or not emitters
            or not all(isinstance(e, dict) and isinstance(e.get("name"), str) for e in emitters)
        ):
            return "emitters: must be null or a non-empty list of objects with a name"
        stop = self.stop
        for key in ("max_generations", "max_evaluations"):
            value = getattr(stop, key)
            if value is not None and (not _is_int(value) or value < 0):
                return f"stop.{key}: must be null or an integer >= 0, got {value!r}"
        limit = stop.time_limit_s
        if limit is not None and (not _is_number(limit) or not 0 < limit < math.inf):
            return f"stop.time_limit_s: must be null or a positive number, got {limit!r}"
        if stop.until is not None and not _is_unit(stop.until):
            return f"stop.until: must be null or a number in [0, 1], got {stop.until!r}"
        if not stop.any_set():
            return "stop: at least one stop condition must be set"
        return None


def new_run_id() -> str:
    """A fresh run id: 32 random hexadecimal digits (uuid4)."""
    return uuid.uuid4().hex


def is_run_id(value: Any) -> bool:
    """Whether ``value`` reads as a run id."""
    return isinstance(value, str) and re.fullmatch(r"[0-9a-f]{32}", value) is not None


def foreign_file(found: Any, expected: str | None) -> str | None:
    """Why a file carrying run id ``found`` (None: none) is not of the run whose id is
    ``expected`` (None: a run made before run ids), or None when it is. A run made before ids
    accepts only files without one; a run with an id accepts only files with the same id."""
    if found == expected:
        return None
    if expected is None:
        return f"it belongs to run {found}, and this run (made before run ids) has none"
    if found is None:
        return f"it carries no run id, and this run is {expected}"
    return f"it belongs to run {found}, not to this run ({expected})"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_unit(value: Any) -> bool:
    return _is_number(value) and 0.0 <= value <= 1.0
