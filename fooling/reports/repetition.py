"""The repetition study's files: repetition.csv (a row per elite), repetition.png (before, after
removal, random control) and repetition.json (the settings and the medians)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from archives.atomic import atomic_write_json
from archives.export import to_uint8, write_grid
from fooling.reports.tables import write_csv

CSV_FILE = "repetition.csv"
GRID_FILE = "repetition.png"
JSON_FILE = "repetition.json"
CSV_COLUMNS = (
    "class",
    "repetition",
    "period_y",
    "period_x",
    "correlation_y",
    "correlation_x",
    "pixels_changed",
    "confidence_before",
    "confidence_after",
    "confidence_control",
)
#: Elites shown in the grid at most (three pictures each).
GRID_ROWS = 20


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """How many elites repeat a motif; median confidences before, after and in the control."""
    found = [row for row in rows if row["repetition"]]

    def median(key: str) -> float | None:
        return float(np.median([row[key] for row in found])) if found else None

    return {
        "elites": len(rows),
        "with_repetition": len(found),
        "without_repetition": len(rows) - len(found),
        "median_before": median("confidence_before"),
        "median_after": median("confidence_after"),
        "median_control": median("confidence_control"),
    }


def write_repetition_report(
    out_dir: Path,
    rows: list[dict[str, Any]],
    images: dict[str, np.ndarray],
    settings: dict[str, Any],
) -> dict[str, Any]:
    """Write the three files into ``out_dir`` (created); return the summary."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(out_dir / CSV_FILE, rows, CSV_COLUMNS)
    summary = summarise(rows)
    found = [row for row in rows if row["repetition"]][:GRID_ROWS]
    if found:
        pictures, labels = [], []
        for k, row in enumerate(found):
            for key, what in (("before", "before"), ("after", "after"), ("control", "control")):
                pictures.append(images[key][k])
                labels.append(f"{row['class']} {what}\n{row[f'confidence_{key}']:.6f}")
        write_grid(
            out_dir / GRID_FILE,
            to_uint8(np.stack(pictures)),
            labels,
            columns=3,
            title="repetition removed (one motif kept) vs random control",
        )
    atomic_write_json(out_dir / JSON_FILE, {"settings": settings, "summary": summary})
    return summary
