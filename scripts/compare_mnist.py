"""The comparison on MNIST (docs/studies/gradient.md): evolution (direct, CPPN) against gradient
ascent (plain, L2) and targeted PGD from test digits, all on the built-in LeNet until every digit
is >= 0.9999.

Each method is one ``fooling`` command (in this process, one after the other) writing a run
directory under ``--out``; the figures come from the runs' summary.json: model calls (images
scored forward) and backward passes (images) when all ten digits first reached the threshold,
and the wall seconds of the search itself (target loaded). Then ``fooling transfer`` scores
every elite with an independently trained LeNet (``--other WEIGHTS``, e.g. from
``fooling train-target mnist-lenet --seed 1 --out FILE``), and the elites are drawn in one
picture, a row per method. Records the table as ``docs/benchmarks/results/NAME.json``
(``--name``, default ``compare_mnist``; with the machine, date and commit, :mod:`bench_results`),
shown by docs/studies/gradient.md. ``--wall-name NAME`` also records the wall times alone (a
method and its seconds a row, labelled by ``--label``): the page keeps earlier measurements'
wall times beside each other in that form (``compare_mnist_wall_*``), since on a shared machine
they vary with the load while every other figure stays the same.

    python scripts/compare_mnist.py --other lenet_seed1.pt --out runs/compare [--json PATH]
        [--until 0.9999] [--name NAME] [--wall-name NAME] [--label LABEL] [--results-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path
from typing import Any

import torch
from bench_results import add_result_options, command_line, write_result

UNTIL = "0.9999"


def methods(until: str = UNTIL) -> dict[str, tuple[str, list[str]]]:
    """Each method by its key: its name in the table and its ``fooling`` command (without seed
    and output), until ``until``."""
    return {
        "direct": ("evolution, direct encoding", ["evolve", "--until", until]),
        "cppn": ("evolution, CPPN", ["evolve", "--encoding", "cppn", "--until", until]),
        "ascent": (
            "gradient ascent from noise", ["ascent", "--until", until, "--steps", "1000"],
        ),
        "l2": (
            "gradient ascent, L2 1e-4",
            ["ascent", "--until", until, "--steps", "1000", "--l2", "0.0001"],
        ),
        "pgd": (
            "targeted PGD, test digits, L-inf 0.3",
            ["ascent", "--start", "test-images", "--epsilon", "0.3", "--lr", "0.005",
             "--until", until, "--steps", "500"],
        ),
    }  # fmt: skip


METHODS = methods()


def run_method(name: str, args: list[str], out: Path) -> dict[str, Any]:
    """Run one method's command into ``out`` and read its figures back."""
    from fooling.cli import main

    load_before = os.getloadavg()
    try:
        main([*args, "--seed", "0", "--out", str(out), "--overwrite", "-q"])
    except SystemExit as exc:
        if exc.code:
            raise
    summary = json.loads((out / "summary.json").read_text())
    reached = summary["all_at_threshold"]
    return {
        "method": name,
        "command": "fooling " + " ".join(args),
        "run_dir": str(out),
        "reached": reached is not None,
        "model_calls": reached["evaluations"] if reached else None,
        "backward": reached.get("backward_evaluations", 0) if reached else None,
        "evaluations": summary["evaluations"],
        "backward_in_all": summary.get("backward_evaluations", 0),
        "wall_s": reached["elapsed_s"] if reached else summary["elapsed_s"],
        "min_confidence": summary["min_confidence"],
        # The machine is shared: wall times mean little without the load they were taken at.
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }


def transfer(rows: list[dict[str, Any]], other: str, out: Path, threshold: str = UNTIL) -> None:
    """Score every method's elites with the other LeNet; add median and share fooled (at
    ``threshold``)."""
    from fooling.cli import main

    runs = [row["run_dir"] for row in rows]
    main(
        ["transfer", *runs, "--to", f"mnist-lenet={other}", "--threshold", threshold,
         "--out", str(out), "--overwrite", "-q"]
    )  # fmt: skip
    pairs = json.loads((out / "transfer.json").read_text())["pairs"]
    by_run = {pair["run"]: pair for pair in pairs}
    for row in rows:
        pair = by_run[Path(row["run_dir"]).name]
        row.update(
            transfer_median=pair["median_confidence"],
            transfer_fooled=pair["fooled"],
            transfer_top1=pair["share_top1"],
        )


def picture(rows: list[dict[str, Any]], path: Path) -> None:
    """One row of ten digits per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fooling.api import read_run

    fig, axes = plt.subplots(len(rows), 10, figsize=(10, 1.2 * len(rows) + 0.3), squeeze=False)
    for r, row in enumerate(rows):
        images = read_run(row["run_dir"]).images()
        for c, ax in enumerate(axes[r]):
            ax.imshow(images[c, 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(str(c), fontsize=9)
        label = row["method"].replace(", ", ",\n", 1)
        axes[r, 0].set_ylabel(label, fontsize=7, rotation=0, ha="right", va="center")
    fig.subplots_adjust(left=0.2, right=0.99, top=0.93, bottom=0.01, wspace=0.05, hspace=0.1)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main() -> None:
    """Run every method, the transfer, and print the table of docs/studies/gradient.md."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--other", required=True, help="State dict of an independent LeNet.")
    parser.add_argument("--out", type=Path, default=Path("runs/compare"))
    parser.add_argument("--picture", type=Path, help="PNG of the elites (default OUT/compare.png).")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--until", default=UNTIL, help="every method's threshold (and transfer's)")
    parser.add_argument(
        "--methods", nargs="+", choices=list(METHODS), default=list(METHODS), help="default: all"
    )
    add_result_options(parser, "compare_mnist")
    parser.add_argument(
        "--wall-name", help="also record the wall times alone as this result (default: not)"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    chosen = {key: value for key, value in methods(args.until).items() if key in args.methods}
    for index, (name, command) in enumerate(chosen.values()):
        rows.append(run_method(name, command, args.out / f"{index}_{command[0]}"))
        print(json.dumps(rows[-1]), flush=True)
    transfer(rows, args.other, args.out / "transfer", args.until)
    picture(rows, args.picture or args.out / "compare.png")
    print(
        "| method | model calls (images) | backward passes (images) | wall s (1-min load) | "
        f"other LeNet: median / >= {args.until} / top-1 |"
    )
    print("| --- | --- | --- | --- | --- |")
    for row in rows:
        calls = (
            f"{row['model_calls']:,}"
            if row["reached"]
            else f"not reached (min {row['min_confidence']:.4f})"
        )
        backward = f"{row['backward']:,}" if row["reached"] else "-"
        load = f"{row['load_average_before'][0]:.1f}-{row['load_average_after'][0]:.1f}"
        print(
            f"| {row['method']} | {calls} | {backward} | {row['wall_s']:.2f} (load {load}) | "
            f"{row['transfer_median']:.4f} / {row['transfer_fooled']} of 10 / "
            f"{row['transfer_top1']:.0%} |"
        )
    machine = {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "load_average": os.getloadavg(),
    }
    print(json.dumps(machine))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "rows": rows}, indent=2) + "\n")
    path = write_result(
        args.name,
        figures(rows, args.until),
        title="Fooling images against gradient attacks on MNIST",
        command=command_line(),
        notes=f"Seed 0 for every method, until all ten digits are >= {args.until}; wall "
        "seconds of the search itself (target loaded), with the 1-minute load average before "
        "and after each method: on a shared machine they depend on the load.",
        label=args.label,
        results_dir=args.results_dir,
    )
    print(f"wrote {path}")
    if args.wall_name:
        path = write_result(
            args.wall_name,
            wall_figures(rows),
            title="Gradient attacks on MNIST, wall time",
            command=command_line(),
            conditions=wall_conditions(rows),
            label=args.label,
            results_dir=args.results_dir,
        )
        print(f"wrote {path}")


def wall_figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The wall seconds of each method's search, as gradient.md's table of earlier
    measurements shows them."""
    return {
        "columns": ["method", "wall s"],
        "rows": [[row["method"], round(row["wall_s"], 1)] for row in rows],
        "formats": [None, ",.1f"],
    }


def wall_conditions(rows: list[dict[str, Any]]) -> str:
    """The range of the 1-minute load average over the methods: what the wall times mean."""
    loads = [row[key][0] for row in rows for key in ("load_average_before", "load_average_after")]
    return f"1-minute load average {min(loads):.1f}-{max(loads):.1f}"


def figures(rows: list[dict[str, Any]], until: str) -> dict[str, Any]:
    """The table of docs/studies/gradient.md: a row per method."""
    table = []
    for row in rows:
        reached = row["reached"]
        table.append(
            [
                row["method"],
                f"`{row['command']}`",
                row["model_calls"]
                if reached
                else f"not reached: {row['min_confidence']:.5f} after "
                f"{row['evaluations']:,} images",
                row["backward"] if reached else f"({row['backward_in_all']:,} in all)",
                f"{row['wall_s']:.1f} ({row['load_average_before'][0]:.1f}-"
                f"{row['load_average_after'][0]:.1f})",
                f"{row['transfer_median']:.4f} / {row['transfer_fooled']} of 10 / "
                f"{row['transfer_top1']:.0%}",
            ]
        )
    return {
        "columns": [
            "method", "command", "model calls (images)", "backward (images)",
            "wall s (1-minute load before-after)", f"other LeNet: median / >= {until} / top-1",
        ],
        "rows": table,
    }  # fmt: skip


if __name__ == "__main__":
    main()
