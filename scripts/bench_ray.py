"""Ray scoring against in-process scoring, and the driver's ceiling (docs/benchmarks/ray.md).

1. Throughput: EfficientNet-Lite0 on the CPU, CPPN colour genomes (224x224, HLS), generations of
   ``--batch`` (32): evaluations/s of the in-process evaluator with torch and Numba on 2 threads
   (one chunk of 32), against 2 Ray workers of 1 thread each (chunks of 16, one per worker), after
   one warm-up generation; the genomes are varied ``--grow`` times first so they have hidden nodes.
2. The driver's ceiling: whole MAP-Elites generations (sample, vary, compile and pack, dispatch,
   insert) of ``--ceiling-batch`` (400) CPPN genomes over 1000 cells, with a null scorer (random
   probabilities, nothing rendered or scored) on 2 Ray workers, and in this process for
   comparison; evaluations/s and bytes sent per generation (payloads out, scores back:
   probabilities and log-odds, float64).

``--runs N`` repeats both N times in one Ray session, a column per run. Records the two tables
as ``docs/benchmarks/results/NAME.json`` (``--name``, default ``ray_throughput``) and
``CEILING_NAME.json`` (``--ceiling-name``, default ``ray_ceiling``), with the machine, date and
commit (:mod:`bench_results`); docs/benchmarks/ray.md shows them.

    python scripts/bench_ray.py [--batch 32] [--generations 5] [--runs 3] [--json PATH]
        [--name NAME] [--ceiling-name NAME] [--results-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from bench_results import add_result_options, command_line, write_result

from evolve.config import RunConfig, StopConditions
from evolve.distributed.evaluator import RayEvaluator, payload_bytes
from evolve.distributed.worker import ScoringWorker, set_threads
from evolve.encodings.cppn import CppnEncoding
from evolve.evaluator import LocalEvaluator
from evolve.runner import Evolution
from fitness.loading import TargetOptions, load_target
from fitness.scores import Scores, log_odds_from_log_probabilities

SCRIPTS = Path(__file__).resolve().parent


def random_scores(count: int, num_classes: int, seed: int) -> Scores:
    """Random distributions and their log-odds: what a real scorer sends back, in size."""
    p = np.random.default_rng(seed).random((count, num_classes))
    p /= p.sum(axis=1, keepdims=True)
    log_odds = log_odds_from_log_probabilities(torch.from_numpy(np.log(p))).numpy()
    return Scores(p, log_odds)


class NullWorker(ScoringWorker):
    """A worker that scores nothing: random scores for each chunk (the driver's ceiling)."""

    def __init__(self, spec: Any, weights: Any, encoding_config: Any, threads: int) -> None:
        set_threads(threads)
        self.num_classes = len(spec.class_names)

    def score(self, index: int, payload: Any) -> tuple[int, Scores]:
        """Random scores, one row per genome of the chunk."""
        return index, random_scores(len(payload), self.num_classes, index)


class NullEvaluator:
    """The in-process twin of :class:`NullWorker`: packs each chunk as a worker would receive it
    (so the driver's compile cost is counted), then random probabilities."""

    def __init__(self, encoding: CppnEncoding, num_classes: int, chunk: int) -> None:
        self.encoding, self.num_classes, self.chunk, self.queries = encoding, num_classes, chunk, 0

    def __call__(self, genomes: Any, rng: Any = None) -> Scores:
        parts = []
        for index, start in enumerate(range(0, len(genomes), self.chunk)):
            payload = self.encoding.payload(genomes[start : start + self.chunk])
            parts.append(random_scores(len(payload), self.num_classes, index))
        self.queries += len(genomes)
        return Scores.concatenate(parts)


def grown_population(encoding: CppnEncoding, n: int, rounds: int) -> Any:
    """``n`` genomes varied ``rounds`` times from the initial wiring (hidden nodes appear)."""
    rng = np.random.default_rng(0)
    genomes = encoding.random(n, rng)
    for generation in range(rounds):
        genomes = encoding.vary(genomes, rng, generation + 1)
    return genomes


def evals_per_s(evaluator: Any, genomes: Any, generations: int) -> float:
    """Evaluations/s over ``generations`` calls after one warm-up call."""
    evaluator(genomes)
    started = time.perf_counter()
    for _ in range(generations):
        evaluator(genomes)
    return generations * len(genomes) / (time.perf_counter() - started)


def lite0() -> Any:
    """EfficientNet-Lite0 on the CPU."""
    return load_target(TargetOptions(target="imagenet-efficientnet-lite0", device="cpu"))


def throughput(args: argparse.Namespace, ray: Any) -> dict[str, Any]:
    """Part 1: in-process (2 threads) against 2 Ray workers of 1 thread."""
    target = lite0()
    encoding = CppnEncoding(channels=3, height=224, width=224, renderer="numba")
    genomes = grown_population(encoding, args.batch, args.grow)
    set_threads(2)
    local = evals_per_s(LocalEvaluator(encoding, target, args.batch), genomes, args.generations)
    set_threads(1)  # the driver only packs and waits; the cores are the workers'
    chunk = args.batch // 2
    with RayEvaluator(encoding, target, chunk, workers=2, threads=1) as evaluator:
        remote = evals_per_s(evaluator, genomes, args.generations)
    return {
        "target": "imagenet-efficientnet-lite0",
        "encoding": "cppn 3x224x224 hls",
        "batch": args.batch,
        "hidden_nodes_mean": float(np.mean(genomes.num_nodes)) - 3,
        "in_process_2_threads_evals_per_s": local,
        "ray_2_workers_1_thread_evals_per_s": remote,
        "ray_chunk": chunk,
        "ratio": remote / local,
    }


def ceiling(args: argparse.Namespace) -> dict[str, Any]:
    """Part 2: whole generations with a null scorer, on Ray and in this process."""
    target = lite0()
    results: dict[str, Any] = {"batch": args.ceiling_batch, "chunk": args.ceiling_chunk}
    for mode in ("ray", "in_process"):
        encoding = CppnEncoding(channels=3, height=224, width=224, renderer="numba")
        config = RunConfig.for_target(
            target,
            encoding,
            list(range(1000)),
            batch=args.ceiling_batch,
            seed=0,
            stop=StopConditions(max_generations=args.ceiling_generations),
            chunk=args.ceiling_chunk,
        )
        if mode == "ray":
            evaluator: Any = RayEvaluator(
                encoding, target, args.ceiling_chunk, workers=2, threads=1, worker_class=NullWorker
            )
        else:
            evaluator = NullEvaluator(encoding, 1000, args.ceiling_chunk)
        run_dir = Path(args.scratch) / f"ceiling_{mode}"
        evolution = Evolution.create(
            run_dir, config, target, encoding, overwrite=True, progress=False, evaluator=evaluator
        )
        evolution.step()  # generation 0: the initial population (not timed)
        sent = getattr(evaluator, "bytes_sent", 0)
        started = time.perf_counter()
        for _ in range(args.ceiling_generations):
            evolution.step()
        elapsed = time.perf_counter() - started
        entry = {
            "evals_per_s": args.ceiling_generations * args.ceiling_batch / elapsed,
            "ms_per_generation": 1000 * elapsed / args.ceiling_generations,
        }
        if mode == "ray":
            out = (evaluator.bytes_sent - sent) / args.ceiling_generations
            entry["payload_bytes_per_generation"] = out
            # probabilities and log-odds, float64, 1000 classes
            entry["scores_bytes_per_generation"] = args.ceiling_batch * 1000 * 8 * 2
            entry["payload_bytes_per_genome"] = out / args.ceiling_batch
            evaluator.close()
        else:
            genomes = evolution.archive.genomes[: args.ceiling_batch]
            entry["payload_bytes_per_generation"] = payload_bytes(encoding.payload(genomes))
        results[mode] = entry
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--generations", type=int, default=5)
    parser.add_argument("--grow", type=int, default=30, help="variation rounds before timing")
    parser.add_argument("--ceiling-batch", type=int, default=400)
    parser.add_argument("--ceiling-chunk", type=int, default=50)
    parser.add_argument("--ceiling-generations", type=int, default=10)
    parser.add_argument("--scratch", default="/tmp/bench_ray")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--runs", type=int, default=1, help="repeat both parts, a column each")
    parser.add_argument("--json", type=Path)
    add_result_options(parser, "ray_throughput")
    parser.add_argument("--ceiling-name", default="ray_ceiling", help="the ceiling's result name")
    args = parser.parse_args()
    import ray

    # Ray's workers import NullWorker from this file: put the scripts folder on their path.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(SCRIPTS), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    sys.path.insert(0, str(SCRIPTS))
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    try:
        from bench_ray import NullWorker as importable  # the class Ray can import by name

        globals()["NullWorker"] = importable
        report: dict[str, Any] = {
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
            "load_before": os.getloadavg(),
            "runs": [],
        }
        for _ in range(args.runs):
            run: dict[str, Any] = {}
            if not args.skip_throughput:
                run["throughput"] = throughput(args, ray)
                print(json.dumps(run["throughput"], indent=1), flush=True)
            run["ceiling"] = ceiling(args)
            print(json.dumps(run["ceiling"], indent=1), flush=True)
            report["runs"].append(run)
            report.update(run)  # "throughput" and "ceiling": the last run's, as before --runs
        report["load_after"] = os.getloadavg()
    finally:
        ray.shutdown()
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=1))
    write_results(args, report)


def write_results(args: argparse.Namespace, report: dict[str, Any]) -> None:
    """The throughput table (unless skipped) and the ceiling table, a column per run."""
    runs = report["runs"]
    common = {
        "command": command_line(),
        "conditions": "1-minute load average "
        f"{report['load_before'][0]:.1f} before, {report['load_after'][0]:.1f} after",
        "label": args.label,
        "results_dir": args.results_dir,
    }
    if not args.skip_throughput:
        first = runs[0]["throughput"]
        rows = [
            [f"in process, torch and Numba on 2 threads, one chunk of {args.batch}"]
            + [round(r["throughput"]["in_process_2_threads_evals_per_s"], 1) for r in runs],
            [f"2 Ray workers of 1 thread, chunks of {first['ray_chunk']} (one per worker)"]
            + [round(r["throughput"]["ray_2_workers_1_thread_evals_per_s"], 1) for r in runs],
            ["ratio Ray / in process (goal >= 0.85)"]
            + [round(r["throughput"]["ratio"], 3) for r in runs],
        ]
        path = write_result(
            args.name,
            {
                "columns": [f"EfficientNet-Lite0, CPPN 3x224x224 HLS, batch {args.batch}"]
                + [f"run {i + 1}" for i in range(len(runs))],
                "rows": rows,
            },
            title="Ray against in-process scoring, evaluations/s",
            notes=f"Genomes varied {args.grow} times: {first['hidden_nodes_mean']:.1f} hidden "
            f"nodes on average; {args.generations} generations after one warm-up. The ratio's "
            "goal is >= 0.85.",
            **common,
        )
        print(f"wrote {path}")
    ceilings = [r["ceiling"] for r in runs]

    def span(mode: str) -> str | float:
        times = [c[mode]["ms_per_generation"] for c in ceilings]
        return round(times[0], 1) if len(times) == 1 else f"{min(times):.1f}-{max(times):.1f}"

    rows = [
        ["2 Ray workers (null), this driver"]
        + [round(c["ray"]["evals_per_s"]) for c in ceilings]
        + [span("ray")],
        ["the same loop in process (null scorer, chunks still compiled and packed)"]
        + [round(c["in_process"]["evals_per_s"]) for c in ceilings]
        + [span("in_process")],
    ]
    ray = ceilings[0]["ray"]
    path = write_result(
        args.ceiling_name,
        {
            "columns": [
                f"driver loop, {args.ceiling_batch} CPPN genomes (3x224x224), chunks of "
                f"{args.ceiling_chunk}",
                "run 1, evaluations/s",
            ]
            + [f"run {i + 1}" for i in range(1, len(runs))]
            + ["ms per generation"],
            "rows": rows,
        },
        title="The driver's ceiling (null scorer)",
        notes=f"{args.ceiling_generations} generations after generation 0, 1,000 cells. Per "
        f"generation of {args.ceiling_batch}: {ray['payload_bytes_per_generation'] / 1e3:,.0f} KB "
        f"of payload out ({ray['payload_bytes_per_genome']:,.0f} bytes a genome), "
        f"{ray['scores_bytes_per_generation'] / 1e6:.1f} MB of probabilities and log-odds back.",
        **common,
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
