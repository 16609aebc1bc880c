"""``fooling plot``: best confidence per class over generations, from metrics.jsonl."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from archives.atomic import atomic_write_bytes
from evolve.config import RunConfig
from evolve.run_dir import CONFIG_FILE, PLOT_FILE, read_metrics


def plot_run(run_dir: Path, out_file: Path | None = None) -> Path:
    """Two panels: confidence, and 1 - confidence on a log scale (where 0.9999 is visible)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    config = RunConfig.load(run_dir / CONFIG_FILE)
    records = read_metrics(run_dir, thinned=True)
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
    out_file = out_file or run_dir / PLOT_FILE
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(out_file, buffer.getvalue())
    return out_file
