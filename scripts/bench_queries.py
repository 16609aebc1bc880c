"""Evaluations (model queries) per fooled class, by emitter: issue 22's benchmark.

Suites (each run in memory through the Python API, so every figure is a run's own summary):

- ``mnist``: ``mnist-lenet`` (or ``--weights`` for another LeNet, e.g. a PGD-trained one), both
  encodings, each emitter and seed until every digit is >= ``--threshold``: the evaluations to
  fool all ten (the exact evaluation of the last class to get there), median over seeds.
- ``imagenet``: ``imagenet-efficientnet-lite0``, ten classes drawn from the 1,000 by a fixed
  seed (``--class-seed``; never hand-picked), a budget of ``--budget`` evaluations: the median
  and lowest best confidence per emitter.

An emitter is given as ``ENCODING/SPEC[/SETTING...]``, e.g. ``direct/cma``, ``cppn/paper``,
``cppn/cma:1,paper:1``, ``direct/cma/cma.sigma=1``. Batch and initial population per emitter
are ``--batch`` and ``--initial-population`` (the paper's operators use their batch for both).
Writes one JSON file (``--out``) with every run's figures, the machine, date and commit.

    python scripts/bench_queries.py mnist --seeds 0 1 2 3 4 --out queries_mnist.json
    python scripts/bench_queries.py imagenet --seeds 0 --budget 20000 --out queries_inet.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

import fooling

#: Per emitter: batch and initial population (the paper's: the batch for both, as its code).
SIZES = {"paper": (200, 200), "cma": (100, 10)}
DEFAULT_EMITTERS = {
    "mnist": ["direct/paper", "direct/cma", "cppn/paper", "cppn/cma:1,paper:1"],
    "imagenet": ["cppn/paper", "direct/cma"],
}


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"cpu": cpu, "cores": torch.get_num_threads(), "gpu": gpu, "torch": torch.__version__}


def commit() -> str | None:
    """The checked-out commit, if this is a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True)
        return out.stdout.strip() or None
    except OSError:
        return None


def drawn_classes(seed: int, num_classes: int = 1000, count: int = 10) -> list[int]:
    """``count`` class indices drawn by ``seed``, sorted: benchmark classes no one chose."""
    return sorted(int(c) for c in np.random.default_rng(seed).choice(num_classes, count, False))


def sizes(spec: str, args: argparse.Namespace) -> tuple[int, int]:
    """Batch and initial population for an emitter spec (the first emitter named decides)."""
    batch, initial = SIZES.get(spec.split(",")[0].split(":")[0], SIZES["paper"])
    return args.batch or batch, args.initial_population or initial


def one_run(target: Any, entry: str, seed: int, args: argparse.Namespace, **stop: Any) -> dict:
    """One run of ``entry`` (``ENCODING/SPEC[/SETTING...]``): its summary's figures."""
    encoding, spec, *settings = entry.split("/")
    batch, initial = sizes(spec, args)
    started = time.perf_counter()
    run = fooling.evolve(
        target,
        encoding=encoding,
        emitter=spec,
        emitter_setting=settings,
        batch=batch,
        initial_population=initial,
        seed=seed,
        threshold=args.threshold,
        only_classes=args.only_classes,
        **stop,
    )
    summary = run.summary
    reached = summary.get("reached") or {}
    confidences = list(summary["best_confidence"].values())
    all_at = summary["all_at_threshold"]
    return {
        "emitter": entry,
        "seed": seed,
        "batch": batch,
        "initial_population": initial,
        "evaluations": summary["evaluations"],
        "fooled_all_at": all_at["evaluations"] if all_at else None,
        "classes_at_threshold": summary["classes_at_threshold"],
        "median_confidence": statistics.median(confidences),
        "min_confidence": min(confidences),
        "best_confidence": summary["best_confidence"],
        "reached": reached,
        "emitter_queries": summary.get("emitter_queries", {}),
        "wall_s": round(time.perf_counter() - started, 1),
    }


def summarise(runs: list[dict], key: str) -> dict[str, dict]:
    """Per emitter: the median over seeds of ``key`` (None where a seed never got there)."""
    table: dict[str, dict] = {}
    for entry in dict.fromkeys(r["emitter"] for r in runs):
        values = [r[key] for r in runs if r["emitter"] == entry]
        done = [v for v in values if v is not None]
        table[entry] = {
            "median": statistics.median(done) if len(done) == len(values) else None,
            "values": values,
        }
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", choices=["mnist", "imagenet"])
    parser.add_argument("--emitters", nargs="+", help="ENCODING/SPEC[/SETTING...] entries")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--weights", help="mnist: another LeNet's weights (e.g. PGD-trained)")
    parser.add_argument("--threshold", type=float, default=0.9999)
    parser.add_argument("--budget", type=int, default=20000, help="evaluations per run")
    parser.add_argument("--class-seed", type=int, default=2026, help="imagenet: class draw")
    parser.add_argument("--batch", type=int, help="override every emitter's batch")
    parser.add_argument("--initial-population", type=int, help="override generation 0's size")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", required=True, help="JSON file to write")
    args = parser.parse_args()
    emitters = args.emitters or DEFAULT_EMITTERS[args.suite]
    if args.suite == "mnist":
        target = fooling.load_target("mnist-lenet", weights=args.weights, device=args.device)
        args.only_classes = None
        stop = {"until": args.threshold, "max_evaluations": args.budget}
    else:
        target = fooling.load_target("imagenet-efficientnet-lite0", device=args.device)
        classes = drawn_classes(args.class_seed, target.num_classes)
        args.only_classes = ",".join(str(c) for c in classes)
        stop = {"max_evaluations": args.budget, "until": args.threshold}
    runs = []
    for entry in emitters:
        for seed in args.seeds:
            runs.append(one_run(target, entry, seed, args, **stop))
            print(json.dumps({k: runs[-1][k] for k in list(runs[-1])[:10]}), flush=True)
    result = {
        "benchmark": f"queries_{args.suite}",
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ"),
        "commit": commit(),
        "machine": machine(),
        "settings": {
            "suite": args.suite,
            "threshold": args.threshold,
            "budget": args.budget,
            "weights": args.weights,
            "classes": args.only_classes,
            "command": " ".join(sys.argv),
        },
        "fooled_all_at": summarise(runs, "fooled_all_at"),
        "median_confidence": summarise(runs, "median_confidence"),
        "min_confidence": summarise(runs, "min_confidence"),
        "runs": runs,
    }
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
