"""``fooling detect RUN_DIR... --target T --reference test-digits|DIR --out DIR``: do
confidence-based detectors (maximum softmax probability, energy score) flag fooling images?"""

from __future__ import annotations

from pathlib import Path

import click

from evolve.errors import RunError
from evolve.run_dir import removed_on_failure
from fooling.cli import declared
from fooling.cli.options import distinct_run_dirs, with_weights


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False))
@declared.apply(declared.TARGET, declared.WEIGHTS)
@click.option(
    "--reference",
    default="test-digits",
    show_default=True,
    help="Real in-distribution images: test-digits (the bundled MNIST test split) or a folder "
    "of images (sub-folders included).",
)
@declared.apply(declared.OUT_FOLDER, declared.RESCORE, declared.OVERWRITE, declared.QUIET)
def detect(
    run_dirs: tuple[str, ...],
    target: str,
    weights: str | None,
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
    FPR at 95% TPR, share slipping through), roc.png and detection.json. --target is the
    network whose logits the detectors read, usually the one the runs fooled; --target
    NAME=WEIGHTS is --target NAME --weights WEIGHTS.
    """
    from fooling.reports.detection import CSV_FILE, MARKDOWN_FILE, NAMES, write_detection_report
    from fooling.studies.detection import detect as run_detect

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise RunError(f"{out} exists and is not a directory")
    if (out / CSV_FILE).exists() and not overwrite:
        raise RunError(f"{out} already holds a detection study; use --overwrite to replace it")
    target_spec = with_weights(target, weights, "--target")
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
