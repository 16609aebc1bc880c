"""The detection study's files: detection.csv (a row per fooling image), detection.md (AUROC,
FPR at 95% TPR and slip-through per run and detector, and what that says), roc.png (ROC curves)
and detection.json (settings, the summary and the real images' score quantiles)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from archives.atomic import atomic_write_bytes, atomic_write_json
from fooling.reports.tables import write_csv
from fooling.studies.detection import DEPLOYED_FPR, DETECTORS, TPR

CSV_FILE = "detection.csv"
MARKDOWN_FILE = "detection.md"
ROC_FILE = "roc.png"
JSON_FILE = "detection.json"
#: What ``--overwrite`` replaces; nothing else in the folder is touched.
DETECTION_FILES = (CSV_FILE, MARKDOWN_FILE, ROC_FILE, JSON_FILE)
NAMES = {"msp": "max softmax probability", "energy": "energy score"}

CSV_COLUMNS = (
    "run",
    "class",
    "run_confidence",
    "msp",
    "log_msp",
    "msp_log_odds_against",
    "energy",
    "top1_class",
    *(f"{detector}_slips_through" for detector in DETECTORS),
)


def findings(result: dict[str, Any]) -> list[str]:
    """Plain sentences per run: which detector separates best, and what slips through."""
    lines = []
    by_run: dict[str, list[dict[str, Any]]] = {}
    for row in result["summary"]:
        by_run.setdefault(row["run"], []).append(row)
    for run, rows in by_run.items():
        best = max(rows, key=lambda r: r["auroc"])
        parts = [
            f"{NAMES[r['detector']]} AUROC {r['auroc']:.3f}, "
            f"{r['slip_through_at_5_fpr']:.0%} slip through"
            for r in rows
        ]
        verdict = (
            "flags them well"
            if best["auroc"] >= 0.9
            else "flags them weakly"
            if best["auroc"] >= 0.7
            else "barely tells them from real images"
            if best["auroc"] > 0.55
            else "does not tell them from real images"
        )
        lines.append(
            f"- {run}: the better detector, {NAMES[best['detector']]}, {verdict} "
            f"({'; '.join(parts)})."
        )
    slipped = [
        f"{row['run']}/{row['class']}"
        for row in result["images"]
        if all(row[f"{d}_slips_through"] for d in DETECTORS)
    ]
    lines.append(
        f"- Fooling images that neither detector flags at {DEPLOYED_FPR:.0%} FPR: "
        + (
            f"{len(slipped)} ({', '.join(slipped[:20])}{', ...' if len(slipped) > 20 else ''})."
            if slipped
            else "none."
        )
    )
    return lines


def write_markdown(path: Path, result: dict[str, Any], target: str, run_dirs: list[str]) -> None:
    """The table per run and detector, and the findings."""
    ref = result["reference"]
    real = result["real_scores"]
    lines = [
        "# Detecting fooling images",
        "",
        f"Target {target}; real images: {ref['source']} ({ref['images']}), median MSP "
        f"{real['msp_median']:.6f} (5th percentile {real['msp_5th_percentile']:.6f}), median "
        f"energy {real['energy_median']:.3f}. AUROC: fooling images against real ones (1 = "
        f"perfectly separated, 0.5 = chance). FPR@{TPR:.0%}TPR: share of real images flagged "
        f"when {TPR:.0%} of the fooling images are. Slip through: share of fooling images not "
        f"flagged when the threshold flags {DEPLOYED_FPR:.0%} of real images.",
        "",
        "| run | detector | fooling images | AUROC | FPR@95%TPR | slip through @5%FPR |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for row in result["summary"]:
        lines.append(
            f"| {row['run']} | {NAMES[row['detector']]} | {row['fooling_images']} | "
            f"{row['auroc']:.3f} | {row['fpr_at_95_tpr']:.3f} | "
            f"{row['slip_through_at_5_fpr']:.0%} |"
        )
    lines += ["", *findings(result), "", "Runs: " + ", ".join(run_dirs), ""]
    atomic_write_bytes(path, "\n".join(lines).encode("utf-8"))


def write_roc(path: Path, result: dict[str, Any]) -> None:
    """One panel per detector: the ROC curve of each run (and of all runs together)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        1, len(DETECTORS), figsize=(5 * len(DETECTORS), 4.6), squeeze=False, layout="constrained"
    )
    aurocs = {(r["run"], r["detector"]): r["auroc"] for r in result["summary"]}
    for ax, detector in zip(axes[0], DETECTORS, strict=True):
        for curve in (c for c in result["roc"] if c["detector"] == detector):
            style = "k--" if curve["run"] == "all runs" else "-"
            label = f"{curve['run']} (AUROC {aurocs[curve['run'], detector]:.3f})"
            ax.plot(curve["fpr"], curve["tpr"], style, label=label, drawstyle="default")
        ax.plot([0, 1], [0, 1], color="0.8", linewidth=0.8)
        ax.axhline(TPR, color="0.7", linewidth=0.6, linestyle=":")
        ax.set(
            xlim=(0, 1),
            ylim=(0, 1.01),
            xlabel="real images flagged (FPR)",
            ylabel="fooling images flagged (TPR)",
            title=NAMES[detector],
        )
        ax.legend(fontsize=7, loc="lower right")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def write_detection_report(
    out_dir: Path, result: dict[str, Any], *, target: str, reference: str, run_dirs: list[str]
) -> list[Path]:
    """Write the four files into ``out_dir`` (created); return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(out_dir / CSV_FILE, result["images"], CSV_COLUMNS)
    write_markdown(out_dir / MARKDOWN_FILE, result, target, run_dirs)
    write_roc(out_dir / ROC_FILE, result)
    atomic_write_json(
        out_dir / JSON_FILE,
        {
            "runs": run_dirs,
            "target": target,
            "reference": {**result["reference"], "given": reference},
            "tpr": TPR,
            "deployed_fpr": DEPLOYED_FPR,
            "real_scores": result["real_scores"],
            "summary": result["summary"],
        },
    )
    return [out_dir / name for name in DETECTION_FILES]
