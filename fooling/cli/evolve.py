"""``fooling evolve``: a MAP-Elites run into a run directory, new or resumed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from fooling.cli import declared
from fooling.cli.resume import given_on_command_line, refuse_other_options
from fooling.launch import evolve_new, evolve_resumed
from fooling.run_spec import run_spec

STOP_OPTIONS = declared.STOP_OPTIONS
SCORING_OPTIONS = declared.SCORING_OPTIONS


@click.command()
@declared.apply(declared.EVOLVE)
@click.pass_context
def evolve(ctx: click.Context, **params: Any) -> None:
    """Evolve one fooling image per class with MAP-Elites and write them to --out.

    Writes config.json, metrics.jsonl (a line per generation up to 1,000, then thinned: every
    10th up to 10,000, every 100th up to 100,000, ...), summary.json, archive.npz and
    checkpoint.npz. Ctrl-C checkpoints; --resume continues exactly where the run stopped (with
    it, only the stop options, where the run is scored and --tensorboard may be given).
    --emitter cma spends far fewer evaluations than the paper's operators (the default);
    --gradients uses the model's gradients (white-box). --target NAME=WEIGHTS is --target NAME
    --weights WEIGHTS.
    """
    run_dir = Path(params["out"])
    if params["resume"]:
        refuse_other_options(
            ctx,
            {*STOP_OPTIONS, *SCORING_OPTIONS, "resume", "out", "quiet", "overwrite", "tensorboard"},
        )
        if params["overwrite"]:
            raise click.UsageError("--resume and --overwrite exclude each other")
        stop_given = {name: params[name] for name in given_on_command_line(ctx, STOP_OPTIONS)}
        where = run_spec({name: params[name] for name in SCORING_OPTIONS}).scoring
        _, summary = evolve_resumed(
            run_dir,
            stop_given,
            where,
            tensorboard=params["tensorboard"],
            progress=not params["quiet"],
        )
    else:
        _, summary = evolve_new(run_spec(params))
    report(summary, run_dir)


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
