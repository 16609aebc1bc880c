"""``fooling ascent``: fooling images by gradient ascent, or targeted PGD / FGSM from test images,
into a run directory that gallery, plot and transfer read as they read evolve's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from evolve.config import StopConditions
from evolve.run_dir import CHECKPOINT_FILE, removed_on_failure
from fooling.attacks.steps import NORMS
from fooling.cli import declared
from fooling.cli.param_types import FiniteFloat
from fooling.cli.resume import given_on_command_line, load_for_resume, refuse_other_options
from fooling.launch import refuse_earlier_run
from fooling.run_spec import RunSpec, run_spec

#: The options that may change on --resume: when the run stops.
STOP_OPTIONS = ("steps", "until", "time_limit")
DEFAULT_STEPS = 1000
DEFAULT_LR = 0.01


@click.command()
@declared.apply(declared.TARGET_GROUP)
@click.option(
    "--start",
    type=click.Choice(["noise", "zeros", "test-images"]),
    default="noise",
    show_default=True,
    help="Start images: uniform noise, black, or a real test image of another class (MNIST's "
    "bundled test digits, or --test-dir).",
)
@click.option(
    "--test-dir",
    type=click.Path(file_okay=False),
    help="Real images for --start test-images: class sub-folders named as the target's classes.",
)
@click.option(
    "--steps",
    type=click.IntRange(min=0),
    default=DEFAULT_STEPS,
    show_default=True,
    help="Gradient steps at most (1 with --epsilon: FGSM).",
)
@click.option(
    "--lr",
    type=FiniteFloat(min=0, min_open=True),
    help="Step length in pixel units ([0, 1]): every pixel moves by lr (linf), or the "
    "image by an L2 distance of lr (l2). Default 0.01; with --epsilon, 2.5 * EPS / --steps, "
    "at most EPS (Madry et al.'s PGD rule; --steps 1 is then FGSM's step of EPS).",
)
@click.option(
    "--norm",
    type=click.Choice(NORMS),
    default="linf",
    show_default=True,
    help="Steepest ascent (and the --epsilon ball) under L-inf (sign of the gradient) or L2.",
)
@declared.apply(declared.UNTIL)
@click.option(
    "--l2",
    type=FiniteFloat(min=0),
    default=0.0,
    show_default=True,
    help="Penalty LAMBDA * ||model input||^2 subtracted from the log-probability.",
)
@click.option(
    "--blur",
    type=FiniteFloat(min=0),
    default=0.0,
    show_default=True,
    help="Gaussian blur of this sigma (pixels) every --blur-every steps (0: none; at most 8).",
)
@click.option("--blur-every", type=click.IntRange(min=1), default=4, show_default=True)
@click.option(
    "--epsilon",
    type=FiniteFloat(min=0),
    help="Targeted PGD: keep each image within EPS of its test image under --norm (pixel "
    "units: at most 1 under linf, the images' L2 diameter under l2); needs --start "
    "test-images. Saved 8-bit images respect it too.",
)
@declared.apply(
    declared.SEED,
    declared.THRESHOLD,
    declared.TIME_LIMIT,
    declared.ONLY_CLASSES,
    declared.CHECKPOINT_EVERY,
    declared.OUT,
    declared.RESUME,
    declared.OVERWRITE,
    declared.QUIET,
)
@click.pass_context
def ascent(ctx: click.Context, **kwargs: Any) -> None:
    """Gradient ascent on each class's log-probability, one image per class in one batch.

    From --start test-images with --epsilon it is targeted PGD (with --steps 1, FGSM). Writes
    a run directory like evolve's (config.json, metrics.jsonl per step, summary.json with the
    forward and backward passes, archive.npz) plus ascent.json and starts.npz; gallery, plot
    and transfer work on it. Ctrl-C checkpoints; --resume continues exactly where it stopped
    (with it, only --steps, --until and --time-limit may be given; they replace the stored
    ones). --target NAME=WEIGHTS is --target NAME --weights WEIGHTS.
    """
    from fooling.attacks.ascent import resume_ascent

    run_dir = Path(kwargs["out"])
    progress = not kwargs["quiet"]
    if kwargs["resume"]:
        refuse_other_options(ctx, {*STOP_OPTIONS, "resume", "out", "quiet", "overwrite"})
        if kwargs["overwrite"]:
            raise click.UsageError("--resume and --overwrite exclude each other")
        config, target, encoding = load_for_resume(run_dir, "ascent", progress)
        given = {name: kwargs[name] for name in given_on_command_line(ctx, STOP_OPTIONS)}
        if given:  # as evolve: the stop options given replace the stored ones as a whole
            config.stop = stop_conditions(kwargs["steps"], kwargs["time_limit"], given.get("until"))
        if "until" in given:
            config.threshold = given["until"]
        run = resume_ascent(run_dir, config, target, encoding, progress=progress)
        report(run.run(), run_dir)
        return
    # A run that fails before its first checkpoint leaves no folder it created behind.
    with removed_on_failure(run_dir, keep=lambda: (run_dir / CHECKPOINT_FILE).exists()):
        summary = new_run(kwargs).run()
    report(summary, run_dir)


def stop_conditions(steps: int, time_limit: float | None, until: float | None) -> StopConditions:
    """When an ascent stops: after ``steps``, ``time_limit`` seconds or at ``until``."""
    return StopConditions(max_generations=steps, time_limit_s=time_limit, until=until)


def step_length(lr: float | None, epsilon: float | None, steps: int) -> float:
    """The --lr asked for, else the default: 0.01 for a free ascent; for PGD, Madry et al.'s
    2.5 * epsilon / steps (enough to cross the ball from any point of it within the budget),
    at most epsilon, so that one step is FGSM's. An epsilon of 0 falls back to 0.01 (no step
    leaves the start then anyway)."""
    if lr is not None:
        return lr
    if epsilon is None or epsilon == 0:
        return DEFAULT_LR
    return min(epsilon, 2.5 * epsilon / max(steps, 1))


def new_run(kwargs: dict[str, Any]) -> Any:
    """Check the settings, load the target, then (and only then) create the run directory."""
    from fitness.loading import load_target
    from fooling.attacks.ascent import AscentSettings, start_ascent

    settings = AscentSettings(
        start=kwargs["start"],
        lr=step_length(kwargs["lr"], kwargs["epsilon"], kwargs["steps"]),
        norm=kwargs["norm"],
        l2=kwargs["l2"],
        blur=kwargs["blur"],
        blur_every=kwargs["blur_every"],
        epsilon=kwargs["epsilon"],
        test_dir=None if kwargs["test_dir"] is None else str(Path(kwargs["test_dir"]).resolve()),
    )
    problem = settings.problem()
    if problem is not None:
        raise click.UsageError(problem)
    spec = ascent_spec(kwargs)
    refuse_earlier_run(spec)
    target = load_target(spec.target.options, progress=spec.output.progress)
    problem = settings.problem(target.image_shape)  # an L2 --lr or --epsilon past the images
    if problem is not None:
        raise click.UsageError(problem)
    return start_ascent(spec, target, settings)


#: The options of ascent that are options of a run (fooling.run_spec reads them by name).
RUN_OPTIONS = (
    *declared.names(declared.TARGET_GROUP),
    "only_classes",
    "seed",
    "until",
    "time_limit",
    "threshold",
    "checkpoint_every",
    "out",
    "overwrite",
    "quiet",
)


def ascent_spec(kwargs: dict[str, Any]) -> RunSpec:
    """The run an ascent writes: one image per cell a step, --steps as its generations."""
    return run_spec(
        {
            **{name: kwargs[name] for name in RUN_OPTIONS},
            "max_generations": kwargs["steps"],
            "batch": None,
            "method": "ascent",
        }
    )


def report(summary: dict[str, Any], run_dir: Path) -> None:
    """A short human summary; summary.json holds the full one."""
    best, reached = summary["best_confidence"], summary["all_at_threshold"]
    click.echo(
        f"{summary['classes_at_threshold']}/{len(best)} classes >= {summary['threshold']} after "
        f"{summary['steps']} steps ({summary['stop_reason']}), {summary['elapsed_s']:.2f} s; "
        f"median confidence {summary['median_confidence']:.6f}"
        + (f"; all reached at step {reached['generation']}" if reached else "")
    )
    click.echo(
        f"{summary['forward_evaluations']:,} images forward in {summary['forward_calls']} "
        f"calls, {summary['backward_evaluations']:,} backward in {summary['backward_calls']}; "
        f"results in {run_dir}/ (summary.json, metrics.jsonl, archive.npz, starts.npz)"
    )
