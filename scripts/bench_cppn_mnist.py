"""MNIST with CPPNs: time to fool every digit, loop efficiency, and where a generation's time goes.

Three measurements, all in one process with the MNIST LeNet target loaded once and Numba's
renderer compiled before any clock starts:

* convergence: for each seed, a run (``evolve.runner.Evolution``, as ``fooling evolve`` makes it,
  in a temporary directory) until every class has an elite >= ``--until`` or ``--max-generations``;
  the median over seeds of generations and wall seconds (a seed that does not get there counts as
  infinitely slow, so a median that lands on one reads "not reached").
* loop efficiency at each ``--batches`` size: whole-loop evaluations/s (a fresh run of
  ``--efficiency-generations`` generations) divided by bare forward evaluations/s: the target
  scoring, back to back, the very batches of images that run scored (recorded in an untimed
  replay of the same seed), timed just before and just after the run. Median over ``--rounds``
  rounds. The forward pass's time depends on the images (LeNet's max-pooling takes longer on
  images with many distinct grey levels; branch prediction is the likely cause), so the
  denominator must score the run's images. The earlier denominator, one fixed batch of grown
  random genomes' images (flat, about 25 grey levels an image against 130-150 in a run, and
  0.5-2.4 ms a batch of 200 faster to score), is still reported as ``efficiency_fixed_images``.
  A run writes a checkpoint after generation 0 (20-25 ms, once a run: about 0.7 ms a generation
  of a 30-generation run); ``efficiency_steady`` leaves generation 0 and that
  checkpoint out: the loop's rate over generations 2 to the last, from the run's own clock
  (metrics.jsonl ``elapsed_s``), against the forward pass on those generations' images.
  This machine's speed drifts by 10-30% within seconds, which moves every ratio of two separate
  timings; ``scoring_share`` is free of that: the share of the timed run's own clock spent inside
  its calls of ``target.scores`` (the forward pass with the input conversion and the scores
  around it: what the bare rate times), measured in the same seconds as the loop
  (``scoring_share_steady``: generations 2 to the last).
* phases: mean milliseconds per generation of select+vary, express, forward and insert, from
  the same functions ``evolve.map_elites.step`` calls, timed one by one.

The machine is shared: timings are noisy, so medians are reported.

Records the convergence and efficiency figures as ``docs/benchmarks/results/NAME.json``
(``--name``, default ``cppn_mnist_loop``) and the phases as ``PHASES_NAME.json``
(``--phases-name``, default ``cppn_mnist_generation``), with the machine, date and commit
(:mod:`bench_results`); docs/benchmarks/cppn.md shows them.

    python scripts/bench_cppn_mnist.py [--seeds 1 2 3 4 5] [--max-generations 300] [--json PATH]
        [--coordinates raw|normalized] [--cppn-config PATH] [--batches 200] [--skip-convergence]
        [--channels-last] [--name NAME] [--phases-name NAME] [--results-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from bench_results import add_result_options, command_line, write_result

from archives import EliteArchive
from evolve.config import RunConfig, StopConditions
from evolve.encodings.cppn import CppnEncoding
from evolve.evaluator import LocalEvaluator, chunk_bounds
from evolve.map_elites import RunState, initialise
from evolve.run_dir import read_metrics
from evolve.runner import Evolution, young_objects_only_collected
from fitness.loading import TargetOptions, load_target
from fitness.scores import Scores


def make_encoding(args: argparse.Namespace, shape: tuple[int, int, int]) -> CppnEncoding:
    """The CPPN encoding the options describe, for the target's image shape."""
    channels, height, width = shape
    kwargs: dict[str, Any] = {"channels": channels, "height": height, "width": width}
    if args.coordinates is not None:
        kwargs["coordinates"] = args.coordinates
    if args.cppn_config is not None:
        kwargs["config_path"] = str(Path(args.cppn_config).resolve())
    return CppnEncoding(renderer=args.renderer, **kwargs)


def run_config(
    target: Any, encoding: CppnEncoding, seed: int, batch: int, stop: StopConditions
) -> RunConfig:
    """A RunConfig as ``fooling evolve`` builds it (all classes, default checkpointing), with
    the bench's own threshold (0.99 without ``--until``), one chunk (the efficiency bench
    times whole batches) and no emitters named (the paper's operators), as it always recorded."""
    return RunConfig.for_target(
        target,
        encoding,
        range(len(target.class_names)),
        batch=batch,
        seed=seed,
        stop=stop,
        threshold=0.99,
        chunk=None,
        emitters=None,
    )


class InstrumentedEvaluator(LocalEvaluator):
    """The in-process evaluator (the same work, in the one-chunk case the bench's batches fit),
    timing each call of the target (``target.scores``: the forward pass with its input
    conversion and the scores around it), so that its share of the run's clock is measured in
    the same seconds as the loop, free of the machine's drift between one measurement and the
    next; with ``keep_images``, keeping every batch of images it scores (for the denominator of
    the loop efficiency: the same images, scored without the loop)."""

    def __init__(
        self, encoding: CppnEncoding, target: Any, chunk: int | None, keep_images: bool
    ) -> None:
        super().__init__(encoding, target, chunk)
        self.keep_images = keep_images
        self.images: list[Any] = []
        self.scoring_s: list[float] = []

    def __call__(self, genomes: Any, rng: np.random.Generator | None = None) -> Scores:
        """Express, keep the images if asked, score them, timing the scoring."""
        if len(chunk_bounds(len(genomes), self.chunk)) > 1:
            raise ValueError("the efficiency bench needs a batch no larger than the run's chunk")
        images = self.encoding.express(genomes)
        if self.keep_images:
            self.images.append(images)
        start = time.perf_counter()
        scores = self.target.scores(images)
        self.scoring_s.append(time.perf_counter() - start)
        return scores


def evolve(
    args: argparse.Namespace,
    target: Any,
    seed: int,
    batch: int,
    stop: StopConditions,
    record: bool = False,
) -> tuple[dict[str, Any], list[Any]]:
    """One run in a temporary directory; its summary (with ``elapsed_by_generation``, the run's
    clock at the end of each generation, from metrics.jsonl, and ``scoring_s``, the seconds of
    each scoring call), and with ``record`` the images it scored (generation 0 first)."""
    encoding = make_encoding(args, target.image_shape)
    config = run_config(target, encoding, seed, batch, stop)
    evaluator = InstrumentedEvaluator(encoding, target, config.chunk, keep_images=record)
    with tempfile.TemporaryDirectory() as tmp:
        evolution = Evolution.create(
            Path(tmp) / "run", config, target, encoding, progress=False, evaluator=evaluator
        )
        summary = evolution.run()
        summary["elapsed_by_generation"] = [r["elapsed_s"] for r in read_metrics(Path(tmp) / "run")]
        summary["scoring_s"] = evaluator.scoring_s
        return summary, evaluator.images


def convergence(args: argparse.Namespace, target: Any) -> dict[str, Any]:
    """Generations and seconds until every class is at ``args.until``, per seed and median."""
    runs = []
    for seed in args.seeds:
        stop = StopConditions(max_generations=args.max_generations, until=args.until)
        summary, _ = evolve(args, target, seed, args.batch, stop)
        reached = summary["all_at_threshold"]
        run = {
            "seed": seed,
            "reached": reached is not None,
            "generation": None if reached is None else reached["generation"],
            "seconds": None if reached is None else reached["elapsed_s"],
            "generations_run": summary["generations"],
            "seconds_run": summary["elapsed_s"],
            "min_confidence": summary["min_confidence"],
            "worst_class": min(summary["best_confidence"], key=summary["best_confidence"].get),
        }
        runs.append(run)
        shown = (
            f"gen {run['generation']:4d}  {run['seconds']:7.2f} s"
            if run["reached"]
            else f"not reached in {run['generations_run']} gens ({run['seconds_run']:.1f} s), "
            f"min {run['min_confidence']:.6f} ({run['worst_class']})"
        )
        print(f"  seed {seed}: {shown}", flush=True)

    def median(key: str) -> float | None:
        values = [r[key] if r["reached"] else math.inf for r in runs]
        m = statistics.median(values)
        return None if math.isinf(m) else m

    return {
        "until": args.until,
        "max_generations": args.max_generations,
        "runs": runs,
        "reached": sum(r["reached"] for r in runs),
        "median_generation": median("generation"),
        "median_seconds": median("seconds"),
    }


def forward_rate(target: Any, batches: list[Any], calls: int) -> float:
    """Bare forward evaluations/s: ``calls`` scorings of ``batches`` in turn (one batch: the
    same batch every time), back to back: ``target.probabilities``, the forward pass and the
    scores around it (on the CPU one host pass makes the probabilities and the log-odds the loop
    ranks by; earlier versions left the log-odds out of this rate)."""
    target.probabilities(batches[0])
    start = time.perf_counter()
    for i in range(calls):
        target.probabilities(batches[i % len(batches)])
    return calls * len(batches[0]) / (time.perf_counter() - start)


def efficiency(args: argparse.Namespace, target: Any, batch: int) -> dict[str, Any]:
    """Loop evaluations/s over bare forward evaluations/s at ``batch``, median over rounds."""
    encoding = make_encoding(args, target.image_shape)
    rng = np.random.default_rng(0)
    genomes = encoding.random(batch, rng)
    for _ in range(20):  # images of grown genomes, like those of a run
        genomes = encoding.vary(genomes, rng, 0)
    fixed = [encoding.express(genomes)]
    calls = args.efficiency_generations + 1  # generation 0 is scored too
    rounds = []
    for r in range(args.rounds):
        stop = StopConditions(max_generations=args.efficiency_generations)
        # An untimed replay of the timed run (same seed, same run: the images it will score).
        _, scored = evolve(args, target, 1000 + r, batch, stop, record=True)
        before = forward_rate(target, scored, calls), forward_rate(target, fixed, calls)
        summary, _ = evolve(args, target, 1000 + r, batch, stop)
        after = forward_rate(target, fixed, calls), forward_rate(target, scored, calls)
        steady_forward = forward_rate(target, scored[2:], calls - 2)
        loop = summary["evaluations_per_s"]
        forward = (before[0] + after[1]) / 2
        forward_fixed = (before[1] + after[0]) / 2
        elapsed = summary["elapsed_by_generation"]  # one per generation: none thinned below 1000
        steady_loop = (len(elapsed) - 2) * batch / (elapsed[-1] - elapsed[1])
        rounds.append(
            {
                "loop_evals_per_s": loop,
                "forward_evals_per_s": forward,
                "efficiency": loop / forward,
                "forward_evals_per_s_fixed_images": forward_fixed,
                "efficiency_fixed_images": loop / forward_fixed,
                "loop_evals_per_s_steady": steady_loop,
                "forward_evals_per_s_steady": steady_forward,
                "efficiency_steady": steady_loop / steady_forward,
                # Drift-free: the share of the run's own clock spent inside the scoring calls.
                "scoring_share": sum(summary["scoring_s"]) / summary["elapsed_s"],
                "scoring_share_steady": sum(summary["scoring_s"][2:]) / (elapsed[-1] - elapsed[1]),
            }
        )
    return {
        "batch": batch,
        "generations": args.efficiency_generations,
        "rounds": rounds,
        **{key: statistics.median(r[key] for r in rounds) for key in rounds[0]},
    }


def phases(args: argparse.Namespace, target: Any, batch: int) -> dict[str, float]:
    """Mean ms per generation of each step of a generation (after a short warm-up)."""
    encoding = make_encoding(args, target.image_shape)
    n_cells = len(target.class_names)
    archive = EliteArchive(list(range(n_cells)), target.class_names, encoding.empty(n_cells))
    state = RunState(rng=np.random.default_rng(0))
    initialise(state, encoding, LocalEvaluator(encoding, target), archive, batch)
    with young_objects_only_collected():  # as in Evolution.run
        return _timed_generations(args, encoding, target, archive, state, batch)


def _timed_generations(
    args: argparse.Namespace,
    encoding: CppnEncoding,
    target: Any,
    archive: EliteArchive,
    state: RunState,
    batch: int,
) -> dict[str, float]:
    totals = dict.fromkeys(("vary", "express", "forward", "insert"), 0.0)
    warmup, generations = 5, args.phase_generations
    nodes = links = 0.0
    for g in range(warmup + generations):
        t0 = time.perf_counter()
        parents = archive.sample_elites(batch, state.rng)
        state.generation += 1
        children = encoding.vary(parents, state.rng, state.generation)
        t1 = time.perf_counter()
        images = encoding.express(children)
        t2 = time.perf_counter()
        scores = target.scores(images)
        t3 = time.perf_counter()
        archive.insert(
            children,
            scores.probabilities,
            state.generation,
            state.evaluations,
            log_odds=scores.log_odds,
        )
        state.evaluations += len(children)
        t4 = time.perf_counter()
        if g >= warmup:
            for key, dt in zip(totals, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                totals[key] += dt
            nodes += float(children.num_nodes.mean())
            links += float(children.num_links.mean())
    out = {f"{key}_ms": 1e3 * value / generations for key, value in totals.items()}
    out.update(
        batch=batch,
        generations=generations,
        mean_nodes=nodes / generations,
        mean_connections=links / generations,
    )
    return out


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def main() -> None:
    """Run the benchmark, print a table, optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write results here")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--until", type=float, default=0.9999)
    parser.add_argument("--max-generations", type=int, default=300)
    parser.add_argument("--batch", type=int, default=200, help="batch of the convergence runs")
    parser.add_argument("--batches", type=int, nargs="*", default=[200], help="efficiency batches")
    parser.add_argument("--efficiency-generations", type=int, default=30)
    parser.add_argument("--phase-generations", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--coordinates", choices=("normalized", "raw"), default=None)
    parser.add_argument("--cppn-config", default=None, help="INI merged over cppn/default.cfg")
    parser.add_argument("--renderer", default="auto")
    parser.add_argument("--device", default="auto", help="target device")
    parser.add_argument(
        "--channels-last", action="store_true", help="the target in channels-last layout"
    )
    parser.add_argument(
        "--torch-threads", type=int, default=None, help="torch.set_num_threads (default: torch's)"
    )
    parser.add_argument("--skip-convergence", action="store_true")
    parser.add_argument("--skip-efficiency", action="store_true")
    add_result_options(parser, "cppn_mnist_loop")
    parser.add_argument(
        "--phases-name", default="cppn_mnist_generation", help="the phases table's result name"
    )
    args = parser.parse_args()

    if args.torch_threads is not None:
        import torch

        torch.set_num_threads(args.torch_threads)
    options = TargetOptions(
        target="mnist-lenet", device=args.device, channels_last=args.channels_last
    )
    target = load_target(options, progress=False)
    warm = make_encoding(args, target.image_shape)
    warm_rng = np.random.default_rng(0)
    # Numba JIT / cache load of the renderer and the breeding and compiling kernels.
    warm.express(warm.vary(warm.random(4, warm_rng), warm_rng, 1))
    encoding_config = warm.config()
    print(f"encoding: {json.dumps(encoding_config)}")
    results: dict[str, Any] = {
        "encoding": encoding_config,
        "cppn_config": args.cppn_config,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
            "torch_threads": _torch_threads(),
            "channels_last": args.channels_last,
        },
    }
    if not args.skip_convergence:
        print(f"convergence (until {args.until}, cap {args.max_generations} generations):")
        results["convergence"] = convergence(args, target)
    if not args.skip_efficiency:
        results["phases"] = [phases(args, target, b) for b in args.batches]
        results["efficiency"] = [efficiency(args, target, b) for b in args.batches]
    results["machine"]["load_average_end"] = os.getloadavg()

    print()
    if "convergence" in results:
        c = results["convergence"]
        gen, sec = c["median_generation"], c["median_seconds"]
        print(
            f"all {len(target.class_names)} classes >= {args.until}: {c['reached']}/"
            f"{len(c['runs'])} seeds within {args.max_generations} generations; median "
            + (f"{gen:.0f} generations, {sec:.2f} s" if gen is not None else "not reached")
        )
    if "efficiency" in results:
        print(
            f"{'batch':>6} {'vary ms':>8} {'express':>8} {'forward':>8} {'insert':>7} "
            f"{'loop ev/s':>10} {'fwd ev/s':>10} {'efficiency':>10} {'fixed fwd':>10} "
            f"{'(eff.)':>7} {'steady eff.':>11} {'scoring share':>13}"
        )
        for p, e in zip(results["phases"], results["efficiency"], strict=True):
            print(
                f"{e['batch']:>6} {p['vary_ms']:>8.2f} {p['express_ms']:>8.2f} "
                f"{p['forward_ms']:>8.2f} {p['insert_ms']:>7.2f} {e['loop_evals_per_s']:>10.0f} "
                f"{e['forward_evals_per_s']:>10.0f} {e['efficiency']:>10.3f} "
                f"{e['forward_evals_per_s_fixed_images']:>10.0f} "
                f"{e['efficiency_fixed_images']:>7.3f} {e['efficiency_steady']:>11.3f} "
                f"{e['scoring_share']:>13.3f}"
            )
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1))
        print(f"wrote {args.json}")
    write_results(args, results, len(target.class_names))


def layout(args: argparse.Namespace) -> str:
    """The target's memory layout, as the tables name it."""
    return "`--channels-last`" if args.channels_last else "default layout (NCHW)"


def loop_rows(results: dict[str, Any], num_classes: int) -> list[list[Any]]:
    """Convergence and efficiency, a measure a row, as docs/benchmarks/cppn.md shows them."""
    rows: list[list[Any]] = []
    if "convergence" in results:
        c = results["convergence"]
        runs = ", ".join(
            f"{r['generation']} / {r['seconds']:.2f} s" if r["reached"] else "not reached"
            for r in c["runs"]
        )
        median = (
            f"median {c['median_generation']:g} generations, {c['median_seconds']:.2f} s"
            if c["median_generation"] is not None
            else "median not reached"
        )
        rows.append(
            [
                f"all {num_classes} classes >= {c['until']} (seeds "
                f"{', '.join(str(r['seed']) for r in c['runs'])}, at most "
                f"{c['max_generations']} generations)",
                f"{c['reached']} of {len(c['runs'])}, {median} ({runs})",
            ]
        )
    for e in results.get("efficiency", []):
        shares = [r["scoring_share"] for r in e["rounds"]]
        last = e["generations"]
        rows += [
            [
                f"loop efficiency at batch {e['batch']} (goal >= 0.90), median of "
                f"{len(e['rounds'])} round(s)",
                round(e["efficiency"], 4),
            ],
            [f"the same, generations 2-{last} only (no generation 0, no checkpoint)",
             round(e["efficiency_steady"], 4)],
            ["the same against one fixed batch of flat images",
             round(e["efficiency_fixed_images"], 4)],
            ["scoring share, median", round(e["scoring_share"], 4)],
            ["scoring share, lowest round", round(min(shares), 4)],
            [f"scoring share, generations 2-{last}", round(e["scoring_share_steady"], 4)],
            ["whole loop, evaluations/s", round(e["loop_evals_per_s"])],
        ]  # fmt: skip
    return rows


def phase_rows(phases: list[dict[str, Any]]) -> list[list[Any]]:
    """Mean ms per generation of each step, a row per step (and batch, if several)."""
    steps = [
        ("vary_ms", "parent sampling and variation"),
        ("express_ms", "expression (compile and render)"),
        ("forward_ms", "forward pass and the scoring around it"),
        ("insert_ms", "archive insertion"),
    ]
    rows: list[list[Any]] = []
    for p in phases:
        suffix = f", batch {p['batch']}" if len(phases) > 1 else ""
        rows += [[label + suffix, round(p[key], 3)] for key, label in steps]
        rows.append(["these four" + suffix, round(sum(p[key] for key, _ in steps), 3)])
    return rows


def write_results(args: argparse.Namespace, results: dict[str, Any], num_classes: int) -> None:
    """The loop table and the phases table as result files (each where it was measured)."""
    load = results["machine"]["load_average"][0], results["machine"]["load_average_end"][0]
    common = {
        "command": command_line(),
        "conditions": f"1-minute load average {load[0]:.1f} before, {load[1]:.1f} after",
        "label": args.label,
        "results_dir": args.results_dir,
    }
    rows = loop_rows(results, num_classes)
    if rows:
        path = write_result(
            args.name,
            {"columns": ["measure", layout(args)], "rows": rows, "formats": [None, ",.3f"]},
            title="MNIST with CPPNs",
            notes=f"Efficiency: {args.efficiency_generations}-generation runs; "
            f"{results['machine']['torch_threads']} torch threads.",
            **common,
        )
        print(f"wrote {path}")
    if results.get("phases"):
        p = results["phases"][0]
        path = write_result(
            args.phases_name,
            {
                "columns": ["step", f"{layout(args)}, ms"],
                "rows": phase_rows(results["phases"]),
                "formats": [None, ",.2f"],
            },
            title="Where a generation goes",
            notes=f"Mean of {p['generations']} generations after 5 of warm-up; "
            f"{p['mean_nodes']:.1f} program nodes and {p['mean_connections']:.1f} connections "
            "a genome on average.",
            **common,
        )
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
