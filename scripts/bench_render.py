"""Render throughput of the CPPN renderers (images/s) at several resolutions.

Population: 400 grayscale genomes grown to about 20 hidden nodes and 40 connections. neat-python's
FeedForwardNetwork evaluates one pixel per Python call: it is timed on a few 28x28 images and its
per-pixel cost extrapolated to every size (marked "extrapolated"). The NumPy reference is timed on
a subset of genomes. Numba is timed after a warm-up call (JIT compile excluded). The GPU path runs
only when torch sees CUDA.

    python scripts/bench_render.py [--json PATH] [--sizes 28 64 256] [--population 400]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from neat.nn import FeedForwardNetwork

from cppn import image, render_numba, render_numpy
from cppn.genomes import CppnBreeder
from cppn.profile import load_profile
from cppn.program import compile_population

GROWTH_CONFIG = (
    "[DefaultGenome]\nnode_add_prob = 1\nnode_delete_prob = 0\n"
    "conn_add_prob = 1\nconn_delete_prob = 0\n"
)


def grow_population(n: int, hidden: int, seed: int = 0) -> tuple[Any, list[Any]]:
    """``n`` genomes after ``hidden`` growth generations (one node split each)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "grow.cfg"
        path.write_text(GROWTH_CONFIG)
        profile = load_profile(path)
    breeder = CppnBreeder(profile)
    rng = np.random.default_rng(seed)
    pop = breeder.random(n, rng)
    for _ in range(hidden):
        pop = breeder.vary(pop, rng)
    return profile, pop


def best_time(fn: Any, repeats: int) -> float:
    """Fastest of ``repeats`` runs, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def neat_seconds_per_pixel(profile: Any, genomes: list[Any], size: int = 28) -> float:
    """neat-python's FeedForwardNetwork, one activate() per pixel, on a few images."""
    grid = [list(map(float, col)) for col in image.input_grid(size, size).T]
    start = time.perf_counter()
    for genome in genomes:
        net = FeedForwardNetwork.create(genome, profile)
        for inputs in grid:
            net.activate(inputs)
    return (time.perf_counter() - start) / (len(genomes) * len(grid))


def main() -> None:
    """Run the benchmark, print a table, optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write results here")
    parser.add_argument("--sizes", type=int, nargs="+", default=[28, 64, 256])
    parser.add_argument("--population", type=int, default=400)
    parser.add_argument(
        "--numpy-genomes",
        type=int,
        default=40,
        help="genomes timed with the NumPy reference (it is slow)",
    )
    args = parser.parse_args()

    profile, pop = grow_population(args.population, hidden=20)
    gc = profile.genome_config
    hidden = np.mean([len(g.nodes) - 1 for g in pop])
    conns = np.mean([len(g.connections) for g in pop])
    compile_s = best_time(lambda: compile_population(pop, gc), 3)
    programs = compile_population(pop, gc)
    subset = compile_population(pop[: args.numpy_genomes], gc)
    neat_px = neat_seconds_per_pixel(profile, pop[:3])
    render_numba.render(programs, image.input_grid(8, 8), 8, 8, "gray")  # JIT warm-up

    gpu = None
    try:
        import torch

        if torch.cuda.is_available():
            from cppn import render_gpu

            gpu = (torch, render_gpu)
    except ImportError:
        pass

    rows = []
    for size in args.sizes:
        grid = image.input_grid(size, size)
        pixels = size * size
        row: dict[str, Any] = {"size": size, "neat_images_per_s": 1.0 / (neat_px * pixels)}
        t = best_time(lambda g=grid, s=size: render_numpy.render(subset, g, s, s, "gray"), 1)
        row["numpy_images_per_s"] = len(subset) / t
        t = best_time(lambda g=grid, s=size: render_numba.render(programs, g, s, s, "gray"), 3)
        row["numba_images_per_s"] = len(programs) / t
        if gpu is not None:

            def on_gpu(g: np.ndarray = grid, s: int = size, mods: tuple = gpu) -> None:
                torch, render_gpu = mods
                render_gpu.render(programs, g, s, s, "gray", "cuda")
                torch.cuda.synchronize()

            on_gpu()
            row["gpu_images_per_s"] = len(programs) / best_time(on_gpu, 3)
        row["numba_vs_neat"] = row["numba_images_per_s"] / row["neat_images_per_s"]
        rows.append(row)

    print(
        f"population {len(pop)}: {hidden:.1f} hidden nodes, {conns:.1f} connections on average;"
        f" compile {1000 * compile_s:.0f} ms; {os.cpu_count()} CPUs"
    )
    print(
        "neat-python: extrapolated from 3 genomes x 28x28 pixels "
        f"({1e6 * neat_px:.1f} us/pixel); NumPy: {len(subset)} genomes"
    )
    header = f"{'size':>9} {'neat':>10} {'numpy':>10} {'numba':>10} {'gpu':>10} {'numba/neat':>11}"
    print(header + "\n" + "-" * len(header))
    for r in rows:
        gpu_col = f"{r['gpu_images_per_s']:10.1f}" if "gpu_images_per_s" in r else f"{'-':>10}"
        print(
            f"{r['size']:>4}x{r['size']:<4} {r['neat_images_per_s']:10.3f} "
            f"{r['numpy_images_per_s']:10.1f} {r['numba_images_per_s']:10.1f} {gpu_col} "
            f"{r['numba_vs_neat']:10.0f}x"
        )
    print("(images/s)")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "population": len(pop),
                    "mean_hidden_nodes": hidden,
                    "mean_connections": conns,
                    "compile_seconds": compile_s,
                    "neat_seconds_per_pixel": neat_px,
                    "neat_note": "extrapolated from 3 genomes at 28x28",
                    "cpus": os.cpu_count(),
                    "machine": platform.processor() or platform.machine(),
                    "rows": rows,
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
