"""``fooling gallery RUN_DIR``: PNG grid, one PNG per elite, arrays, 8-bit re-scores, and with
``--html`` a page to browse them."""

from __future__ import annotations

from pathlib import Path

import click

from fooling.cli import declared


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option(
    "--size",
    type=click.IntRange(min=1),
    help="Render elites at SIZE x SIZE too (CPPN: any size; direct: upscaled).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Gallery folder (default RUN_DIR/gallery).",
)
@click.option("--columns", type=click.IntRange(min=1), default=5, show_default=True)
@click.option(
    "--html",
    is_flag=True,
    help="Also write index.html: search, sort, threshold and details; opens offline.",
)
@click.option(
    "--grid/--no-grid",
    default=True,
    show_default=True,
    help="Write grid.png (a minute's work and unreadable for 1000 classes: use --html).",
)
@declared.apply(declared.QUIET)
def gallery(
    run_dir: str,
    size: int | None,
    out_dir: str | None,
    columns: int,
    html: bool,
    grid: bool,
    quiet: bool,
) -> None:
    """Write a PNG grid, one PNG per elite and lossless arrays; re-score the 8-bit images.

    With --html, RUN_DIR/gallery/index.html shows every elite as a card (evolved and re-scored
    confidence, generation, evaluation) to search by class, sort and click for the top-5
    classes; the folder opens from the file system and can be shared as it is.
    """
    from evolve.run_dir import GALLERY_DIR, removed_on_failure
    from fooling.reports.gallery import make_gallery
    from fooling.reports.gallery_html import write_gallery_html

    folder = Path(out_dir) if out_dir else Path(run_dir) / GALLERY_DIR
    with removed_on_failure(folder):  # a gallery that fails half-way leaves no partial folder
        result = make_gallery(
            Path(run_dir), folder, size=size, columns=columns, grid=grid, progress=not quiet
        )
        files = ["gallery.json"] + (["grid.png"] if grid else [])
        if html:
            files.append(write_gallery_html(Path(result["out_dir"]), result).name)
    worst = min(c["confidence_png"] for c in result["cells"])
    click.echo(
        f"gallery of {len(result['cells'])} elites in {result['out_dir']}/ "
        f"({', '.join(files)}); lowest re-scored 8-bit confidence {worst:.6f}"
    )
