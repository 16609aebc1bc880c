"""``fooling transfer RUN_DIR... --to TARGET... --out DIR``: do the elites fool other networks?"""

from __future__ import annotations

from pathlib import Path

import click

from archives.fooled import DEFAULT_THRESHOLD
from evolve.errors import RunError
from evolve.run_dir import removed_on_failure
from fooling.cli import declared
from fooling.cli.options import distinct_run_dirs, distinct_values, with_weights


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option(
    "--to",
    "targets",
    multiple=True,
    required=True,
    help="A target to score the elites with (repeat for several): a built-in name, "
    "NAME=WEIGHTS (a built-in or package.module:factory with a state dict; with one --to, "
    "--weights WEIGHTS says the same), or a model file. Models without an input description "
    "take the run's (shape, scale, mean, std, classes).",
)
@declared.apply(
    declared.WEIGHTS,
    declared.OUT_FOLDER,
    declared.THRESHOLD,
    declared.RESCORE,
    declared.OVERWRITE,
    declared.QUIET,
)
def transfer(
    run_dirs: tuple[str, ...],
    targets: tuple[str, ...],
    weights: str | None,
    out_dir: str,
    threshold: float | None,
    device: str,
    max_batch: int,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Re-score every elite of the runs, from its 8-bit image, with every --to target.

    Writes transfer.csv (per run, class and target: the probability of the evolved class, the
    target's top-1 class and its probability), transfer.md (median confidence and share fooled
    per run and target, and what that says), transfer.png (heatmaps) and transfer.json.
    """
    from fooling.reports.transfer import CSV_FILE, write_transfer_report
    from fooling.studies.transfer import transfer as run_transfer

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise RunError(f"{out} exists and is not a directory")
    if (out / CSV_FILE).exists() and not overwrite:
        raise RunError(f"{out} already holds a transfer study; use --overwrite to replace it")
    if threshold is None:
        threshold = DEFAULT_THRESHOLD
    if weights is not None:
        if len(targets) != 1:
            raise click.UsageError(
                "--weights goes with a single --to; with several, give each its weights as "
                "--to NAME=WEIGHTS"
            )
        targets = (with_weights(targets[0], weights, "--to"),)
    sources = distinct_run_dirs(run_dirs)
    targets = tuple(distinct_values(targets, "--to"))
    rows, summary = run_transfer(
        sources,
        list(targets),
        threshold=threshold,
        device=device,
        max_batch=max_batch,
        progress=not quiet,
    )
    with removed_on_failure(out):
        write_transfer_report(
            out,
            rows,
            summary,
            threshold=threshold,
            run_dirs=[str(p) for p in sources],
            targets=list(targets),
        )
    click.echo(f"transfer of {len(rows)} image scores written to {out}/ ({CSV_FILE}, transfer.md)")
    for pair in summary:
        click.echo(
            f"  {pair['run']} -> {pair['target']}{' (own)' if pair['same_network'] else ''}: "
            f"median {pair['median_confidence']:.4f}, {pair['fooled']}/{pair['images']} "
            f">= {threshold}"
        )
