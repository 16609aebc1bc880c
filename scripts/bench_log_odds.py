"""What the log-odds cost beside scoring (docs/benchmarks/mnist.md, "The cost of the log-odds").

Elites are ranked by probability, then log-odds (docs/concepts/map-elites.md#ranking). Four
timings, in alternating rounds so that the machine's drift touches each alike, each the median
over ``--rounds`` of the mean milliseconds a call over ``--calls`` calls:

- the log-odds of ``--images`` float64 log-probabilities of 10 and of 1,000 classes
  (``fitness.scores.log_odds_from_log_probabilities``, the torch path accelerators take);
- one host pass that makes both the probabilities and the log-odds of ``--images`` float32
  logits of 10 and of 1,000 classes (``fitness.host_scores.host_scores``, the CPU's path);
- ``Target.probabilities`` and ``Target.scores`` (probabilities and log-odds) of the built-in
  LeNet on ``--images`` random MNIST-sized images.

Records them as flat figures in ``docs/benchmarks/results/NAME.json`` (``--name``, default
``log_odds_cost``; with the machine, date, commit and load, :mod:`bench_results`).

    python scripts/bench_log_odds.py [--images 200] [--calls 200] [--rounds 7] [--json PATH]
        [--name NAME] [--label LABEL] [--results-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from bench_results import (
    add_result_options,
    command_line,
    load_average,
    load_conditions,
    write_result,
)

from fitness.host_scores import host_scores
from fitness.loading import TargetOptions, load_target
from fitness.scores import log_odds_from_log_probabilities


def ms_per_call(work: Callable[[], Any], calls: int) -> float:
    """Mean milliseconds of ``calls`` calls of ``work``, back to back."""
    started = time.perf_counter()
    for _ in range(calls):
        work()
    return 1e3 * (time.perf_counter() - started) / calls


def workloads(images: int, target: Any, seed: int = 0) -> dict[str, Callable[[], Any]]:
    """Each timed call by its figure's name, on inputs made once from ``seed``."""
    rng = np.random.default_rng(seed)
    work: dict[str, Callable[[], Any]] = {}
    for classes in (10, 1000):
        logits = rng.normal(0.0, 5.0, (images, classes)).astype(np.float32)
        log_p = torch.from_numpy(logits).double().log_softmax(dim=-1)
        outputs = logits[None]  # [views, n, K], one view
        work[f"log-odds of {images} images, {classes:,} classes, ms"] = partial(
            log_odds_from_log_probabilities, log_p
        )
        host = f"one host pass, probabilities and log-odds, {images} images, {classes:,} classes"
        work[f"{host}, ms"] = partial(host_scores, outputs, True)
    batch = rng.random((images, *target.image_shape), dtype=np.float32)
    mnist = f"{images} MNIST images, ms a call"
    work[f"Target.probabilities, {mnist}"] = partial(target.probabilities, batch)
    work[f"Target.scores, {mnist}"] = partial(target.scores, batch)
    return work


def measure(work: dict[str, Callable[[], Any]], calls: int, rounds: int) -> dict[str, float]:
    """Median over ``rounds`` of each workload's ms a call; one untimed call each first
    (Numba's compilation, torch's allocator)."""
    for call in work.values():
        call()
    times: dict[str, list[float]] = {name: [] for name in work}
    for _ in range(rounds):
        for name, call in work.items():  # alternating: each round times every workload
            times[name].append(ms_per_call(call, calls))
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    """Time the four, print them and record the result."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=200, help="images a call")
    parser.add_argument("--calls", type=int, default=200, help="calls a round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    add_result_options(parser, "log_odds_cost")
    args = parser.parse_args()
    if min(args.images, args.calls, args.rounds) < 1:
        parser.error("--images, --calls and --rounds must be at least 1")
    before = load_average()
    target = load_target(TargetOptions(target="mnist-lenet", device="cpu"), progress=False)
    medians = measure(workloads(args.images, target), args.calls, args.rounds)
    for name, value in medians.items():
        print(f"{value:9.3f}  {name}")
    if args.json:
        args.json.write_text(json.dumps(medians, indent=1) + "\n", encoding="utf-8")
    path = write_result(
        args.name,
        {name: round(value, 3) for name, value in medians.items()},
        title="The cost of the log-odds",
        label=args.label,
        command=command_line(),
        conditions=load_conditions(before),
        notes=f"Medians of {args.rounds} alternating rounds of {args.calls} calls; "
        f"{torch.get_num_threads()} torch threads.",
        results_dir=args.results_dir,
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
