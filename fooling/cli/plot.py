"""``fooling plot``: a run's confidence over generations and evaluations, or retraining studies
side by side."""

from __future__ import annotations

from pathlib import Path

import click

from evolve.errors import RunError


@click.command()
@click.argument("folders", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False),
    help="PNG path (default RUN_DIR/confidence.png, or rounds.png in the first study); a run's "
    "plot over evaluations and its CSV go beside it as NAME_evaluations.png and NAME_reached.csv.",
)
@click.option(
    "--log-evaluations",
    is_flag=True,
    help="Draw a run's evaluations axis on a log scale.",
)
def plot(folders: tuple[str, ...], out_file: str | None, log_evaluations: bool) -> None:
    """Plot a run's best confidence per class over generations and over evaluations (from
    metrics.jsonl; each class's first evaluation at the threshold marked, and listed in a CSV),
    or compare retraining studies (e.g. the direct and the CPPN encoding): confidence and effort
    per round.

    FOLDERS: one run directory, or one or more study directories of `fooling retrain`.
    """
    from fooling.reports.plots import plot_run
    from fooling.reports.retrain import plot_study_dirs
    from fooling.studies.retrain import STUDY_FILE

    paths = [Path(folder) for folder in folders]
    studies = [path for path in paths if (path / STUDY_FILE).is_file()]
    if studies and len(studies) != len(paths):
        raise click.UsageError("give either one run directory or only study directories")
    if studies and log_evaluations:
        raise click.UsageError("--log-evaluations applies to a run directory")
    if studies:
        target = Path(out_file) if out_file else studies[0] / "rounds.png"
        try:
            path = plot_study_dirs(studies, target)
        except (KeyError, TypeError, ValueError) as exc:  # a torn or foreign study.json/state.json
            raise RunError(f"cannot read the studies {', '.join(folders)}: {exc}") from None
    elif len(paths) > 1:
        raise click.UsageError("only study directories can be plotted together")
    else:
        written = plot_run(
            paths[0], Path(out_file) if out_file else None, log_evaluations=log_evaluations
        )
        path = ", ".join(str(p) for p in written)
    click.echo(f"wrote {path}")
