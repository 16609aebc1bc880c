"""The transfer study's files: transfer.csv (a row per run, class and target), transfer.md (the
matrix of median confidence and share fooled, and what it says), transfer.png (heatmaps) and
transfer.json (settings and the matrix)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from archives.atomic import atomic_write_bytes, atomic_write_json
from fooling.reports.tables import write_csv

CSV_FILE = "transfer.csv"
MARKDOWN_FILE = "transfer.md"
HEATMAP_FILE = "transfer.png"
JSON_FILE = "transfer.json"
#: What ``--overwrite`` replaces; nothing else in the folder is touched.
TRANSFER_FILES = (CSV_FILE, MARKDOWN_FILE, HEATMAP_FILE, JSON_FILE)

CSV_COLUMNS = (
    "run",
    "class",
    "target",
    "same_network",
    "run_confidence",
    "confidence",
    "top1_class",
    "top1_confidence",
    "top1_is_evolved",
)


def _matrix(summary: list[dict[str, Any]], key: str) -> tuple[list[str], list[str], np.ndarray]:
    runs = list(dict.fromkeys(pair["run"] for pair in summary))
    targets = list(dict.fromkeys(pair["target"] for pair in summary))
    values = np.full((len(runs), len(targets)), np.nan)
    for pair in summary:
        values[runs.index(pair["run"]), targets.index(pair["target"])] = pair[key]
    return runs, targets, values


def findings(summary: list[dict[str, Any]], threshold: float) -> list[str]:
    """Plain sentences: how often images fooled a network other than their own."""
    other = [pair for pair in summary if not pair["same_network"]]
    if not other:
        return ["Every target is the network the images were evolved against: no transfer tested."]
    lines = []
    for pair in other:
        lines.append(
            f"- {pair['run']} -> {pair['target']}: {pair['fooled']} of {pair['images']} images "
            f"fool it at >= {threshold} (median confidence {pair['median_confidence']:.4f}); "
            f"its top-1 class is the evolved one for {pair['share_top1']:.0%}."
        )
    fooled = sum(pair["fooled"] for pair in other)
    total = sum(pair["images"] for pair in other)
    top1 = sum(pair["share_top1"] * pair["images"] for pair in other)
    verdict = (
        "The paper's finding (images evolved against one network also fool another) "
        + ("holds here" if fooled / total >= 0.5 else "does not hold here at this threshold")
        + f": {fooled} of {total} images ({fooled / total:.0%}) reach >= {threshold} on a network "
        f"they were not evolved against; {top1 / total:.0%} are still classified as their class."
    )
    return [verdict, "", *lines]


def write_markdown(
    path: Path, summary: list[dict[str, Any]], threshold: float, run_dirs: list[str]
) -> None:
    """The matrix (median confidence / share >= threshold / share top-1) and the findings."""
    runs, targets, _ = _matrix(summary, "median_confidence")
    by_pair = {(pair["run"], pair["target"]): pair for pair in summary}
    lines = [
        "# Transfer of fooling images",
        "",
        f"Each cell: median confidence of the evolved class / share >= {threshold} / share whose "
        "top-1 class is the evolved one, over the run's elites re-scored from their 8-bit images. "
        "(own) marks the network the run was evolved against.",
        "",
        "| run \\ target | " + " | ".join(targets) + " |",
        "| --- |" + " --- |" * len(targets),
    ]
    for run in runs:
        cells = []
        for target in targets:
            pair = by_pair.get((run, target))
            if pair is None:
                cells.append("")
                continue
            cells.append(
                f"{pair['median_confidence']:.4f} / {pair['share_fooled']:.0%} / "
                f"{pair['share_top1']:.0%}" + (" (own)" if pair["same_network"] else "")
            )
        lines.append(f"| {run} | " + " | ".join(cells) + " |")
    lines += ["", *findings(summary, threshold), "", "Runs: " + ", ".join(run_dirs), ""]
    atomic_write_bytes(path, "\n".join(lines).encode("utf-8"))


def short_label(spec: str) -> str:
    """A --to target as a heatmap label: file names without their folders."""
    if "=" in spec:
        name, weights = spec.split("=", 1)
        return f"{Path(name).name}={Path(weights).name}"
    return Path(spec).name if ("/" in spec or "\\" in spec) else spec


def write_heatmap(path: Path, summary: list[dict[str, Any]], threshold: float) -> None:
    """Two heatmaps, run x target: median confidence and share >= threshold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("median_confidence", "median confidence of the evolved class"),
        ("share_fooled", f"share >= {threshold}"),
    ]
    runs, targets, _ = _matrix(summary, "median_confidence")
    targets = [short_label(target) for target in targets]
    width = 2.5 + 1.4 * len(targets) + 0.06 * max(len(run) for run in runs)
    fig, axes = plt.subplots(
        1, 2, figsize=(2 * width, 2.4 + 0.6 * len(runs)), squeeze=False, layout="constrained"
    )
    for ax, (key, title) in zip(axes[0], panels, strict=True):
        _, _, values = _matrix(summary, key)
        image = ax.imshow(values, vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto")
        ax.set_xticks(range(len(targets)), targets, rotation=30, ha="right", fontsize=8)
        ax.set_yticks(range(len(runs)), runs, fontsize=8)
        ax.set_title(title, fontsize=10)
        for (i, j), value in np.ndenumerate(values):
            if np.isfinite(value):
                colour = "white" if value < 0.6 else "black"
                ax.text(j, i, f"{value:.3f}", ha="center", va="center", fontsize=8, color=colour)
        fig.colorbar(image, ax=ax, fraction=0.05)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def write_transfer_report(
    out_dir: Path,
    rows: list[dict[str, Any]],
    summary: list[dict[str, Any]],
    *,
    threshold: float,
    run_dirs: list[str],
    targets: list[str],
) -> list[Path]:
    """Write the four files into ``out_dir`` (created); return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(out_dir / CSV_FILE, rows, CSV_COLUMNS)
    write_markdown(out_dir / MARKDOWN_FILE, summary, threshold, run_dirs)
    write_heatmap(out_dir / HEATMAP_FILE, summary, threshold)
    atomic_write_json(
        out_dir / JSON_FILE,
        {"runs": run_dirs, "targets": targets, "threshold": threshold, "pairs": summary},
    )
    return [out_dir / name for name in TRANSFER_FILES]
