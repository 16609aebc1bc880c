"""``fooling detect RUN_DIR... --target T --reference test-digits|DIR --out DIR``: do
confidence-based detectors (maximum softmax probability, energy score) flag fooling images?"""

from __future__ import annotations

from pathlib import Path

import click

from evolve.errors import RunError
from evolve.run_dir import removed_on_failure
from fooling.cli.options import distinct_run_dirs, rescore_options


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option(
    "--target",
    "target_spec",
    required=True,
    help="The network whose logits the detectors read (usually the one the runs fooled): a "
    "built-in name, NAME=WEIGHTS, or a model file (which takes the runs' input description).",
)
@click.option(
    "--reference",
    default="test-digits",
    show_default=True,
    help="Real in-distribution images: test-digits (the bundled MNIST test split) or a folder "
    "of images (sub-folders included).",
)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@rescore_options
@click.option("--overwrite", is_flag=True, help="Replace the detection files of an earlier call.")
@click.option("--quiet", "-q", is_flag=True)
def detect(
    run_dirs: tuple[str, ...],
    target_spec: str,
    reference: str,
    out_dir: str,
    device: str,
    max_batch: int,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Score the runs' elites (from their 8-bit images) and real images with two detectors.

    Maximum softmax probability and energy score, both from the target's logits in float64.
    Writes detection.csv (a row per fooling image: scores, whether each detector lets it
    through at 5% false positives on real images), detection.md (per run and detector: AUROC,
    FPR at 95% TPR, share slipping through), roc.png and detection.json.
    """
    from fooling.reports.detection import CSV_FILE, MARKDOWN_FILE, NAMES, write_detection_report
    from fooling.studies.detection import detect as run_detect

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise RunError(f"{out} exists and is not a directory")
    if (out / CSV_FILE).exists() and not overwrite:
        raise RunError(f"{out} already holds a detection study; use --overwrite to replace it")
    sources = distinct_run_dirs(run_dirs)
    result = run_detect(
        sources,
        target_spec,
        reference,
        device=device,
        max_batch=max_batch,
        progress=not quiet,
    )
    with removed_on_failure(out):
        write_detection_report(
            out,
            result,
            target=target_spec,
            reference=reference,
            run_dirs=[str(p) for p in sources],
        )
    click.echo(
        f"detection of {len(result['images'])} fooling images written to {out}/ "
        f"({CSV_FILE}, {MARKDOWN_FILE})"
    )
    for row in result["summary"]:
        click.echo(
            f"  {row['run']}, {NAMES[row['detector']]}: AUROC {row['auroc']:.3f}, FPR at 95% TPR "
            f"{row['fpr_at_95_tpr']:.3f}, {row['slip_through_at_5_fpr']:.0%} slip through at 5% FPR"
        )
