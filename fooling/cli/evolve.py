"""``fooling evolve``: a MAP-Elites run into a run directory, new or resumed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from evolve.config import (
    DEFAULT_CHUNK,
    DEFAULT_THRESHOLD,
    RunConfig,
    StopConditions,
    stop_conditions,
)
from evolve.emitters import with_gradients
from evolve.encodings import ENCODING_NAMES, build_encoding
from evolve.errors import RunError
from evolve.observers import Observer
from evolve.run_dir import CHECKPOINT_FILE, CONFIG_FILE, removed_on_failure
from evolve.runner import Evolution
from fitness.loading import load_target
from fitness.robust import DEFAULT_ELITES, ELITE_POLICIES, REDUCTIONS, RobustScoring
from fooling.cli.errors import USER_ERRORS
from fooling.cli.options import (
    UNIT,
    check_threads,
    cluster_settings_from,
    emitter_options,
    emitters_from,
    encoding_config,
    ray_options,
    select_cells,
    target_options,
    target_options_from,
    tensorboard_logs,
    tensorboard_option,
)
from fooling.cli.param_types import FiniteFloat, TransformSpecParam
from fooling.cli.resume import given_on_command_line, load_for_resume, refuse_other_options
from fooling.cli.scoring import make_evaluator, scoring

STOP_OPTIONS = ("until", "max_generations", "max_evaluations", "time_limit")
#: How and where a run is scored: a resumed run may change these (its results do not depend on
#: them beyond what docs/tutorials/ray.md says).
SCORING_OPTIONS = (
    "threads",
    "workers",
    "ray_address",
    "worker_threads",
    "worker_gpus",
    "worker_timeout",
    "oversubscribe",
)


@click.command()
@target_options
@click.option(
    "--encoding",
    "-e",
    type=click.Choice(ENCODING_NAMES),
    default="direct",
    show_default=True,
    help="Raw pixels (direct) or CPPN networks.",
)
@click.option(
    "--batch",
    "-b",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Children per generation, scored in one call.",
)
@click.option(
    "--initial-population",
    type=click.IntRange(min=1),
    help="Random genomes in generation 0 (default: --batch).",
)
@click.option("--seed", "-s", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--until", type=UNIT, help="Stop once every class is >= this confidence.")
@click.option(
    "--max-generations",
    type=click.IntRange(min=0),
    help="Stop after this many generations (default when no stop option is given: "
    "1010 direct, 1001 cppn, as the original code).",
)
@click.option("--max-evaluations", type=click.IntRange(min=1), help="Stop after this many images.")
@click.option(
    "--time-limit",
    type=FiniteFloat(min=0, min_open=True),
    help="Stop after this many wall seconds of evolution.",
)
@click.option(
    "--threshold",
    type=UNIT,
    default=DEFAULT_THRESHOLD,
    show_default=True,
    help="Confidence counted as fooled in summaries (default 0.9999; --until sets it).",
)
@click.option("--only-classes", help="Evolve only these classes (comma-separated names/indices).")
@click.option(
    "--mutation-rate",
    type=UNIT,
    default=0.1,
    show_default=True,
    help="Direct: per-gene mutation probability.",
)
@click.option(
    "--mutation-eta",
    type=FiniteFloat(min=0),
    default=15.0,
    show_default=True,
    help="Direct: polynomial mutation distribution index.",
)
@click.option(
    "--crossover-rate",
    type=UNIT,
    default=0.0,
    show_default=True,
    help="Direct: probability of SBX per pair (the original code used 0.5; the paper "
    "mentions none).",
)
@click.option(
    "--crossover-eta",
    type=FiniteFloat(min=0),
    default=10.0,
    show_default=True,
    help="Direct: SBX distribution index.",
)
@click.option(
    "--halve-every",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Direct: halve the mutation rate every N generations (paper: 1000; 0 = the "
    "original code's constant rate).",
)
@click.option(
    "--cppn-config",
    type=click.Path(dir_okay=False),
    help="CPPN: a neat-python INI merged over the shipped profile.",
)
@click.option(
    "--color",
    help="Reading of the outputs/genes: gray (the default for 1 channel), or rgb, hls, hls_full "
    "(3 channels; default: direct rgb, cppn hls, the original code's 8-bit HLS).",
)
@click.option(
    "--coordinates",
    type=click.Choice(["normalized", "raw"]),
    default="normalized",
    show_default=True,
    help="CPPN: x, y in [-1, 1] or the original's pixel indices.",
)
@click.option(
    "--renderer",
    type=click.Choice(["auto", "numba", "numpy", "gpu"]),
    default="auto",
    show_default=True,
    help="CPPN: renderer (auto = GPU if available, else numba).",
)
@click.option(
    "--robust",
    type=TransformSpecParam(),
    help="Score each image under random transformations, e.g. "
    "'shift=2,rotate=10,scale=0.9:1.1,noise=0.02,jpeg=60:95' or a preset (print-photo); "
    "transforms: perspective, crop, scale, rotate, shift, contrast, brightness, color, blur, "
    "noise, jpeg. See docs/studies/robustness.md.",
)
@click.option(
    "--robust-samples",
    type=click.IntRange(min=1),
    help="With --robust: transformed views per image, all scored in one call (default 8).",
)
@click.option(
    "--robust-reduce",
    type=click.Choice(REDUCTIONS),
    help="With --robust: an image's fitness is the mean (default) or the minimum over its views.",
)
@click.option(
    "--robust-elites",
    type=click.Choice(ELITE_POLICIES),
    help="With --robust: paired (default) scores every elite again each generation under the "
    "same views as the children; rescore under fresh views of its own; average keeps the mean "
    "of all an elite's rescores; keep keeps the score an elite entered with (its luckiest).",
)
@emitter_options
@click.option(
    "--gradients",
    is_flag=True,
    help="White-box: ascend each class's log-odds with the target's gradients (the grad "
    "emitter, --emitter grad; either encoding, in this process, not with --robust). Its "
    "forward and backward passes are counted in summary.json's emitter_queries.",
)
@click.option(
    "--checkpoint-every",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Checkpoint every N generations (and on SIGINT/SIGTERM and at the end).",
)
@click.option(
    "--out", "-o", "run_dir", required=True, type=click.Path(file_okay=False), help="Run directory."
)
@click.option("--resume", is_flag=True, help="Continue the run in --out from its checkpoint.")
@click.option("--overwrite", is_flag=True, help="Replace an earlier run in --out.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.option(
    "--chunk",
    type=click.IntRange(min=1),
    default=DEFAULT_CHUNK,
    show_default=True,
    help="Images scored together, in this process and on each Ray worker alike (results do "
    "not depend on --workers). With Ray, a few chunks per worker and generation keep all busy.",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    help="CPU threads of torch and Numba in this process (default: torch's choice). Runs "
    "with the same --threads equal Ray runs with that --worker-threads, bit for bit (with "
    "--gradients, give the Ray run that --threads too: the grad emitter runs in this process).",
)
@ray_options
@tensorboard_option
@click.pass_context
def evolve(ctx: click.Context, **kwargs: Any) -> None:
    """Evolve one fooling image per class with MAP-Elites and write them to --out.

    Writes config.json, metrics.jsonl (a line per generation up to 1,000, then thinned: every
    10th up to 10,000, every 100th up to 100,000, ...), summary.json, archive.npz and
    checkpoint.npz. Ctrl-C checkpoints; --resume continues exactly where the run stopped.
    --emitter cma spends far fewer evaluations than the paper's operators (the default);
    --gradients uses the model's gradients (white-box).
    """
    run_dir = Path(kwargs.pop("run_dir"))
    progress = not kwargs.pop("quiet")
    cluster = cluster_settings_from(kwargs)
    threads = kwargs.pop("threads")
    check_threads(threads, kwargs.pop("oversubscribe"))
    stop_given = {name: kwargs[name] for name in given_on_command_line(ctx, STOP_OPTIONS)}
    tensorboard = kwargs.pop("tensorboard")
    if kwargs.pop("resume"):
        refuse_other_options(
            ctx,
            {*STOP_OPTIONS, *SCORING_OPTIONS, "resume", "run_dir", "quiet", "overwrite"}
            | {"tensorboard"},
        )
        if kwargs["overwrite"]:
            raise click.UsageError("--resume and --overwrite exclude each other")
        observers = tensorboard_logs(tensorboard, new=False, overwrite=False)(Path())
        with scoring(cluster, threads) as evaluators:
            summary = resume_run(run_dir, stop_given, progress, evaluators, observers)
    else:
        observers = tensorboard_logs(tensorboard, new=True, overwrite=kwargs["overwrite"])(Path())
        with scoring(cluster, threads) as evaluators:
            summary = new_run(run_dir, kwargs, stop_given, progress, evaluators, observers)
    report(summary, run_dir)


def stop_from_options(stop_given: dict[str, Any], encoding: str) -> StopConditions:
    """The stop conditions given on the command line (see :func:`evolve.config.stop_conditions`)."""
    return stop_conditions(
        encoding,
        stop_given.get("max_generations"),
        stop_given.get("max_evaluations"),
        stop_given.get("time_limit"),
        stop_given.get("until"),
    )


#: Transformed views per image when --robust is given without --robust-samples.
DEFAULT_ROBUST_SAMPLES = 8


def robust_from_options(kwargs: dict[str, Any]) -> RobustScoring | None:
    """``--robust SPEC --robust-samples K --robust-reduce R --robust-elites E`` as a
    :class:`RobustScoring`."""
    names = ("robust", "robust_samples", "robust_reduce", "robust_elites")
    spec, samples, reduce, elites = (kwargs.pop(k) for k in names)
    if spec is None:
        for name, value in zip(names[1:], (samples, reduce, elites), strict=True):
            if value is not None:
                raise click.UsageError(f"--{name.replace('_', '-')} needs --robust SPEC")
        return None
    return RobustScoring(
        spec, samples or DEFAULT_ROBUST_SAMPLES, reduce or "mean", elites or DEFAULT_ELITES
    )


def new_run(
    run_dir: Path,
    kwargs: dict[str, Any],
    stop_given: dict[str, Any],
    progress: bool,
    evaluators: Any = None,
    observers: Sequence[Observer] = (),
) -> dict[str, Any]:
    """Validate everything, load the target, then (and only then) create the run directory."""
    robust = robust_from_options(kwargs)
    if kwargs.pop("gradients"):
        kwargs["emitter"] = with_gradients(kwargs["emitter"])
    emitters = emitters_from(kwargs)
    options = target_options_from(kwargs)
    stop = stop_from_options(stop_given, kwargs["encoding"])
    if (run_dir / CONFIG_FILE).exists() and not kwargs["overwrite"]:
        raise RunError(
            f"{run_dir} already holds a run; use --resume to continue it or "
            "--overwrite to start again"
        )
    target = load_target(options, progress=progress)
    cells = select_cells(target.class_names, kwargs["only_classes"])
    if robust is not None:
        robust = replace(robust, transforms=robust.transforms.for_images(target.image_shape[0]))
    try:
        encoding = build_encoding(
            encoding_config(kwargs["encoding"], target.image_shape, options.device, kwargs)
        )
    except ValueError as exc:
        if isinstance(exc, USER_ERRORS):
            raise
        raise click.UsageError(str(exc)) from None
    config = RunConfig.for_target(
        target,
        encoding,
        cells,
        batch=kwargs["batch"],
        seed=kwargs["seed"],
        stop=stop,
        initial_population=kwargs["initial_population"],
        checkpoint_every=kwargs["checkpoint_every"],
        threshold=kwargs["threshold"],
        chunk=kwargs["chunk"],
        robust=robust,
        emitters=emitters,
    )
    # A run that fails before its first checkpoint leaves no folder it created behind.
    with removed_on_failure(run_dir, keep=lambda: (run_dir / CHECKPOINT_FILE).exists()):
        evolution = Evolution.create(
            run_dir,
            config,
            target,
            encoding,
            overwrite=kwargs["overwrite"],
            progress=progress,
            evaluator=make_evaluator(evaluators, encoding, target, config),
            observers=observers,
        )
        return evolution.run()


def resume_run(
    run_dir: Path,
    stop_given: dict[str, Any],
    progress: bool,
    evaluators: Any = None,
    observers: Sequence[Observer] = (),
) -> dict[str, Any]:
    """Continue a run from its own config.json and checkpoint (one `fooling evolve` wrote)."""
    config, target, encoding = load_for_resume(run_dir, "evolve", progress)
    if stop_given:
        # Stop options given on --resume replace the stored ones as a whole, with a new run's
        # defaults: "--max-generations 2000" must continue a run that had met its --until.
        config.stop = stop_from_options(stop_given, config.encoding.get("name", "direct"))
    if "until" in stop_given:
        config.threshold = stop_given["until"]
    evaluator = make_evaluator(evaluators, encoding, target, config)
    return Evolution.resume(
        run_dir,
        config,
        target,
        encoding,
        progress=progress,
        evaluator=evaluator,
        observers=observers,
    ).run()


def report(summary: dict[str, Any], run_dir: Path) -> None:
    """A short human summary; summary.json holds the full one."""
    best = summary["best_confidence"]
    reached = summary["all_at_threshold"]
    click.echo(
        f"{summary['classes_at_threshold']}/{len(best)} classes >= {summary['threshold']} after "
        f"{summary['generations']} generations, {summary['evaluations']:,} evaluations, "
        f"{summary['elapsed_s']:.2f} s ({summary['stop_reason']}); median confidence "
        f"{summary['median_confidence']:.6f}"
        + (f"; all reached at {reached['elapsed_s']:.2f} s" if reached else "")
        + (
            f" (evaluation {reached['evaluation']:,})"
            if reached and reached.get("evaluation")
            else ""
        )
    )
    click.echo(f"results in {run_dir}/ (summary.json, metrics.jsonl, archive.npz)")
