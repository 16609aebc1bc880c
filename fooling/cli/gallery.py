"""``fooling gallery RUN_DIR``: PNG grid, one PNG per elite, arrays, and 8-bit re-scores."""

from __future__ import annotations

from pathlib import Path

import click


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
@click.option("--quiet", "-q", is_flag=True)
def gallery(run_dir: str, size: int | None, out_dir: str | None, columns: int, quiet: bool) -> None:
    """Write a PNG grid, one PNG per elite and lossless arrays; re-score the 8-bit images."""
    from fooling.reports.gallery import make_gallery

    result = make_gallery(
        Path(run_dir),
        Path(out_dir) if out_dir else None,
        size=size,
        columns=columns,
        progress=not quiet,
    )
    worst = min((c["confidence_png"] for c in result["cells"]), default=float("nan"))
    click.echo(
        f"gallery of {len(result['cells'])} elites in {result['out_dir']}/ "
        f"(grid.png, gallery.json); lowest re-scored 8-bit confidence {worst:.6f}"
    )
