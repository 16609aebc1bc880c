"""``fooling plot``: best confidence per class over generations, from metrics.jsonl."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from archives.atomic import atomic_write_bytes
from evolve.config import RunConfig
from evolve.errors import RunError
from evolve.runner import CONFIG_FILE, METRICS_FILE


def read_metrics(run_dir: Path) -> list[dict]:
    """The parseable lines of a run's metrics.jsonl."""
    path = run_dir / METRICS_FILE
    if not path.is_file():
        raise RunError(f"{run_dir} has no {METRICS_FILE}")
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line torn by kill -9; the checkpoint is what counts
    if not records:
        raise RunError(f"{path} holds no generation yet")
    return records


def plot_run(run_dir: Path, out_file: Path | None = None) -> Path:
    """Two panels: confidence, and 1 - confidence on a log scale (where 0.9999 is visible)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    config = RunConfig.load(run_dir / CONFIG_FILE)
    records = read_metrics(run_dir)
    generations = np.array([r["generation"] for r in records])
    best = np.array([r["best_confidence"] for r in records], dtype=np.float64)
    names = config.cell_names
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7), sharex=True)
    many = len(names) > 20
    for index, name in enumerate(names):
        kwargs = {"color": "tab:blue", "alpha": 0.15, "lw": 0.8} if many else {"label": name}
        top.plot(generations, best[:, index], **kwargs)
        kwargs.pop("label", None)  # the top panel's legend names the classes
        bottom.plot(generations, np.clip(1.0 - best[:, index], 1e-12, 1.0), **kwargs)
    if many:
        top.plot(generations, np.median(best, axis=1), color="black", label="median")
    top.set_ylabel("best confidence")
    top.set_ylim(0, 1.01)
    top.legend(ncol=5, fontsize=8, loc="lower right")
    bottom.set_yscale("log")
    bottom.axhline(
        1.0 - config.threshold, color="gray", ls="--", lw=1, label=f"threshold {config.threshold}"
    )
    bottom.set_ylabel("1 - best confidence")
    bottom.set_xlabel("generation")
    bottom.legend(fontsize=8, loc="lower left")
    fig.suptitle(f"{config.target.get('target')} · {config.encoding['name']} encoding")
    fig.tight_layout()
    out_file = out_file or run_dir / "confidence.png"
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(out_file, buffer.getvalue())
    return out_file
