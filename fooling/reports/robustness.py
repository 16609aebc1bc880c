"""The robustness study's files: robustness.csv (a row per run and class), robustness.md (a table
per run and a comparison of the runs), robustness.json (settings and per-run summaries) and
``grid_RUN.png`` (each elite beside its first transformed views, labelled with their confidence).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from archives.atomic import atomic_write_bytes, atomic_write_json
from archives.export import to_uint8, write_grid
from fooling.reports.tables import write_csv
from fooling.studies.retrain import STUDY_FILE
from fooling.studies.robustness import ROBUSTNESS_FORMAT

CSV_FILE = "robustness.csv"
MARKDOWN_FILE = "robustness.md"
JSON_FILE = "robustness.json"
#: Classes shown in a grid picture (a 1000-class grid would be unreadable).
GRID_CLASSES = 12

CSV_COLUMNS = (
    "run",
    "evolved_with",
    "transforms",
    "class",
    "samples",
    "run_confidence",
    "clean_confidence",
    "mean",
    "median",
    "p5",
    "min",
    "share_ge_0.5",
    "threshold",
    "share_ge_threshold",
)


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else "?"


def markdown(
    rows: list[dict[str, Any]], summaries: list[dict[str, Any]], settings: dict[str, Any]
) -> str:
    """The comparison of the runs, then a table per run (per class)."""
    lines = [
        "# Robustness of fooling images",
        "",
        f"Transforms: `{settings['transforms']}` ({settings['samples']} random views per elite, "
        f"seed {settings['seed']}); every elite re-scored from its 8-bit image by the network "
        "it was evolved against. *clean*: the untransformed image; *mean*, *median*, *p5* "
        "(5th percentile): the evolved class's probability over the views; *>= 0.5*, "
        "*>= thr.*: the share of views at or above 0.5 and the run's threshold.",
        "",
        "| run | evolved with | generations | evaluations | images scored | median clean "
        "| median of means | median of medians | worst p5 | >= 0.5 | >= thr. |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in summaries:
        lines.append(
            f"| {s['run']} | {s['evolved_with']} | {_count(s['generations'])} "
            f"| {_count(s['evaluations'])} | {_count(s['target_queries'])} "
            f"| {s['median_clean']:.4f} | {s['median_mean']:.4f} | {s['median_median']:.4f} "
            f"| {s['min_p5']:.4f} | {s['share_ge_0.5']:.0%} | {s['share_ge_threshold']:.0%} |"
        )
    for s in summaries:
        lines += [
            "",
            f"## {s['run']} ({s['evolved_with']}; threshold {s['threshold']})",
            "",
            "| class | clean | mean | median | p5 | min | >= 0.5 | >= thr. |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in (r for r in rows if r["run"] == s["run"]):
            lines.append(
                f"| {row['class']} | {row['clean_confidence']:.4f} | {row['mean']:.4f} "
                f"| {row['median']:.4f} | {row['p5']:.4f} | {row['min']:.4f} "
                f"| {row['share_ge_0.5']:.0%} | {row['share_ge_threshold']:.0%} |"
            )
    return "\n".join(lines) + "\n"


def grid_file(label: str) -> str:
    """``grid_LABEL.png`` with a file-safe label."""
    return "grid_" + (re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_") or "run") + ".png"


def write_grid_picture(path: Path, result: Any) -> None:
    """A row per elite (at most :data:`GRID_CLASSES`): the clean image, then its first views."""
    source = result.source
    shown = min(GRID_CLASSES, len(source.classes))
    views = len(result.examples)
    images, labels = [], []
    for i in range(shown):
        name = source.class_names[int(source.classes[i])]
        images.append(source.images[i])
        labels.append(f"{name}\nclean {result.clean[i]:.4f}")
        for k in range(views):
            images.append(result.examples[k, i])
            labels.append(f"view {k + 1}\n{result.example_scores[k, i]:.4f}")
    write_grid(
        path,
        to_uint8(np.stack(images)),
        labels,
        columns=1 + views,
        title=f"{source.label}: the elite, then transformed views (confidence of its class)",
    )


def write_robustness_report(
    out_dir: Path,
    results: list[Any],
    rows: list[dict[str, Any]],
    summaries: list[dict[str, Any]],
    settings: dict[str, Any],
) -> list[Path]:
    """Write the CSV, the markdown, the JSON and a grid per run into ``out_dir`` (created)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / CSV_FILE, out_dir / MARKDOWN_FILE, out_dir / JSON_FILE]
    write_csv(written[0], rows, CSV_COLUMNS)
    atomic_write_bytes(written[1], markdown(rows, summaries, settings).encode("utf-8"))
    atomic_write_json(written[2], {**settings, "runs": summaries})
    # study.json names the kind of study, so ``fooling report DIR [--html]`` works on it.
    written.append(out_dir / STUDY_FILE)
    atomic_write_json(written[-1], {"format": ROBUSTNESS_FORMAT, "version": 1, **settings})
    for result in results:
        path = out_dir / grid_file(result.source.label)
        write_grid_picture(path, result)
        written.append(path)
    return written
