"""``fooling repetition RUN_DIR --out DIR``: the repetition-removal ablation with a control."""

from __future__ import annotations

from pathlib import Path

import click

from evolve.errors import RunError
from evolve.run_dir import removed_on_failure
from fooling.cli import declared
from fooling.cli.param_types import UNIT


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@declared.apply(declared.OUT_FOLDER)
@click.option(
    "--min-correlation",
    type=UNIT,
    default=0.5,
    show_default=True,
    help="Self-correlation at the period needed to count a motif as repeated.",
)
@declared.apply(declared.SEED, declared.DEVICE, declared.OVERWRITE, declared.QUIET)
def repetition(
    run_dir: str,
    out_dir: str,
    min_correlation: float,
    seed: int,
    device: str,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Remove each elite's repeated motif (keep one copy, fill the rest with the background),
    re-score it with the run's target, and compare with blanking as many random pixels.

    Detection: the self-correlation of the image shifted along rows and columns (see
    fooling/studies/repetition.py). Writes repetition.csv (confidence before, after, control;
    images without a detectable repetition are marked so and left alone), repetition.png and
    repetition.json. --seed draws the control's pixels.
    """
    from fooling.reports.repetition import CSV_FILE, write_repetition_report
    from fooling.studies.repetition import repetition_study

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise RunError(f"{out} exists and is not a directory")
    if (out / CSV_FILE).exists() and not overwrite:
        raise RunError(f"{out} already holds a repetition study; use --overwrite to replace it")
    rows, images = repetition_study(
        Path(run_dir),
        seed=seed,
        min_correlation=min_correlation,
        device=device,
        progress=not quiet,
    )
    settings = {"run_dir": str(Path(run_dir)), "seed": seed, "min_correlation": min_correlation}
    with removed_on_failure(out):
        summary = write_repetition_report(out, rows, images, settings)
    line = (
        f"{summary['with_repetition']} of {summary['elites']} elites repeat a motif "
        f"({summary['without_repetition']} without detectable repetition)"
    )
    if summary["with_repetition"]:
        line += (
            f"; median confidence {summary['median_before']:.4f} before, "
            f"{summary['median_after']:.4f} after removal, {summary['median_control']:.4f} "
            "with as many random pixels blanked"
        )
    click.echo(line)
    click.echo(f"written to {out}/ ({CSV_FILE}, repetition.png, repetition.json)")
