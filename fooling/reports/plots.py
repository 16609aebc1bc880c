"""``fooling plot``: best confidence per class over generations and over evaluations, from
metrics.jsonl, and when each class first met the run's threshold (queries to success)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from archives.atomic import atomic_write_bytes
from archives.first_reached import UNKNOWN, FirstReached
from evolve.config import RunConfig
from evolve.run_dir import (
    CONFIG_FILE,
    EVALUATIONS_PLOT_SUFFIX,
    PLOT_FILE,
    REACHED_CSV_SUFFIX,
    read_first_reached,
    read_metrics,
)

#: More classes than this are drawn as faint lines with their median and minimum, no legend.
MANY_CLASSES = 20
REACHED_COLUMNS = (
    "class",
    "class_index",
    "threshold",
    "evaluation",
    "generation",
    "evaluations_by",
)


def plot_files(out_file: Path) -> tuple[Path, Path, Path]:
    """The three files of one plot: over generations (``out_file``), over evaluations, and the
    per-class CSV, the latter two named after the first."""
    stem = out_file.name.removesuffix(".png")
    return (
        out_file,
        out_file.with_name(stem + EVALUATIONS_PLOT_SUFFIX),
        out_file.with_name(stem + REACHED_CSV_SUFFIX),
    )


def plot_run(
    run_dir: Path, out_file: Path | None = None, *, log_evaluations: bool = False
) -> tuple[Path, Path, Path]:
    """Write the confidence plots over generations and over evaluations (each two panels:
    confidence, and 1 - confidence on a log scale, where 0.9999 is visible) and the CSV of each
    class's first evaluation at the threshold; return their paths."""
    config = RunConfig.load(run_dir / CONFIG_FILE)
    records = read_metrics(run_dir, thinned=True)
    names = config.cell_names
    first = read_first_reached(run_dir, names, config.cell_classes, config.threshold)
    best = np.array([r["best_confidence"] for r in records], dtype=np.float64)
    title = f"{config.target.get('target')} · {config.encoding['name']} encoding"
    generations_png, evaluations_png, reached_csv = plot_files(out_file or run_dir / PLOT_FILE)
    generations = np.array([r["generation"] for r in records])
    _write_figure(generations_png, generations, best, names, config.threshold, title, "generation")
    evaluations = np.array([r["evaluations"] for r in records])
    _write_figure(
        evaluations_png,
        evaluations,
        best,
        names,
        config.threshold,
        title,
        "evaluations (images scored)",
        first=first,
        log_x=log_evaluations,
    )
    atomic_write_bytes(reached_csv, reached_table(first, names, config.cell_classes).encode())
    return generations_png, evaluations_png, reached_csv


def reached_table(first: FirstReached, names: list[str], cell_classes: list[int]) -> str:
    """The CSV: per class, the first evaluation and generation at the threshold (empty where it
    has not met it; ``evaluation`` empty and ``evaluations_by`` an upper bound where only the
    generation is known)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(REACHED_COLUMNS)
    for cell, name in enumerate(names):
        entry = first.entry(cell) or {}
        evaluation = entry.get("evaluation")
        writer.writerow(
            [
                name,
                cell_classes[cell],
                first.threshold,
                "" if evaluation is None else evaluation,
                entry.get("generation", ""),
                entry.get("evaluations_by", ""),
            ]
        )
    return buffer.getvalue()


def _write_figure(
    path: Path,
    x: np.ndarray,
    best: np.ndarray,
    names: list[str],
    threshold: float,
    title: str,
    x_label: str,
    *,
    first: FirstReached | None = None,
    log_x: bool = False,
) -> None:
    """One figure of confidence against ``x``; with ``first``, each class's first evaluation at
    the threshold marked on the lower panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7), sharex=True)
    many = len(names) > MANY_CLASSES
    colours = []
    for index, name in enumerate(names):
        kwargs: dict[str, Any] = (
            {"color": "tab:blue", "alpha": 0.15, "lw": 0.8} if many else {"label": name}
        )
        (line,) = top.plot(x, best[:, index], **kwargs)
        colours.append(line.get_color())
        kwargs.pop("label", None)  # the top panel's legend names the classes
        bottom.plot(x, np.clip(1.0 - best[:, index], 1e-12, 1.0), **kwargs)
    if many:
        top.plot(x, np.median(best, axis=1), color="black", label="median")
        top.plot(x, best.min(axis=1), color="tab:red", lw=1, label="min")
    top.set_ylabel("best confidence")
    top.set_ylim(0, 1.01)
    top.legend(ncol=5, fontsize=8, loc="lower right")
    bottom.set_yscale("log")
    bottom.axhline(1.0 - threshold, color="gray", ls="--", lw=1, label=f"threshold {threshold}")
    if first is not None:
        _mark_first_reached(bottom, first, colours, threshold)
    if log_x:
        bottom.set_xscale("log")
    bottom.set_ylabel("1 - best confidence")
    bottom.set_xlabel(x_label)
    bottom.legend(fontsize=8, loc="lower left")
    fig.suptitle(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def _mark_first_reached(
    axes: Any, first: FirstReached, colours: list[str], threshold: float
) -> None:
    """A dot on the threshold line at each class's first evaluation there (a hollow one at the
    end of its generation where the evaluation is unknown), and a line where the last did."""
    reached = first.reached
    exact = reached & (first.evaluation != UNKNOWN)
    bound = reached & (first.evaluation == UNKNOWN)
    y = 1.0 - threshold
    for mask, hollow, label in ((exact, False, "first at threshold"), (bound, True, "by then")):
        cells = np.flatnonzero(mask)
        if cells.size == 0:
            continue
        x = first.evaluation[cells] if not hollow else first.evaluations_by[cells]
        colour = [colours[c] for c in cells]
        axes.scatter(
            x,
            np.full(cells.size, y),
            s=28,
            zorder=3,
            facecolors="none" if hollow else colour,
            edgecolors=colour,
            label=f"{label} ({cells.size})",
        )
    last = first.all_evaluation()
    if last is not None:
        axes.axvline(last, color="black", ls=":", lw=1, label=f"all at threshold: {last:,}")
