"""Benchmarks of the core engine on mnist-lenet with the direct encoding.

1. Loop efficiency: evaluations/s of the whole loop (variation, rendering, scoring, archive,
   metrics, checkpoints, as ``fooling evolve`` runs it) divided by evaluations/s of bare forward
   passes of the same target at the same batch size, measured in one process, alternating.
2. Time to fool: median over seeds of the wall seconds (target already loaded, compiled kernels
   warm) until all 10 classes are >= 0.9999.

Usage: python scripts/bench_mnist.py [--batch 200] [--seeds 5] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from evolve.config import RunConfig, StopConditions
from evolve.encodings import DirectEncoding
from evolve.runner import Evolution
from fitness.loading import TargetOptions, load_target


def machine() -> str:
    """One line describing where the figures were measured."""
    model = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0))
    threads = torch.get_num_threads()
    return f"{model}, {cores} cores, {threads} torch threads, torch {torch.__version__}"


def bare_forward_rate(target, batch: int, repeats: int) -> float:
    """Images/s of ``target.probabilities`` on one fixed batch of random 8-bit images."""
    images = DirectEncoding().express(DirectEncoding().random(batch, np.random.default_rng(0)))
    target.probabilities(images)
    start = time.perf_counter()
    for _ in range(repeats):
        target.probabilities(images)
    return batch * repeats / (time.perf_counter() - start)


def run(target, batch: int, seed: int, stop: StopConditions, folder: Path) -> dict:
    """One ``fooling evolve`` run in-process (files written as usual, no progress bar)."""
    encoding = DirectEncoding()
    config = RunConfig(
        target=TargetOptions(device="cpu").to_dict(),
        target_fingerprint=target.fingerprint,
        class_names=target.class_names,
        cell_classes=list(range(10)),
        encoding=encoding.config(),
        batch=batch,
        initial_population=batch,
        seed=seed,
        stop=stop,
    )
    evolution = Evolution.create(folder, config, target, encoding, overwrite=True, progress=False)
    return evolution.run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--generations", type=int, default=300, help="per efficiency trial")
    parser.add_argument("--trials", type=int, default=3, help="alternating efficiency trials")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    target = load_target(TargetOptions(device="cpu"), progress=True)
    folder = Path(tempfile.mkdtemp(prefix="bench_mnist_"))
    run(target, args.batch, 999, StopConditions(max_generations=5), folder / "warmup")

    forward, loop = [], []
    for trial in range(args.trials):
        forward.append(bare_forward_rate(target, args.batch, args.generations))
        summary = run(
            target,
            args.batch,
            100 + trial,
            StopConditions(max_generations=args.generations),
            folder / "loop",
        )
        loop.append(summary["evaluations_per_s"])
    efficiency = statistics.median(loop) / statistics.median(forward)

    times, generations, evaluations = [], [], []
    for seed in range(args.seeds):
        summary = run(
            target,
            args.batch,
            seed,
            StopConditions(until=0.9999, max_generations=5000),
            folder / f"s{seed}",
        )
        reached = summary["all_at_threshold"]
        times.append(reached["elapsed_s"] if reached else float("inf"))
        generations.append(reached["generation"] if reached else None)
        evaluations.append(reached["evaluations"] if reached else None)

    result = {
        "machine": machine(),
        "batch": args.batch,
        "bare_forward_evals_per_s": statistics.median(forward),
        "loop_evals_per_s": statistics.median(loop),
        "loop_efficiency": efficiency,
        "time_to_fool_s": times,
        "time_to_fool_median_s": statistics.median(times),
        "generations_to_fool": generations,
        "evaluations_to_fool": evaluations,
    }
    print(f"machine: {result['machine']}")
    print(
        f"{'batch':>6} {'bare fwd/s':>11} {'loop/s':>9} {'efficiency':>10} "
        f"{'fool median s':>13}  per seed (s)"
    )
    print(
        f"{args.batch:>6} {result['bare_forward_evals_per_s']:>11,.0f} "
        f"{result['loop_evals_per_s']:>9,.0f} {efficiency:>10.3f} "
        f"{result['time_to_fool_median_s']:>13.2f}  " + " ".join(f"{t:.2f}" for t in times)
    )
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
