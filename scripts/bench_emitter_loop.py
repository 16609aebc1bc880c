"""Loop efficiency with each emitter on MNIST: the share of a run's own clock spent scoring.

For each ``ENCODING/SPEC`` a run (``fooling.evolve``, as the command makes it) of
``--generations`` generations against ``mnist-lenet``; the target's ``scores`` (the batched
forward pass with its input conversion and the probabilities and log-odds around it) is timed
inside the run, and the efficiency is that time over the run's ``elapsed_s``: what the loop
delivers against the bare forward pass on the very images it scored, measured in the same
seconds (this machine's speed drifts, which a ratio of two separate timings would pick up).
Median over ``--rounds``. Records ``docs/benchmarks/results/NAME.json`` (:mod:`bench_results`).

    python scripts/bench_emitter_loop.py --rounds 5 --generations 40
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from bench_results import write_result

import fooling

DEFAULT = ["direct/paper:200", "direct/cma:100", "cppn/paper:200", "cppn/cma:1,paper:1:100"]


def scoring_share(target, entry: str, generations: int, seed: int) -> tuple[float, float]:
    """(share of the run's clock inside ``target.scores``, evaluations/s) of one run."""
    encoding, rest = entry.split("/", 1)
    spec, batch = rest.rsplit(":", 1)
    inside = [0.0]
    real = target.scores

    def timed(images):
        started = time.perf_counter()
        try:
            return real(images)
        finally:
            inside[0] += time.perf_counter() - started

    target.scores = timed
    try:
        run = fooling.evolve(
            target, encoding=encoding, emitter=spec, batch=int(batch),
            initial_population=int(batch), max_generations=generations, seed=seed,
        )  # fmt: skip
    finally:
        del target.scores  # the instance attribute goes; the method is back
    elapsed = run.summary["elapsed_s"]
    return inside[0] / elapsed, run.summary["evaluations"] / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emitters", nargs="+", default=DEFAULT, help="ENCODING/SPEC:BATCH")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--generations", type=int, default=40)
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--name", default="emitter_loop_mnist")
    parser.add_argument("--results-dir", type=Path)
    args = parser.parse_args()
    target = fooling.load_target("mnist-lenet", device="cpu", channels_last=args.channels_last)
    scoring_share(target, args.emitters[0], 3, 99)  # warm-up: compilation, allocator
    rows = []
    for entry in args.emitters:
        shares, rates = zip(
            *(scoring_share(target, entry, args.generations, seed) for seed in range(args.rounds)),
            strict=True,
        )
        rows.append([entry, statistics.median(shares), min(shares), statistics.median(rates)])
        print(rows[-1], flush=True)
    path = write_result(
        args.name,
        {
            "columns": ["emitter:batch", "efficiency (median)", "lowest", "evaluations/s"],
            "rows": rows,
            "formats": [None, ".3f", ".3f", ",.0f"],
        },
        title="Loop efficiency on MNIST by emitter (share of the run's clock in the forward pass)",
        command="python scripts/bench_emitter_loop.py " + " ".join(sys.argv[1:]),
        notes=f"{args.rounds} rounds of {args.generations} generations, seeds 0..",
        **({"results_dir": args.results_dir} if args.results_dir else {}),
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
