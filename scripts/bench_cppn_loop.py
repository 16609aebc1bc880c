"""The whole CPPN loop when the host is the limit: a run against a near-free classifier.

A ``fooling evolve --encoding cppn`` run as the command makes it (``evolve.runner.Evolution``:
breeding, compiling, rendering, scoring, archive, metrics, checkpoints), against a classifier that
costs almost nothing (one linear layer over 28x28 pixels, one torch thread), so what is measured
is the host path. Reported: evaluations/s over generations ``--from`` to ``--to``, read from the
run's own metrics.jsonl (elapsed_s and evaluations), so warm-up and compilation are excluded.
The issue's baseline is 5,400 evaluations/s over generations 800-1000 at batch 400 (the loop
before genomes became arrays); the speed-up against it is recorded at that setting only.
Records the figures as ``docs/benchmarks/results/NAME.json`` (``--name``, default
``cppn_loop_host``; with the machine, date and commit, :mod:`bench_results`), shown by
docs/benchmarks/cppn.md.

    python scripts/bench_cppn_loop.py [--batch 400] [--from 800] [--to 1000] [--seed 0]
        [--json PATH] [--name NAME] [--results-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch
from bench_mnist import machine
from bench_results import (
    add_result_options,
    command_line,
    load_average,
    load_conditions,
    write_result,
)

from evolve.config import RunConfig, StopConditions
from evolve.encodings.cppn import CppnEncoding
from evolve.run_dir import read_metrics
from evolve.runner import Evolution
from fitness.loading import TargetOptions
from fitness.target import InputSpec, Target

#: evaluations/s of the loop before genomes became arrays, at batch 400 over generations 800-1000.
BASELINE = 5400
BASELINE_SETTING = (400, 800, 1000)


def near_free_target() -> Target:
    """Ten classes from one linear layer over a 28x28 gray image (fixed random weights)."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(28 * 28, 10)).eval()
    target = Target(model, InputSpec(1, 28, 28), [str(i) for i in range(10)])
    target.options = TargetOptions(target="bench:linear", input_shape=(1, 28, 28), device="cpu")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=400)
    parser.add_argument("--from", dest="start", type=int, default=800)
    parser.add_argument("--to", dest="end", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the result here")
    add_result_options(parser, "cppn_loop_host")
    args = parser.parse_args()
    torch.set_num_threads(1)
    load_before = load_average()
    target = near_free_target()
    encoding = CppnEncoding()
    config = RunConfig.for_target(
        target,
        encoding,
        list(range(10)),
        batch=args.batch,
        seed=args.seed,
        stop=StopConditions(max_generations=args.end),
    )
    with tempfile.TemporaryDirectory() as folder:
        run_dir = Path(folder) / "run"
        Evolution.create(run_dir, config, target, encoding, progress=False).run()
        records = {r["generation"]: r for r in read_metrics(run_dir)}
    first, last = records[args.start], records[args.end]
    rate = (last["evaluations"] - first["evaluations"]) / (last["elapsed_s"] - first["elapsed_s"])
    result = {
        "machine": machine(),
        "batch": args.batch,
        "generations": [args.start, args.end],
        "evaluations_per_s": rate,
        "ms_per_generation": 1e3 * args.batch / rate,
    }
    print(
        f"{machine()}\nCPPN loop, batch {args.batch}, near-free classifier: "
        f"{rate:,.0f} evaluations/s over generations {args.start}-{args.end} "
        f"({result['ms_per_generation']:.2f} ms per generation)"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    figures = {
        f"evaluations/s, generations {args.start}-{args.end}": round(rate),
        "ms per generation": round(result["ms_per_generation"], 2),
    }
    if (args.batch, args.start, args.end) == BASELINE_SETTING:
        figures["before genomes became arrays, evaluations/s"] = BASELINE
        figures["speed-up (goal >= 10x)"] = f"{rate / BASELINE:.1f}x"
    path = write_result(
        args.name,
        figures,
        title="CPPN loop against a near-free classifier",
        command=command_line(),
        conditions=load_conditions(load_before),
        notes=f"batch {args.batch}, seed {args.seed}, one torch thread; rate from the run's own "
        "metrics.jsonl (warm-up and compilation excluded).",
        label=args.label,
        results_dir=args.results_dir,
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
