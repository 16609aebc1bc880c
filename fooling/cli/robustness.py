"""``fooling robustness RUN_DIR... --transforms SPEC --samples M --out DIR``: does the confidence
of the elites survive random transformations (a printed and photographed image, JPEG, ...)?"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from evolve.errors import RunError
from evolve.run_dir import removed_on_failure
from fooling.cli import declared
from fooling.cli.options import distinct_run_dirs
from fooling.cli.param_types import TransformSpecParam

#: The most views per elite --samples may ask for: 100,000 views of 10 MNIST elites take minutes
#: on a CPU; a trillion died in a memory traceback after minutes of silence.
MAX_SAMPLES = 100_000


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option(
    "--transforms",
    required=True,
    type=TransformSpecParam(identity=False),
    help="SPEC of the random transformations, e.g. 'shift=2,rotate=10,jpeg=60:95', or a preset: "
    "print-photo (perspective warp, blur, noise, colour and brightness shift, JPEG).",
)
@click.option(
    "--samples",
    "-m",
    type=click.IntRange(min=1, max=MAX_SAMPLES),
    default=100,
    show_default=True,
    help=f"Random transformed views per elite (at most {MAX_SAMPLES:,}).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Seed of the draws (independent of the runs' own generators).",
)
@declared.apply(
    declared.THRESHOLD,
    declared.OUT_FOLDER,
    declared.RESCORE,
    declared.OVERWRITE,
    declared.QUIET,
)
def robustness(run_dirs: tuple[str, ...], out_dir: str, **kwargs: Any) -> None:
    """Re-score every elite of the runs under random transformations.

    Each elite's 8-bit image is scored by its run's own network as it is and under --samples
    random views. Writes robustness.csv (per run and class: mean, median, 5th percentile and
    minimum confidence, share of views >= 0.5 and >= the threshold), robustness.md,
    robustness.json and grid_RUN.png (the elite beside transformed views).
    """
    from fooling.reports.robustness import CSV_FILE, MARKDOWN_FILE, write_robustness_report
    from fooling.studies.robustness import robustness as run_robustness

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise RunError(f"{out} exists and is not a directory")
    if (out / CSV_FILE).exists() and not kwargs["overwrite"]:
        raise RunError(f"{out} already holds a robustness study; use --overwrite to replace it")
    transforms = kwargs["transforms"]
    sources = distinct_run_dirs(run_dirs)
    results, rows, summaries = run_robustness(
        sources,
        transforms,
        samples=kwargs["samples"],
        seed=kwargs["seed"],
        threshold=kwargs["threshold"],
        device=kwargs["device"],
        max_batch=kwargs["max_batch"],
        progress=not kwargs["quiet"],
    )
    settings = {
        "transforms": transforms.describe(),
        "transform_ranges": transforms.to_dict(),
        "samples": kwargs["samples"],
        "seed": kwargs["seed"],
        "run_dirs": [str(p) for p in sources],
    }
    with removed_on_failure(out):
        write_robustness_report(out, results, rows, summaries, settings)
    click.echo(f"robustness of {len(rows)} elites written to {out}/ ({CSV_FILE}, {MARKDOWN_FILE})")
    for s in summaries:
        click.echo(
            f"  {s['run']} ({s['evolved_with']}): median clean {s['median_clean']:.4f}, "
            f"median of means {s['median_mean']:.4f}, worst p5 {s['min_p5']:.4f}, "
            f"{s['share_ge_0.5']:.0%} of views >= 0.5"
        )
