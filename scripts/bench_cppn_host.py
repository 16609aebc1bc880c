"""Host-path cost of one CPPN generation: breed + compile + pack, array path vs neat-python.

Populations of ``--population`` genomes are grown to about each ``--hidden`` count of hidden
nodes (with a growth profile: every child splits a link and adds a connection; grown on the array
path, which is fast), then one generation of the default profile is timed from those same parents
again and again: the array path (:class:`cppn.breeder.ArrayBreeder` then
:func:`cppn.program_arrays.compile_arrays`) and the neat-python reference
(:class:`cppn.genomes.CppnBreeder` then :func:`cppn.program.compile_population`), in the same
process, medians of ``--repeats``. Numba kernels are compiled before any clock starts.
Records the table as ``docs/benchmarks/results/NAME.json`` (``--name``, default
``cppn_host_path``; with the machine, date and commit, :mod:`bench_results`), shown by
docs/benchmarks/cppn.md.

    python scripts/bench_cppn_host.py [--hidden 30 100 300] [--population 400] [--channels 3]
        [--repeats 15] [--json PATH] [--name NAME] [--results-dir DIR]
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
from typing import Any

import numba
import numpy as np
from bench_results import (
    add_result_options,
    command_line,
    load_average,
    load_conditions,
    write_result,
)

from cppn.breeder import ArrayBreeder
from cppn.convert import to_neat
from cppn.genomes import CppnBreeder
from cppn.population import CppnPopulation
from cppn.profile import load_profile
from cppn.program import compile_population
from cppn.program_arrays import compile_arrays

GROWTH_CONFIG = (
    "[DefaultGenome]\nnode_add_prob = 1\nnode_delete_prob = 0\n"
    "conn_add_prob = 1\nconn_delete_prob = 0\n"
)


def grow(n: int, hidden: int, channels: int, seed: int = 0) -> tuple[CppnPopulation, dict]:
    """``n`` genomes with a mean of about ``hidden`` hidden nodes, and the breeder's counters."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "grow.cfg"
        path.write_text(GROWTH_CONFIG)
        breeder = ArrayBreeder(load_profile(path, num_outputs=channels))
    rng = np.random.default_rng(seed)
    pop = breeder.random(n, rng)
    while (pop.num_nodes - channels).mean() < hidden:
        pop = breeder.vary(pop, rng)
    return pop, breeder.state_dict()


def median_ms(fn: Any, repeats: int, clock: Any = time.perf_counter) -> float:
    """Median time of ``fn()`` over ``repeats`` calls, in milliseconds, on ``clock``."""
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return 1e3 * statistics.median(times)


def measure(hidden: int, args: argparse.Namespace) -> dict[str, Any]:
    """One row of the table: ms per generation for both paths at ``hidden`` nodes."""
    profile = load_profile(num_outputs=args.channels)
    gc = profile.genome_config
    parents, state = grow(args.population, hidden, args.channels)
    neat_parents = to_neat(parents, gc)
    array_breeder, neat_breeder = ArrayBreeder(profile), CppnBreeder(profile)
    rng = np.random.default_rng(1)

    def array_breed() -> CppnPopulation:
        array_breeder.load_state_dict(state)
        return array_breeder.vary(parents, rng)

    def neat_breed() -> list:
        neat_breeder.load_state_dict(state)
        return neat_breeder.vary(neat_parents, rng)

    children, neat_children = array_breed(), neat_breed()  # warm-up (and Numba compilation)
    compile_arrays(children, args.channels)
    row = {
        "hidden_nodes": float((parents.num_nodes - args.channels).mean()),
        "links": float(parents.num_links.mean()),
        "array_breed_ms": median_ms(array_breed, args.repeats),
        "array_compile_ms": median_ms(
            lambda: compile_arrays(children, args.channels), args.repeats
        ),
        "array_total_ms": median_ms(
            lambda: compile_arrays(array_breed(), args.channels), args.repeats
        ),
        "neat_breed_ms": median_ms(neat_breed, args.neat_repeats),
        "neat_compile_ms": median_ms(
            lambda: compile_population(neat_children, gc), args.neat_repeats
        ),
        "neat_total_ms": median_ms(lambda: compile_population(neat_breed(), gc), args.neat_repeats),
    }
    # CPU time of the whole process (all threads): robust where other jobs share the machine.
    row["array_total_cpu_ms"] = median_ms(
        lambda: compile_arrays(array_breed(), args.channels), args.repeats, time.process_time
    )
    row["neat_total_cpu_ms"] = median_ms(
        lambda: compile_population(neat_breed(), gc), args.neat_repeats, time.process_time
    )
    row["speedup"] = row["neat_total_ms"] / row["array_total_ms"]
    return row


def main() -> None:
    """Run the benchmark and print a table (and write JSON when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, nargs="+", default=[30, 100, 300])
    parser.add_argument("--population", type=int, default=400)
    parser.add_argument("--channels", type=int, choices=(1, 3), default=3)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--neat-repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    add_result_options(parser, "cppn_host_path")
    args = parser.parse_args()
    load_before = load_average()
    rows = [measure(hidden, args) for hidden in args.hidden]  # compiles the kernels first
    print(f"{args.population} genomes, {args.channels} outputs; ms per generation (median)")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"Numba threads: {numba.get_num_threads()} ({numba.threading_layer()}), "
        f"CPUs: {os.cpu_count()}, {platform.machine()}, load average {load:.1f}"
    )
    print("columns: breed, compile+pack and total wall ms; total CPU ms (all threads)")
    header = ("hidden", "links", "array breed", "compile", "total", "total CPU", "neat breed",
              "compile", "total", "total CPU", "speedup")  # fmt: skip
    print(" | ".join(f"{h:>10}" for h in header))
    for r in rows:
        values = (r["hidden_nodes"], r["links"], r["array_breed_ms"], r["array_compile_ms"],
                  r["array_total_ms"], r["array_total_cpu_ms"], r["neat_breed_ms"],
                  r["neat_compile_ms"], r["neat_total_ms"], r["neat_total_cpu_ms"],
                  r["speedup"])  # fmt: skip
        print(" | ".join(f"{v:>10.1f}" for v in values))
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {"args": vars(args) | {"json": str(args.json)}, "rows": rows}, indent=2, default=str
            )
        )
    path = write_result(
        args.name,
        figures(rows),
        title=f"CPPN host path, ms per generation of {args.population} genomes (median wall)",
        command=command_line(),
        conditions=load_conditions(load_before),
        notes=f"{args.channels} outputs; medians of {args.repeats} (array path) and "
        f"{args.neat_repeats} (neat-python) generations; {numba.get_num_threads()} Numba threads.",
        label=args.label,
        results_dir=args.results_dir,
    )
    print(f"wrote {path}")


def figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The table docs/benchmarks/cppn.md shows: wall ms of each path, and the speed-up."""
    return {
        "columns": [
            "hidden nodes (links)", "array: breed", "compile + pack",
            "total (goal <= 4 ms at ~100)", "neat-python: breed", "compile", "total",
            "speed-up (goal >= 40x)",
        ],
        "rows": [
            [
                f"{r['hidden_nodes']:.0f} ({r['links']:.0f})", round(r["array_breed_ms"], 2),
                round(r["array_compile_ms"], 2), round(r["array_total_ms"], 2),
                round(r["neat_breed_ms"], 1), round(r["neat_compile_ms"], 1),
                round(r["neat_total_ms"], 1), f"{r['speedup']:.0f}x",
            ]
            for r in rows
        ],
        "formats": [None, ",.2f", ",.2f", ",.2f", ",.1f", ",.1f", ",.1f", None],
    }  # fmt: skip


if __name__ == "__main__":
    main()
