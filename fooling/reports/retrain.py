"""The retraining study's results: rounds.csv, fooling_shares.csv, report.md and rounds.png.

One row per network DNN_k: its clean test accuracy, the share of earlier rounds' fooling images it
labels "fooling", what evolution against it reached, and the wall time of each phase (the
evolution against DNN_k, the training and the evaluation of DNN_k). :func:`plot_studies` draws
several studies (e.g. one per encoding) in one figure.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from archives.atomic import atomic_write_bytes
from fooling.reports.tables import csv_bytes

PAPER_NOTE = (
    "Paper (Nguyen, Yosinski & Clune 2015, MNIST, 15 iterations): evolution still produced "
    "images classified with >= 99.99% confidence against every retrained network."
)


def share(entries: list[dict[str, Any]]) -> float | None:
    """Pooled share labelled "fooling" over ``entries`` (weighted by their image counts)."""
    images = sum(e["images"] for e in entries if e["share"] is not None)
    if not images:
        return None
    return sum(e["share"] * e["images"] for e in entries if e["share"] is not None) / images


def network_rows(state: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat record per network (the rows of rounds.csv)."""
    rows = []
    rounds = state.get("rounds", [])
    for network in state.get("networks", []):
        k = network["network"]
        training = network.get("training") or {}
        evaluation = network.get("evaluation") or {}
        detected = evaluation.get("fooling_detected", [])
        held = [d for d in detected if d["split"] == "held_out"]
        evolution = rounds[k - 1].get("evolution") if k <= len(rounds) else None
        row: dict[str, Any] = {
            "network": k,
            "fooling_in_training": training.get("fooling_in_training", 0),
            "test_accuracy": evaluation.get("test_accuracy"),
            "test_labelled_fooling": evaluation.get("test_labelled_fooling"),
            "heldout_prev_round_fooling": share([d for d in held if d["round"] == k - 1]),
            "heldout_all_rounds_fooling": share(held),
            "train_fooling_fooling": share([d for d in detected if d["split"] == "train"]),
        }
        if evolution:
            row.update(
                {
                    "runs": evolution["runs"],
                    "runs_reached": evolution["runs_reached"],
                    "median_best": evolution["median_confidence"],
                    "min_best": evolution["min_confidence"],
                    "classes_at_threshold": evolution["classes_at_threshold"],
                    "median_evals_to_threshold": evolution["median_evaluations_to_threshold"],
                    "median_gens_to_threshold": evolution["median_generations_to_threshold"],
                    "evaluations": evolution["evaluations"],
                }
            )
            for name, value in evolution["best_confidence"].items():
                row[f"best_{name}"] = value
        collection = rounds[k - 1].get("collection") if k <= len(rounds) else None
        row["evolution_s"] = evolution["seconds"] if evolution else None
        row["collection_s"] = collection["seconds"] if collection else None
        row["training_s"] = training.get("seconds")
        row["evaluation_s"] = evaluation.get("seconds")
        rows.append(row)
    return rows


def phase_totals(state: dict[str, Any]) -> dict[str, float]:
    """Wall seconds per phase over the whole study, and the processes' total."""
    networks, rounds = state.get("networks", []), state.get("rounds", [])
    evolution = sum(r["evolution"]["seconds"] for r in rounds if "evolution" in r)
    evolution += sum(run["wall_s"] for r in rounds if "evolution" not in r for run in r["runs"])
    return {
        "evolution": evolution,
        "collection": sum(r["collection"]["seconds"] for r in rounds if "collection" in r),
        "training": sum((n.get("training") or {}).get("seconds", 0.0) for n in networks),
        "evaluation": sum((n.get("evaluation") or {}).get("seconds", 0.0) for n in networks),
        "gallery_and_report": sum(r.get("gallery_s", 0.0) for r in rounds)
        + state.get("report_s", 0.0),
        "total_wall": float(sum(state.get("sessions", []))),
    }


def fmt(value: Any, spec: str = ".4f", missing: str = "–") -> str:
    """A table cell."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return missing
    return format(value, spec)


def conf(value: float | None) -> str:
    """A confidence near 1 shown with enough digits to tell 0.9999 from 0.99999."""
    return fmt(value, ".6f")


def describe(config: Any, state: dict[str, Any]) -> list[str]:
    """The study's set-up in words, and what a row of the table is (report.md and the page)."""
    data = state.get("data", {})
    return [
        f"Target {config.target.get('target')}, {config.encoding['name']} encoding; data "
        f"{data.get('source')} ({data.get('train_size')} training / {data.get('test_size')} test "
        f"images). {config.rounds} rounds of {config.runs} runs (batch {config.batch}; each run "
        f"until every class >= {config.threshold} or {budget(config)}); {config.per_round} "
        f"fooling images added per round (+{config.held_out} held out), drawn from elites >= "
        f"{config.collect_min}; each network trained "
        + ("by fine-tuning the previous one" if config.fine_tune else "from scratch")
        + f" for {config.train.epochs} epochs. Seed {config.seed}.",
        "Row k is DNN_k: its clean test accuracy, the share of fooling images it labels "
        '"fooling" (held out of round k-1; held out of all rounds < k; the training images), and '
        "the evolution against it (best confidence per class over the runs; evaluations per run "
        "until every class reached the threshold, median over the runs that did).",
    ]


def round_table(rows: list[dict[str, Any]], threshold: float) -> tuple[list[str], list[list[str]]]:
    """The per-network table as text cells: (column titles, rows)."""
    columns = [
        "DNN", "test acc.", "test→fooling", "held-out k-1", "held-out all", "train fooling",
        "median best", "min best", f"classes ≥ {threshold}", "runs reached", "evals to thr.",
        "evol. s", "train s", "eval. s",
    ]  # fmt: skip
    cells = []
    for row in rows:
        evolved = "runs" in row
        cells.append(
            [
                str(row["network"]),
                fmt(row["test_accuracy"]),
                fmt(row["test_labelled_fooling"], ".3f"),
                fmt(row["heldout_prev_round_fooling"], ".3f"),
                fmt(row["heldout_all_rounds_fooling"], ".3f"),
                fmt(row["train_fooling_fooling"], ".3f"),
                conf(row.get("median_best")),
                conf(row.get("min_best")),
                fmt(row.get("classes_at_threshold"), "d"),
                f"{row['runs_reached']}/{row['runs']}" if evolved else "–",
                fmt(row.get("median_evals_to_threshold"), ",.0f", "not reached")
                if evolved
                else "–",
                fmt(row["evolution_s"], ".1f"),
                fmt(row["training_s"], ".1f"),
                fmt(row["evaluation_s"], ".1f"),
            ]
        )
    return columns, cells


def phase_line(config: Any, state: dict[str, Any]) -> str:
    """Wall time per phase in one line."""
    totals = phase_totals(state)
    return (
        "Wall time per phase (s): "
        + ", ".join(f"{name.replace('_', ' ')} {seconds:.1f}" for name, seconds in totals.items())
        + f"; {config.threads} CPU thread(s)."
    )


def markdown(config: Any, state: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """report.md: the configuration, the per-network table, phase times and the paper's result."""
    setup, row_meaning = describe(config, state)
    columns, cells = round_table(rows, config.threshold)
    lines = [
        '# Retraining study with an extra "fooling" class',
        "",
        setup,
        "",
        row_meaning,
        "",
        "| " + " | ".join(columns) + " |",
        "|---:" * len(columns) + "|",
        *("| " + " | ".join(row) + " |" for row in cells),
        "",
        phase_line(config, state),
        "",
        PAPER_NOTE,
        "",
        "Status: " + ("finished." if state.get("finished") else "in progress."),
        "",
    ]
    return "\n".join(lines)


def budget(config: Any) -> str:
    """The per-run budget in words."""
    stop = config.stop
    parts = []
    if stop.max_generations is not None:
        parts.append(f"{stop.max_generations} generations")
    if stop.max_evaluations is not None:
        parts.append(f"{stop.max_evaluations:,} evaluations")
    if stop.time_limit_s is not None:
        parts.append(f"{stop.time_limit_s:g} s")
    return " / ".join(parts) or "no budget"


def write_reports(study_dir: Path, config: Any, state: dict[str, Any]) -> list[Path]:
    """Write every report file of a study from its state, once all of them are made (a state
    that cannot be reported on leaves the earlier files as they were); return their paths."""
    files = render_reports(study_dir, config, state)
    for path, content in files.items():
        atomic_write_bytes(path, content)
    return list(files)


def render_reports(study_dir: Path, config: Any, state: dict[str, Any]) -> dict[Path, bytes]:
    """Every report file of a study, in memory: report.md, the two CSV tables and the plot."""
    rows = network_rows(state)
    shares = [
        {"network": n["network"], "source_round": d["round"], **d}
        for n in state.get("networks", [])
        for d in (n.get("evaluation") or {}).get("fooling_detected", [])
    ]
    for entry in shares:
        entry.pop("round")
    plot = plot_png([(f"{config.encoding['name']} encoding", config.threshold, rows)])
    return {
        study_dir / "report.md": markdown(config, state, rows).encode("utf-8"),
        study_dir / "rounds.csv": csv_bytes(rows),
        study_dir / "fooling_shares.csv": csv_bytes(shares),
        study_dir / "rounds.png": plot,
    }


def plot_studies(studies: list[tuple[str, float, list[dict[str, Any]]]], out_file: Path) -> Path:
    """:func:`plot_png` written to ``out_file``."""
    atomic_write_bytes(out_file, plot_png(studies))
    return out_file


def plot_png(studies: list[tuple[str, float, list[dict[str, Any]]]]) -> bytes:
    """Confidence, effort and detection per network, one line style per study (encoding), as
    PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, middle, bottom) = plt.subplots(3, 1, figsize=(8, 9), sharex=True)
    for label, threshold, rows in studies:
        evolved = [r for r in rows if "median_best" in r]
        k = [r["network"] for r in evolved]
        median = np.array([r["median_best"] for r in evolved])
        low = np.array([r["min_best"] for r in evolved])
        (line,) = top.plot(k, np.clip(1 - median, 1e-12, 1), "o-", label=f"{label}: median")
        top.plot(
            k, np.clip(1 - low, 1e-12, 1), "v--", color=line.get_color(), label=f"{label}: min"
        )
        top.axhline(1 - threshold, color="gray", ls=":", lw=1)
        classes = [r["classes_at_threshold"] for r in evolved]
        middle.plot(k, classes, "o-", color=line.get_color(), label=label)
        for n, c, r in zip(k, classes, evolved, strict=True):
            effort = r.get("median_evals_to_threshold")
            if effort is not None:  # effort where every class reached the threshold
                middle.annotate(
                    f"{effort / 1000:.0f}k",
                    (n, c),
                    fontsize=7,
                    textcoords="offset points",
                    xytext=(0, 5),
                    ha="center",
                )
        nets = [r["network"] for r in rows if r["heldout_prev_round_fooling"] is not None]
        held = [r["heldout_prev_round_fooling"] for r in rows if r["network"] in nets]
        middle_color = line.get_color()
        bottom.plot(nets, held, "o-", color=middle_color, label=f"{label}: held-out → fooling")
        acc = [(r["network"], r["test_accuracy"]) for r in rows if r["test_accuracy"] is not None]
        if acc:
            bottom.plot(
                *zip(*acc, strict=True), "s--", color=middle_color, label=f"{label}: test accuracy"
            )
    top.set_yscale("log")
    top.set_ylabel("1 - best confidence")
    top.set_title("evolution against DNN_k (dotted: threshold)")
    top.legend(fontsize=8)
    middle.set_ylabel("classes >= threshold\n(labels: median evaluations\nuntil all reached)")
    middle.set_ylim(bottom=-0.3)
    middle.legend(fontsize=8)
    bottom.xaxis.get_major_locator().set_params(integer=True)
    bottom.set_ylim(0, 1.02)
    bottom.set_ylabel("share")
    bottom.set_xlabel("network DNN_k")
    bottom.legend(fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def plot_study_dirs(study_dirs: list[Path], out_file: Path) -> Path:
    """One figure for several studies (e.g. the direct and the CPPN encoding), from their files
    (read and checked as ``--resume`` reads them, all before the figure is written)."""
    from fooling.studies.retrain import Study

    studies = []
    for study_dir in map(Path, study_dirs):
        study = Study.resume(study_dir)
        label = f"{study.config.encoding['name']} ({study_dir.name})"
        studies.append((label, study.config.threshold, network_rows(study.state)))
    return plot_studies(studies, out_file)
