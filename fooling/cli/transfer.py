"""``fooling transfer RUN_DIR... --to TARGET... --out DIR``: do the elites fool other networks?"""

from __future__ import annotations

from pathlib import Path

import click

from archives.fooled import DEFAULT_THRESHOLD
from evolve.errors import RunError
from evolve.run_dir import removed_on_failure
from fooling.cli.options import UNIT, distinct_run_dirs, distinct_values, rescore_options


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option(
    "--to",
    "targets",
    multiple=True,
    required=True,
    help="A target to score the elites with (repeat for several): a built-in name, "
    "NAME=WEIGHTS (a built-in or package.module:factory with a state dict), or a model file. "
    "Models without an input description take the run's (shape, scale, mean, std, classes).",
)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option(
    "--threshold",
    type=UNIT,
    default=DEFAULT_THRESHOLD,
    show_default=True,
    help="Confidence counted as fooled.",
)
@rescore_options
@click.option("--overwrite", is_flag=True, help="Replace the transfer files of an earlier call.")
@click.option("--quiet", "-q", is_flag=True)
def transfer(
    run_dirs: tuple[str, ...],
    targets: tuple[str, ...],
    out_dir: str,
    threshold: float,
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
