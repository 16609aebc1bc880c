"""``fooling ascent``: fooling images by gradient ascent, or targeted PGD / FGSM from test images,
into a run directory that gallery, plot and transfer read as they read evolve's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from evolve.config import DEFAULT_THRESHOLD, StopConditions
from evolve.errors import Interrupted, RunError
from evolve.run_dir import CONFIG_FILE
from fooling.attacks.steps import NORMS
from fooling.cli.options import UNIT, select_cells, target_options, target_options_from
from fooling.cli.param_types import FiniteFloat


@click.command()
@target_options
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
    default=1000,
    show_default=True,
    help="Gradient steps at most (1 with --epsilon: FGSM).",
)
@click.option(
    "--lr",
    type=FiniteFloat(min=0, min_open=True),
    default=0.01,
    show_default=True,
    help="Step length in pixel units ([0, 1]): every pixel moves by lr (linf), or the "
    "image by an L2 distance of lr (l2).",
)
@click.option(
    "--norm",
    type=click.Choice(NORMS),
    default="linf",
    show_default=True,
    help="Steepest ascent (and the --epsilon ball) under L-inf (sign of the gradient) or L2.",
)
@click.option("--until", type=UNIT, help="Stop once every class is >= this confidence.")
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
    help="Gaussian blur of this sigma (pixels) every --blur-every steps (0: none).",
)
@click.option("--blur-every", type=click.IntRange(min=1), default=4, show_default=True)
@click.option(
    "--epsilon",
    type=FiniteFloat(min=0),
    help="Targeted PGD: keep each image within EPS of its test image under --norm (pixel "
    "units); needs --start test-images. Saved 8-bit images respect it too.",
)
@click.option("--seed", "-s", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--threshold",
    type=UNIT,
    default=DEFAULT_THRESHOLD,
    show_default=True,
    help="Confidence counted as fooled in summaries (--until sets it).",
)
@click.option(
    "--time-limit",
    type=FiniteFloat(min=0, min_open=True),
    help="Stop after this many wall seconds.",
)
@click.option("--only-classes", help="Only these classes (comma-separated names/indices).")
@click.option(
    "--checkpoint-every",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Write checkpoint.npz and summary.json every N steps.",
)
@click.option(
    "--out", "-o", "run_dir", required=True, type=click.Path(file_okay=False), help="Run directory."
)
@click.option("--overwrite", is_flag=True, help="Replace an earlier run in --out.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def ascent(**kwargs: Any) -> None:
    """Gradient ascent on each class's log-probability, one image per class in one batch.

    From --start test-images with --epsilon it is targeted PGD (with --steps 1, FGSM). Writes
    a run directory like evolve's (config.json, metrics.jsonl per step, summary.json with the
    forward and backward passes, archive.npz) plus ascent.json and starts.npz; gallery, plot
    and transfer work on it.
    """
    from fitness.loading import load_target
    from fooling.attacks.ascent import AscentRun, AscentSettings

    run_dir = Path(kwargs.pop("run_dir"))
    progress = not kwargs.pop("quiet")
    options = target_options_from(kwargs)
    settings = AscentSettings(
        start=kwargs["start"],
        lr=kwargs["lr"],
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
    if (run_dir / CONFIG_FILE).exists() and not kwargs["overwrite"]:
        raise RunError(f"{run_dir} already holds a run; use --overwrite to start again")
    target = load_target(options, progress=progress)
    run = AscentRun.start(
        run_dir,
        target,
        settings,
        cells=select_cells(target.class_names, kwargs["only_classes"]),
        seed=kwargs["seed"],
        stop=StopConditions(
            max_generations=kwargs["steps"],
            time_limit_s=kwargs["time_limit"],
            until=kwargs["until"],
        ),
        threshold=kwargs["until"] if kwargs["until"] is not None else kwargs["threshold"],
        checkpoint_every=kwargs["checkpoint_every"],
        overwrite=kwargs["overwrite"],
        progress=progress,
    )
    try:
        summary = run.run()
    except Interrupted as exc:  # evolve's message offers a --resume, which an ascent has not
        raise Interrupted(
            exc.signum,
            f"interrupted at step {run.state.generation}; the best images so far are in "
            f"{run_dir}/archive.npz (an ascent does not resume: run it again)",
        ) from None
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
