"""What a new run is asked to do, as one typed, frozen value built in one place.

Every path into a run builds its :class:`RunSpec` with :func:`run_spec` from a mapping of
option names to values: ``fooling evolve`` from click's params, :func:`fooling.evolve` from its
keywords, a retraining study and ``fooling ascent`` from their settings. The names are those of
``fooling evolve``'s options (``fooling/cli/declared.py``: ``--max-generations`` is
``max_generations``), and one left out takes that option's default. :func:`run_config` is the
application's only path to a new run's :class:`~evolve.config.RunConfig` (its config.json), from
the spec, the loaded target and the built encoding, through the one constructor,
:meth:`~evolve.config.RunConfig.for_target`; :func:`fooling.launch.launch` starts the run::

    spec = run_spec({"target": "mnist-lenet", "until": 0.9999, "out": "runs/demo"})
    spec.stop.until, spec.emitters.batch        # 0.9999, 200
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click

from archives.fooled import DEFAULT_THRESHOLD
from evolve.config import RunConfig, StopConditions, stop_conditions
from evolve.distributed.cluster import ClusterSettings
from evolve.emitters import emitter_settings, with_gradients
from evolve.encodings.base import Encoding
from evolve.resources import check_cpus
from fitness.class_names import MAX_CLASS_NAME
from fitness.devices import genome_device
from fitness.loading import TargetOptions, split_weights
from fitness.robust import DEFAULT_ELITES, RobustScoring
from fitness.target import Target

#: Checkpoints of a run that names no ``--checkpoint-every``: every 100 generations.
DEFAULT_CHECKPOINT_EVERY = 100
#: Transformed views per image when ``--robust`` is given without ``--robust-samples``.
DEFAULT_ROBUST_SAMPLES = 8
#: Settings of the direct encoding that ``fooling evolve`` takes from its options.
DIRECT_OPTIONS = ("mutation_rate", "mutation_eta", "crossover_rate", "crossover_eta", "halve_every")
#: Every encoding option :func:`encoding_config` reads (direct and CPPN).
ENCODING_OPTIONS = (*DIRECT_OPTIONS, "color", "cppn_config", "coordinates", "renderer")
#: Names a study or a command gives :func:`run_spec` besides the options of ``fooling evolve``:
#: an already loaded target's options, its cells as class indices, emitter settings already
#: resolved (None: the paper's operators, as in runs made before emitters), the confidence from
#: which new elites are logged, the command that writes the run, and progress bars (the
#: opposite of ``quiet``).
RESOLVED = ("target_options", "cells", "emitters", "elite_log_min", "method", "progress")


@dataclass(frozen=True)
class TargetSpec:
    """Which classifier to fool (how to load it again) and which of its classes."""

    options: TargetOptions
    only_classes: str | None = None  # comma-separated names or indices; None: every class
    cells: tuple[int, ...] | None = None  # class indices given as such (a study's real classes)

    def cells_of(self, class_names: Sequence[str]) -> list[int]:
        """The archive's cells: class indices of ``class_names`` (the loaded target's)."""
        if self.cells is not None:
            return list(self.cells)
        return select_cells(class_names, self.only_classes)


@dataclass(frozen=True)
class EncodingSpec:
    """The genomes: the encoding's name and the settings ``fooling evolve`` takes for it."""

    name: str
    mutation_rate: float
    mutation_eta: float
    crossover_rate: float
    crossover_eta: float
    halve_every: int
    color: str | None
    cppn_config: str | None
    coordinates: str
    renderer: str

    def config(self, shape: tuple[int, int, int], target_device: str) -> dict[str, Any]:
        """The encoding's config for the target's image shape and device."""
        settings = {key: getattr(self, key) for key in ENCODING_OPTIONS}
        return encoding_config(self.name, shape, target_device, settings)


@dataclass(frozen=True)
class EmitterSpec:
    """What makes each generation's children: the emitters' settings (config.json's
    ``emitters``), the batch (None: one per cell, as an ascent), generation 0's population
    (None: the batch) and the seed of the run's one generator."""

    settings: tuple[dict[str, Any], ...] | None
    batch: int | None
    initial_population: int | None
    seed: int


@dataclass(frozen=True)
class ScoringSpec:
    """How and where images are scored: robustly or not, in chunks of ``chunk`` images, on
    ``threads`` CPU threads (None: torch's choice), in this process or on a Ray cluster."""

    robust: RobustScoring | None
    chunk: int | None
    threads: int | None
    cluster: ClusterSettings | None
    oversubscribe: bool = False


@dataclass(frozen=True)
class StopSpec:
    """When the run stops (:class:`~evolve.config.StopConditions`, defaults filled in) and the
    confidence its summaries count as fooled."""

    max_generations: int | None
    max_evaluations: int | None
    time_limit_s: float | None
    until: float | None
    threshold: float

    def conditions(self) -> StopConditions:
        """As the run's :class:`StopConditions`."""
        return StopConditions(
            self.max_generations, self.max_evaluations, self.time_limit_s, self.until
        )


@dataclass(frozen=True)
class OutputSpec:
    """What the run writes: its directory (None: the caller's temporary one), whether it may
    replace an earlier run, progress bars, checkpoints, a TensorBoard log and an elite log."""

    run_dir: Path | None
    overwrite: bool
    progress: bool
    checkpoint_every: int
    tensorboard: str | None
    elite_log_min: float | None = None


@dataclass(frozen=True)
class RunSpec:
    """A new run, as asked for; ``method``: the command that writes it (evolve or ascent)."""

    target: TargetSpec
    encoding: EncodingSpec
    emitters: EmitterSpec
    scoring: ScoringSpec
    stop: StopSpec
    output: OutputSpec
    method: str = "evolve"


def run_spec(options: Mapping[str, Any]) -> RunSpec:
    """The one builder of a :class:`RunSpec`: from ``fooling evolve``'s option names (those
    left out take their defaults) and the :data:`RESOLVED` names. Bad values raise what the
    command line reports as one line (a :class:`click.UsageError`, :class:`RunError`, ...);
    an unknown name raises :class:`TypeError`."""
    # Imported here: fooling.cli's commands import this module.
    from fooling.cli.declared import EVOLVE, TARGET_GROUP, defaults, names

    known = defaults(EVOLVE)
    unknown = set(options) - set(known) - set(RESOLVED)
    if unknown:
        raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))}")
    if "target_options" in options:
        named = sorted(set(options) & set(names(TARGET_GROUP)))
        if named:
            raise TypeError(
                f"{', '.join(named)}: target options apply to a target given by name, not to "
                "a loaded one"
            )
    values = {**known, **options}
    scoring = scoring_spec(values)
    emitters = emitter_spec(values)
    return RunSpec(
        target=target_spec(values),
        encoding=encoding_spec(values),
        emitters=emitters,
        scoring=scoring,
        stop=stop_spec(values),
        output=output_spec(values),
        method=values.get("method", "evolve"),
    )


def target_spec(values: Mapping[str, Any]) -> TargetSpec:
    """The target part: a loaded target's options, or the target options by name."""
    cells = values.get("cells")
    return TargetSpec(
        options=values.get("target_options") or target_options(values),
        only_classes=values["only_classes"],
        cells=None if cells is None else tuple(cells),
    )


def target_options(values: Mapping[str, Any]) -> TargetOptions:
    """The target options (``--target`` and the options that describe the model) as
    :class:`TargetOptions`; ``--target NAME=WEIGHTS`` is ``--target NAME --weights WEIGHTS``.
    Options left out keep their defaults (retrain names only some)."""
    name, weights = split_target(values["target"], values.get("weights"))
    return TargetOptions(
        target=name,
        weights=weights,
        input_shape=values.get("input_shape"),
        class_names_file=values.get("class_names_file"),
        input_scale=values.get("input_scale", 1.0),
        mean=values.get("mean"),
        std=values.get("std"),
        outputs=values.get("model_outputs", "logits"),
        device=values.get("device", "auto"),
        max_batch=values.get("max_batch", 1024),
        image_size=genome_size(values.get("genome_size")),
        crops=values.get("crops", "resize"),
        precision=values.get("precision", "fp32"),
        channels_last=bool(values.get("channels_last", False)),
        random_weights=bool(values.get("random_weights", False)),
    )


def split_target(
    target: str, weights: str | None, option: str = "--target"
) -> tuple[str, str | None]:
    """``NAME=WEIGHTS`` or ``NAME`` with ``--weights WEIGHTS`` as (NAME, WEIGHTS): the two ways
    to name a target's weights, on every command; both at once is a usage error. ``option``:
    the option that named ``target``."""
    name, given = split_weights(target, option)
    if given is None:
        return target, weights
    if weights is not None:
        raise click.UsageError(
            f"{option} {target} names its weights, and --weights {weights} names them again: "
            "give one of them"
        )
    return name, given


def encoding_spec(values: Mapping[str, Any]) -> EncodingSpec:
    """The encoding part."""
    return EncodingSpec(values["encoding"], *(values[key] for key in ENCODING_OPTIONS))


def emitter_spec(values: Mapping[str, Any]) -> EmitterSpec:
    """The emitters part: ``--emitter`` (``grad`` with ``--gradients``) and its settings, or
    settings already resolved (a study's)."""
    if "emitters" in values:
        resolved = values["emitters"]
        settings = None if resolved is None else tuple(dict(e) for e in resolved)
    else:
        spec = with_gradients(values["emitter"]) if values["gradients"] else values["emitter"]
        settings = tuple(emitter_settings(spec, tuple(values["emitter_setting"])))
    return EmitterSpec(settings, values["batch"], values["initial_population"], values["seed"])


def scoring_spec(values: Mapping[str, Any]) -> ScoringSpec:
    """The scoring part: robust scoring, chunks, threads and the Ray cluster. A local cluster
    or a thread count beyond this machine's CPUs is refused here, before anything starts,
    unless ``oversubscribe``."""
    threads, oversubscribe = values["threads"], bool(values["oversubscribe"])
    cluster = cluster_settings(values, oversubscribe)
    if threads is not None:
        check_cpus(threads, f"--threads {threads}", oversubscribe)
    return ScoringSpec(robust_scoring(values), values["chunk"], threads, cluster, oversubscribe)


def cluster_settings(values: Mapping[str, Any], oversubscribe: bool) -> ClusterSettings | None:
    """The Ray options as :class:`ClusterSettings`, or None to score in this process (neither
    ``workers`` nor ``ray_address`` given)."""
    workers, address = values["workers"], values["ray_address"]
    threads = values["worker_threads"]
    if workers is None and not address:
        return None
    if not address:
        asked = f"--workers {workers} x --worker-threads {threads}"
        check_cpus(workers * threads, asked, oversubscribe)
    return ClusterSettings(
        workers, address or None, threads, values["worker_gpus"], values["worker_timeout"]
    )


def robust_scoring(values: Mapping[str, Any]) -> RobustScoring | None:
    """``--robust SPEC --robust-samples K --robust-reduce R --robust-elites E`` as a
    :class:`RobustScoring` (transforms for the target's channels are fitted by
    :func:`run_config`)."""
    spec = values["robust"]
    rest = ("robust_samples", "robust_reduce", "robust_elites")
    if spec is None:
        for name in rest:
            if values[name] is not None:
                raise click.UsageError(f"--{name.replace('_', '-')} needs --robust SPEC")
        return None
    if isinstance(spec, str):
        from fitness.transforms import TransformSpec

        spec = TransformSpec.parse(spec)
    samples, reduce, elites = (values[name] for name in rest)
    return RobustScoring(
        spec, samples or DEFAULT_ROBUST_SAMPLES, reduce or "mean", elites or DEFAULT_ELITES
    )


def stop_spec(values: Mapping[str, Any]) -> StopSpec:
    """The stop part: the stop options with the original code's generations where nothing
    bounds the run (:func:`evolve.config.stop_conditions`); ``--until``, when given, is also
    the threshold."""
    stop = stop_conditions(
        values["encoding"],
        values["max_generations"],
        values["max_evaluations"],
        values["time_limit"],
        values["until"],
    )
    threshold = values["threshold"] if values["threshold"] is not None else DEFAULT_THRESHOLD
    return StopSpec(
        stop.max_generations,
        stop.max_evaluations,
        stop.time_limit_s,
        stop.until,
        stop.until if stop.until is not None else threshold,
    )


def output_spec(values: Mapping[str, Any]) -> OutputSpec:
    """The output part."""
    out = values["out"]
    every = values["checkpoint_every"]
    return OutputSpec(
        run_dir=None if out is None else Path(out),
        overwrite=bool(values["overwrite"]),
        progress=bool(values["progress"]) if "progress" in values else not values["quiet"],
        checkpoint_every=DEFAULT_CHECKPOINT_EVERY if every is None else every,
        tensorboard=None if values["tensorboard"] is None else str(values["tensorboard"]),
        elite_log_min=values.get("elite_log_min"),
    )


def run_config(spec: RunSpec, target: Target, encoding: Encoding) -> RunConfig:
    """A new run's :class:`RunConfig` (config.json) as the application makes it: ``spec``
    against the loaded ``target`` with the built ``encoding``. Every command, the Python API
    and the studies come here; this computes the spec's cells, batch and fitted robust scoring,
    and :meth:`RunConfig.for_target`, the one constructor, builds the config."""
    cells = spec.target.cells_of(target.class_names)
    batch = spec.emitters.batch if spec.emitters.batch is not None else len(cells)
    robust = spec.scoring.robust
    if robust is not None:
        robust = replace(robust, transforms=robust.transforms.for_images(target.image_shape[0]))
    return RunConfig.for_target(
        target,
        encoding,
        cells,
        batch=batch,
        seed=spec.emitters.seed,
        stop=spec.stop.conditions(),
        initial_population=spec.emitters.initial_population,
        checkpoint_every=spec.output.checkpoint_every,
        threshold=spec.stop.threshold,
        elite_log_min=spec.output.elite_log_min,
        chunk=spec.scoring.chunk,
        robust=robust,
        method=spec.method,
        emitters=spec.emitters.settings,
    )


def select_cells(class_names: Sequence[str], only: str | None) -> list[int]:
    """Class indices named by ``only`` (comma-separated names or indices); all when ``None``."""
    if only is None:
        return list(range(len(class_names)))
    index_of = {name: i for i, name in enumerate(class_names)}
    cells: list[int] = []
    for part in (p.strip() for p in only.split(",")):
        if len(part) > MAX_CLASS_NAME:  # no class has such a name (fitness.class_names)
            raise click.BadParameter(
                f"{part[:40]!r}... has {len(part):,} characters; class names have at most "
                f"{MAX_CLASS_NAME}",
                param_hint="'--only-classes'",
            )
        if part in index_of:
            cell = index_of[part]
        elif part.isdigit() and int(part) < len(class_names):
            cell = int(part)
        else:
            raise click.BadParameter(
                f"{part!r} is neither a class name nor a class index", param_hint="'--only-classes'"
            )
        if cell in cells:
            raise click.BadParameter(
                f"class {part!r} is named twice", param_hint="'--only-classes'"
            )
        cells.append(cell)
    return cells


def genome_size(value: Sequence[int] | None) -> tuple[int, int] | None:
    """``--genome-size`` H or H,W as (H, W)."""
    if value is None:
        return None
    if len(value) not in (1, 2):
        raise click.BadParameter("give H or H,W", param_hint="'--genome-size'")
    return (value[0], value[-1])


def encoding_config(
    name: str,
    shape: tuple[int, int, int],
    target_device: str = "auto",
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The encoding's settings for the target's image shape and device.

    ``options`` holds encoding options by name (:data:`ENCODING_OPTIONS`); those absent keep
    the encoding's defaults. Direct genomes live on the target's GPU.
    """
    channels, height, width = shape
    options = options or {}
    config: dict[str, Any] = {"name": name, "channels": channels, "height": height, "width": width}
    if options.get("color") is not None:
        config["color"] = options["color"]
    if name == "direct":
        config.update({key: options[key] for key in DIRECT_OPTIONS if key in options})
        config["device"] = genome_device(target_device)
        return config
    cppn_config = options.get("cppn_config")
    if cppn_config is not None:
        if not Path(cppn_config).is_file():
            raise click.BadParameter(f"file not found: {cppn_config}", param_hint="'--cppn-config'")
        config["config_path"] = str(Path(cppn_config).resolve())
    config.update({key: options[key] for key in ("coordinates", "renderer") if key in options})
    return config
