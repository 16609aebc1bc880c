"""The ImageNet CPU demo and what the pages measure on it: evolution, gallery, transfer and
repetition (docs/benchmarks/imagenet-cpu.md#cpu-demo, docs/studies/transfer.md,
docs/studies/repetition.md).

Runs, one after the other, as a user would (``python -m fooling``, each timed from outside):

1. ``fooling evolve --target imagenet-efficientnet-lite0 --encoding cppn --only-classes CLASSES
   --batch 32 --initial-population 64 --max-generations 120 --channels-last --seed 0 --out OUT``;
2. ``fooling gallery OUT --size 256 --html``;
3. ``fooling transfer OUT --to <the run's target> --to <each --transfer-to> --out OUT_transfer``;
4. ``fooling repetition OUT --out OUT_repetition``;

and records three results (:mod:`bench_results`, with the machine, date, commit and load):
``--name`` (default ``imagenet_cpu_demo``: evaluations, each class's best confidence, the
seconds of evolution and gallery), ``--transfer-name`` (default ``transfer_imagenet_demo``: a
row per class, each network's confidence in the evolved class and its top-1) and
``--repetition-name`` (default ``repetition_imagenet_demo``). ``--device`` goes to every command.

    python scripts/imagenet_demo.py [--out runs/inet] [--classes "king penguin,..."]
        [--generations 120] [--batch 32] [--initial-population 64] [--seed 0]
        [--transfer-to imagenet-efficientnet-lite1 imagenet-efficientnet-lite2] [--device cpu]
        [--name NAME] [--transfer-name NAME] [--repetition-name NAME] [--label LABEL]
        [--results-dir DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench_results import (
    add_result_options,
    command_line,
    load_average,
    load_conditions,
    write_result,
)

CLASSES = "king penguin,starfish,baseball,electric guitar,remote control"
TARGET = "imagenet-efficientnet-lite0"
OTHERS = ["imagenet-efficientnet-lite1", "imagenet-efficientnet-lite2"]


def fooling(*args: str) -> float:
    """Run ``python -m fooling ARGS``; its wall seconds (exit on failure, with its status)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "fooling", *args], check=False)
    if done.returncode != 0:
        sys.exit(f"error: fooling {shlex.join(args)} exited with status {done.returncode}")
    return time.perf_counter() - started


def short(target: str) -> str:
    """A built-in ImageNet target as the tables name it (``lite0``)."""
    return target.removeprefix("imagenet-efficientnet-")


def demo_figures(out: Path) -> tuple[dict[str, Any], bool]:
    """Evaluations and each class's best confidence (3 decimals, as the page shows them), and
    whether the gallery's 8-bit PNGs score the same at that precision."""
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    figures: dict[str, Any] = {"evaluations": summary["evaluations"]}
    figures |= {name: round(value, 3) for name, value in summary["best_confidence"].items()}
    cells = json.loads((out / "gallery" / "gallery.json").read_text(encoding="utf-8"))["cells"]
    same = all(round(c["confidence"], 3) == round(c["confidence_png"], 3) for c in cells)
    return figures, same


def transfer_figures(rows: list[dict[str, str]], own: str, others: list[str]) -> dict[str, Any]:
    """The transfer table: a row per class (the own network's confidence, with its top-1 where
    that is another class; each other network's confidence / its top-1), and the medians."""
    by = {(row["class"], row["target"]): row for row in rows}
    classes = list(dict.fromkeys(row["class"] for row in rows))

    def cell(row: dict[str, str], is_own: bool) -> Any:
        confidence, top1 = float(row["confidence"]), row["top1_class"]
        top1_confidence = float(row["top1_confidence"])
        if row["top1_is_evolved"] == "True":
            return round(confidence, 3) if is_own else f"{confidence:.4f} / {top1}"
        if is_own:
            return f"{confidence:.3f} (top-1 {top1} {top1_confidence:.3f})"
        return f"{confidence:.4f} / {top1} {top1_confidence:.3f}"

    table = [
        [name, cell(by[name, own], True), *(cell(by[name, other], False) for other in others)]
        for name in classes
    ]
    medians = [
        round(statistics.median(float(by[name, target]["confidence"]) for name in classes), 4)
        for target in [own, *others]
    ]
    table.append(["median", *medians])
    return {
        "columns": [
            "class",
            f"{short(own)} (own)",
            *(f"{short(other)}: evolved class / top-1" for other in others),
        ],
        "rows": table,
        "formats": [None, ",.3f", *[",.4f"] * len(others)],
    }


def own_difference(rows: list[dict[str, str]], own: str) -> float:
    """The largest relative difference between the run's confidences and its own network's
    re-scoring of the 8-bit images."""
    return max(
        abs(float(row["confidence"]) - float(row["run_confidence"]))
        / max(float(row["run_confidence"]), 1e-300)
        for row in rows
        if row["target"] == own
    )


def main() -> None:
    """Run the demo and its studies, print and record the three results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/inet"), help="the run directory")
    parser.add_argument("--classes", default=CLASSES, help="--only-classes of the run")
    parser.add_argument("--generations", type=int, default=120)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--initial-population", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--gallery-size", type=int, default=256)
    parser.add_argument("--transfer-to", nargs="*", default=OTHERS, help="networks beside lite0")
    parser.add_argument("--device", help="for every command (default: each command's own)")
    add_result_options(parser, "imagenet_cpu_demo")
    parser.add_argument("--transfer-name", default="transfer_imagenet_demo")
    parser.add_argument("--repetition-name", default="repetition_imagenet_demo")
    args = parser.parse_args()
    if min(args.generations, args.batch, args.initial_population, args.gallery_size) < 1:
        parser.error("--generations, --batch, --initial-population and --gallery-size must be >= 1")
    device = ["--device", args.device] if args.device else []
    before = load_average()
    out = args.out
    evolve = [
        "evolve", "--target", TARGET, "--encoding", "cppn", "--only-classes", args.classes,
        "--batch", str(args.batch), "--initial-population", str(args.initial_population),
        "--max-generations", str(args.generations), "--seed", str(args.seed),
        *(["--channels-last"] if args.channels_last else []), *device, "--out", str(out),
        "--overwrite", "-q",
    ]  # fmt: skip
    gallery = ["gallery", str(out), "--size", str(args.gallery_size), "--html", "-q"]
    transfer_out, repetition_out = Path(f"{out}_transfer"), Path(f"{out}_repetition")
    transfer = ["transfer", str(out), *(f"--to={t}" for t in [TARGET, *args.transfer_to])]
    transfer += [*device, "--out", str(transfer_out), "-q"]
    repetition = ["repetition", str(out), *device, "--out", str(repetition_out), "-q"]

    fooling(*evolve)
    gallery_s = fooling(*gallery)
    fooling(*transfer)
    repetition_s = fooling(*repetition)

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    demo, same = demo_figures(out)
    demo |= {"evolution, seconds": round(summary["elapsed_s"], 1)}
    demo |= {"gallery, seconds": round(gallery_s, 1)}
    with (transfer_out / "transfer.csv").open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    moved = json.loads((repetition_out / "repetition.json").read_text(encoding="utf-8"))["summary"]
    repeated = {
        "elites": moved["elites"],
        "elites with a detectable period": moved["with_repetition"],
        "seconds": round(repetition_s, 1),
    }
    for key, value in {**demo, **repeated}.items():
        print(f"{key}: {value}")
    common = {"label": args.label, "command": command_line(), "results_dir": args.results_dir}
    conditions = load_conditions(before)

    def ran(words: list[str]) -> str:
        return "`fooling " + shlex.join(w for w in words if w not in ("-q", "--overwrite")) + "`"

    paths = [
        write_result(
            args.name,
            demo,
            title="The ImageNet CPU demo",
            conditions=conditions,
            notes=f"{ran(evolve)}, then {ran(gallery)}. The confidences are "
            + ("the same" if same else "not all the same")
            + " after re-scoring the 8-bit PNGs (3 decimals).",
            **common,
        ),
        write_result(
            args.transfer_name,
            transfer_figures(rows, TARGET, args.transfer_to),
            title="Transfer of the ImageNet CPU demo's elites",
            conditions=conditions,
            notes=f"{ran(transfer)}. {short(TARGET)} re-scores the run's own confidences from "
            f"the 8-bit images within {own_difference(rows, TARGET):.0e} relative.",
            **common,
        ),
        write_result(
            args.repetition_name,
            repeated,
            title="Repetition removal on the ImageNet CPU demo",
            conditions=conditions,
            notes=f"{ran(repetition)}.",
            **common,
        ),
    ]
    for path in paths:
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
