"""CSV tables beside every report: one writer, so every command's CSV reads the same way."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from archives.atomic import atomic_write_bytes


def write_csv(
    path: Path, rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None
) -> None:
    """Write ``rows`` atomically as CSV (:func:`csv_bytes`)."""
    atomic_write_bytes(path, csv_bytes(rows, columns))


def csv_bytes(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> bytes:
    """``rows`` as CSV with a header, floats with all their digits, UTF-8.

    ``columns`` orders (and limits) the columns; None takes the union of the rows' keys in
    first-seen order. A missing value or None is an empty cell.
    """
    if columns is None:
        seen: dict[str, None] = {}
        for row in rows:
            seen.update(dict.fromkeys(row))
        columns = list(seen)
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore"
    )
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")
