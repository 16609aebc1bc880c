"""The robustness study's page and text reports for ``fooling report DIR [--html]``: built again
from the files the study wrote (robustness.json, robustness.csv), as a
:class:`~fooling.reports.document.Report`."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from evolve.errors import RunError
from fooling.reports.document import Figure, ImageFiles, Paragraph, Report, Section, Table
from fooling.reports.robustness import (
    CSV_COLUMNS,
    CSV_FILE,
    JSON_FILE,
    MARKDOWN_FILE,
    grid_file,
    markdown,
)
from fooling.studies.study import read_json

#: The CSV's text columns; the others are numbers.
TEXT_COLUMNS = ("run", "evolved_with", "transforms", "class")


def read_study(study_dir: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(per-class rows, robustness.json) of a robustness study; a one-line error if damaged."""
    data = read_json(study_dir / JSON_FILE, "robustness study")
    path = study_dir / CSV_FILE
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        if not rows or set(rows[0]) != set(CSV_COLUMNS) or not isinstance(data.get("runs"), list):
            raise ValueError("unexpected columns or no rows")
        for row in rows:
            for key in CSV_COLUMNS:
                if key not in TEXT_COLUMNS:
                    row[key] = int(row[key]) if key == "samples" else float(row[key])
    except (OSError, ValueError, KeyError) as exc:
        raise RunError(f"{path} is unreadable or corrupt ({exc})") from None
    try:  # every field the report and the page read, read once here
        markdown(rows, data["runs"], data)
        for run in data["runs"]:
            if not (
                isinstance(run["run"], str)
                and isinstance(run["evolved_with"], str)
                and isinstance(run["threshold"], int | float)
            ):
                raise ValueError("each run needs a run name, evolved_with and a threshold")
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise RunError(f"{study_dir / JSON_FILE} is corrupt ({exc})") from None
    return rows, data


def render_text_reports(study_dir: Path) -> dict[Path, bytes]:
    """robustness.md again from robustness.json and robustness.csv, in memory."""
    rows, data = read_study(study_dir)
    return {study_dir / MARKDOWN_FILE: markdown(rows, data["runs"], data).encode("utf-8")}


def build_report(study_dir: Path, images: ImageFiles) -> Report:
    """The page: the comparison of the runs, then per run its class table and grid."""
    rows, data = read_study(study_dir)
    lines = markdown(rows, data["runs"], data).splitlines()
    intro = [lines[2]]
    columns = [
        "run", "evolved with", "generations", "evaluations", "images scored", "median clean",
        "median of means", "median of medians", "worst p5", ">= 0.5", ">= thr.",
    ]  # fmt: skip
    compare = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in lines[6 : 6 + len(data["runs"])]
    ]
    sections = [Section("Runs compared", [Table(columns, compare)])]
    for run in data["runs"]:
        table = [
            [
                row["class"],
                *(f"{row[k]:.4f}" for k in ("clean_confidence", "mean", "median", "p5", "min")),
                f"{row['share_ge_0.5']:.0%}",
                f"{row['share_ge_threshold']:.0%}",
            ]
            for row in rows
            if row["run"] == run["run"]
        ]
        blocks = [
            Paragraph(f"Evolved with: {run['evolved_with']}; threshold {run['threshold']}."),
            Table(["class", "clean", "mean", "median", "p5", "min", ">= 0.5", ">= thr."], table),
            Figure(f"../{grid_file(run['run'])}", f"{run['run']}: elites and transformed views"),
        ]
        sections.append(Section(run["run"], blocks))
    return Report("Robustness of fooling images", intro, sections)
