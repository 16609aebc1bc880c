"""The whole CPPN loop when the host is the limit: a run against a near-free classifier.

A ``fooling evolve --encoding cppn`` run as the command makes it (``evolve.runner.Evolution``:
breeding, compiling, rendering, scoring, archive, metrics, checkpoints), against a classifier that
costs almost nothing (one linear layer over 28x28 pixels, one torch thread), so what is measured
is the host path. Reported: evaluations/s over generations ``--from`` to ``--to``, read from the
run's own metrics.jsonl (elapsed_s and evaluations), so warm-up and compilation are excluded.
The issue's baseline is 5,400 evaluations/s over generations 800-1000 at batch 400.

    python scripts/bench_cppn_loop.py [--batch 400] [--from 800] [--to 1000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch
from bench_mnist import machine

from evolve.config import RunConfig, StopConditions
from evolve.encodings.cppn import CppnEncoding
from evolve.run_dir import read_metrics
from evolve.runner import Evolution
from fitness.loading import TargetOptions
from fitness.target import InputSpec, Target


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
    args = parser.parse_args()
    torch.set_num_threads(1)
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


if __name__ == "__main__":
    main()
