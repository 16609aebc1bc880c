"""``fooling report STUDY_DIR``: a study's reports again from its state, and ``--html`` a page."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("study_dir", type=click.Path(file_okay=False))
@click.option(
    "--html",
    is_flag=True,
    help="Also write STUDY_DIR/report/index.html (and each round's gallery page).",
)
def report(study_dir: str, html: bool) -> None:
    """Write a study's reports (report.md, CSV tables, plot) again from its state.json.

    With --html, STUDY_DIR/report/index.html shows the per-round table, the plots, a link to
    each round's gallery, and each round's fooling images with the labels the next network gives
    them. The study folder opens from the file system and can be shared as it is.

    STUDY_DIR: a study directory, e.g. of `fooling retrain`.
    """
    from fooling.reports.study_report import write_study_report

    path = Path(study_dir)
    if not path.is_dir():
        raise click.UsageError(f"no such study directory: {study_dir}")
    for written in write_study_report(path, html=html):
        click.echo(f"wrote {written}")
