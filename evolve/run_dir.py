"""The run directory: its file names, and the readers every part of the tool shares.

RUN_DIR holds ``config.json`` (enough to rerun), ``metrics.jsonl`` (one line per generation),
``summary.json`` (at each checkpoint and at the end), ``checkpoint.npz`` (archive and run state),
``archive.npz`` / ``archive.json`` (the final archive and its statistics) and, when asked for,
``elite_log.npz``. The runner writes them; the gallery, plots and studies read them through here.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from archives import EliteArchive, all_fooled
from archives.atomic import atomic_write_bytes
from evolve.errors import RunError

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "summary.json"
CHECKPOINT_FILE = "checkpoint.npz"
ARCHIVE_FILE = "archive.npz"
ARCHIVE_STATS_FILE = "archive.json"
ELITE_LOG_FILE = "elite_log.npz"
PLOT_FILE = "confidence.png"
GALLERY_DIR = "gallery"
# What --overwrite removes: only files this tool writes, never anything else in the folder.
RUN_ARTIFACTS = (
    CONFIG_FILE,
    METRICS_FILE,
    SUMMARY_FILE,
    CHECKPOINT_FILE,
    ARCHIVE_FILE,
    ARCHIVE_STATS_FILE,
    ELITE_LOG_FILE,
    PLOT_FILE,
    GALLERY_DIR,
)


def prepare_new_run_dir(run_dir: Path, overwrite: bool) -> None:
    """Create ``run_dir`` for a new run; refuse to clobber an earlier run unless ``overwrite``."""
    if run_dir.exists() and not run_dir.is_dir():
        raise RunError(f"{run_dir} exists and is not a directory")
    existing = [name for name in RUN_ARTIFACTS if (run_dir / name).exists()]
    if existing and not overwrite:
        raise RunError(
            f"{run_dir} already holds a run ({existing[0]}); use --resume to continue it "
            "or --overwrite to start again"
        )
    for name in existing:
        path = run_dir / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    run_dir.mkdir(parents=True, exist_ok=True)


def iter_metrics(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each whole record of a metrics.jsonl as (line, record); torn or foreign lines skipped.

    A line torn by kill -9 is dropped: the checkpoint, not the log, is what a run continues from.
    """
    if not path.exists():
        return
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                yield line.rstrip("\n"), record


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """The parseable records of a run's metrics.jsonl (at least one)."""
    path = run_dir / METRICS_FILE
    if not path.is_file():
        raise RunError(f"{run_dir} has no {METRICS_FILE}")
    records = [record for _, record in iter_metrics(path)]
    if not records:
        raise RunError(f"{path} holds no generation yet")
    return records


def truncate_metrics(path: Path, last_generation: int) -> None:
    """Drop metric lines after the checkpoint (and a torn last line) before a resumed run."""
    if not path.exists():
        return
    kept = [
        line + "\n"
        for line, record in iter_metrics(path)
        if record.get("generation", 1 << 62) <= last_generation
    ]
    atomic_write_bytes(path, "".join(kept).encode("utf-8"))


def first_at_threshold(path: Path, threshold: float) -> dict[str, Any] | None:
    """The first generation in metrics.jsonl at which every class was >= ``threshold``."""
    for _, record in iter_metrics(path):
        best = record.get("best_confidence") or []
        if all_fooled(best, threshold):
            return {
                "threshold": threshold,
                **{key: record[key] for key in ("generation", "evaluations", "elapsed_s")},
            }
    return None


def load_run_archive(run_dir: Path, encoding: Any) -> EliteArchive:
    """The final archive, else the last checkpoint's (a run killed before it ended)."""
    for name in (ARCHIVE_FILE, CHECKPOINT_FILE):
        if (run_dir / name).exists():
            return EliteArchive.load(run_dir / name, encoding)
    raise RunError(f"{run_dir} has no archive.npz or checkpoint.npz yet")
