"""Render throughput of the CPPN renderers (images/s) at several resolutions.

Population: 400 grayscale genomes grown to about 20 hidden nodes and 40 connections. neat-python's
FeedForwardNetwork evaluates one pixel per Python call: it is timed on a few 28x28 images and its
per-pixel cost extrapolated to every size (marked "extrapolated"). The NumPy reference is timed on
a subset of genomes. The Numba renderer (cppn.render_numba) is timed against the previous one
(kept below as ``_previous_kernel``, the kernel of commit 74bc61b: the same row-wise structure,
with libm sin/exp calls, which do not vectorise), alternating the two so that both see the same
machine load; both after a warm-up call (JIT compile excluded). The GPU kernel (cppn.render_cuda,
one launch) runs only when torch sees CUDA, else its column reads "not measured".

Records the CPU table as ``docs/benchmarks/results/NAME.json`` (``--name``, default
``render_cpu``) and, where CUDA runs, the GPU kernel beside the new CPU kernel as
``GPU_NAME.json`` (``--gpu-name``, default ``render_gpu``), with the machine, date and commit
(:mod:`bench_results`); docs/benchmarks/cppn.md shows them.

    python scripts/bench_render.py [--json PATH] [--sizes 28 64 256] [--population 400]
        [--name NAME] [--gpu-name NAME] [--results-dir DIR]
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

import numba
import numpy as np
from bench_results import (
    add_result_options,
    command_line,
    load_average,
    load_conditions,
    write_result,
)
from neat.nn import FeedForwardNetwork
from numba import prange

from cppn import activations, image, render_numba, render_numpy
from cppn.color import to_byte
from cppn.genomes import CppnBreeder
from cppn.profile import load_profile
from cppn.program import compile_population

# The previous CPU kernel (commit 74bc61b), for the before/after comparison only: libm's sin and
# exp are scalar calls, and Python's error model checks every division, so its loops stay scalar.
_sine = numba.njit(cache=True)(activations.sine)
_bipolar_sigmoid = numba.njit(cache=True)(activations.bipolar_sigmoid)
_gaussian = numba.njit(cache=True)(activations.gaussian)
_linear = numba.njit(cache=True)(activations.linear)
_to_byte = numba.njit(cache=True)(to_byte)
_PREVIOUS_BLOCK = 256


@numba.njit(cache=True)
def _previous_activate(activation, bias, response, z, dest, count):  # noqa: ANN001, ANN202
    if activation == 0:
        for p in range(count):
            dest[p] = _sine(bias + response * z[p])
    elif activation == 1:
        for p in range(count):
            dest[p] = _bipolar_sigmoid(bias + response * z[p])
    elif activation == 2:
        for p in range(count):
            dest[p] = _gaussian(bias + response * z[p])
    else:
        for p in range(count):
            dest[p] = _linear(bias + response * z[p])


@numba.njit(parallel=True, cache=True)
def _previous_kernel(
    num_nodes,
    activation,
    bias,
    response,
    link_start,
    link_source,
    link_weight,
    output_slot,
    grid,
    out,
):  # noqa: ANN001, ANN202 - gray images only
    n, channels, pixels = out.shape
    max_nodes = activation.shape[1]
    blocks = (pixels + _PREVIOUS_BLOCK - 1) // _PREVIOUS_BLOCK
    for task in prange(n * blocks):
        g = task // blocks
        start = (task % blocks) * _PREVIOUS_BLOCK
        count = min(_PREVIOUS_BLOCK, pixels - start)
        values = np.empty((4 + max_nodes, _PREVIOUS_BLOCK), dtype=np.float64)
        z = np.empty(_PREVIOUS_BLOCK, dtype=np.float64)
        for i in range(4):
            for p in range(count):
                values[i, p] = grid[i, start + p]
        for k in range(num_nodes[g]):
            for p in range(count):
                z[p] = 0.0
            for link in range(link_start[g, k], link_start[g, k + 1]):
                w = link_weight[g, link]
                source = values[link_source[g, link]]
                for p in range(count):
                    z[p] += w * source[p]
            _previous_activate(
                activation[g, k], bias[g, k], response[g, k], z, values[4 + k], count
            )
        for p in range(count):
            for c in range(channels):
                out[g, c, start + p] = _to_byte(values[output_slot[g, c], p]) / 255.0


def previous_render(programs: Any, grid: np.ndarray, height: int, width: int) -> np.ndarray:
    """Gray images with the previous CPU kernel."""
    out = np.empty((len(programs), programs.output_slot.shape[1], grid.shape[1]), np.float32)
    _previous_kernel(
        programs.num_nodes,
        programs.activation,
        programs.bias,
        programs.response,
        programs.link_start,
        programs.link_source,
        programs.link_weight,
        programs.output_slot,
        np.ascontiguousarray(grid, dtype=np.float64),
        out,
    )
    return out.reshape(len(programs), -1, height, width)


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


def cpu_model() -> str:
    """The CPU's model name (as lscpu shows it), else the platform's machine type."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def best_time(fn: Any, repeats: int) -> float:
    """Fastest of ``repeats`` runs, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def alternating_best(fns: list[Any], repeats: int) -> list[float]:
    """Fastest run of each function, in seconds, running them in turn ``repeats`` times."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - start)
    return [min(t) for t in times]


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
        "--repeats", type=int, default=5, help="least timed runs per Numba kernel and size"
    )
    parser.add_argument(
        "--numpy-genomes",
        type=int,
        default=40,
        help="genomes timed with the NumPy reference (it is slow)",
    )
    add_result_options(parser, "render_cpu")
    parser.add_argument("--gpu-name", default="render_gpu", help="the GPU table's result name")
    args = parser.parse_args()

    load_before = load_average()
    profile, pop = grow_population(args.population, hidden=20)
    gc = profile.genome_config
    hidden = np.mean([len(g.nodes) - 1 for g in pop])
    conns = np.mean([len(g.connections) for g in pop])
    compile_s = best_time(lambda: compile_population(pop, gc), 3)
    programs = compile_population(pop, gc)
    subset = compile_population(pop[: args.numpy_genomes], gc)
    neat_px = neat_seconds_per_pixel(profile, pop[:3])
    render_numba.render(programs, image.input_grid(8, 8), 8, 8, "gray")  # JIT warm-up
    previous_render(programs, image.input_grid(8, 8), 8, 8)
    # Same images (up to a split 8-bit level), or the comparison would mean nothing.
    check = image.input_grid(9, 9)
    new, old = (
        render_numba.render(programs, check, 9, 9, "gray"),
        previous_render(programs, check, 9, 9),
    )
    assert np.abs(new - old).max() * 255 <= 1.0 + 1e-4, "the two CPU kernels disagree"

    gpu = None
    try:
        import torch

        if torch.cuda.is_available():
            from cppn import render_cuda

            gpu = (torch, render_cuda)
    except ImportError:
        pass

    rows = []
    for size in args.sizes:
        grid = image.input_grid(size, size)
        pixels = size * size
        row: dict[str, Any] = {"size": size, "neat_images_per_s": 1.0 / (neat_px * pixels)}
        t = best_time(lambda g=grid, s=size: render_numpy.render(subset, g, s, s, "gray"), 1)
        row["numpy_images_per_s"] = len(subset) / t
        kernels = [
            lambda g=grid, s=size: render_numba.render(programs, g, s, s, "gray"),
            lambda g=grid, s=size: previous_render(programs, g, s, s),
        ]
        # Enough runs for about a second of each kernel: on a shared machine a short run is
        # often interrupted, and the fastest of many is the one that was not.
        once = best_time(kernels[0], 1)
        repeats = int(min(50, max(args.repeats, 1.0 / once)))
        t_new, t_old = alternating_best(kernels, repeats)
        row["numba_images_per_s"] = len(programs) / t_new
        row["previous_numba_images_per_s"] = len(programs) / t_old
        row["numba_speedup"] = t_old / t_new
        if gpu is not None:

            def on_gpu(g: np.ndarray = grid, s: int = size, mods: tuple = gpu) -> None:
                torch, render_cuda = mods
                render_cuda.render(programs, g, s, s, "gray", "cuda")
                torch.cuda.synchronize()

            on_gpu()
            row["gpu_images_per_s"] = len(programs) / best_time(on_gpu, 5)
        else:
            row["gpu_images_per_s"] = "not measured (no CUDA device)"
        row["numba_vs_neat"] = row["numba_images_per_s"] / row["neat_images_per_s"]
        rows.append(row)

    print(
        f"population {len(pop)}: {hidden:.1f} hidden nodes, {conns:.1f} connections on average;"
        f" compile {1000 * compile_s:.0f} ms; {cpu_model()}, {os.cpu_count()} CPUs,"
        f" {numba.get_num_threads()} Numba threads"
    )
    print(
        "neat-python: extrapolated from 3 genomes x 28x28 pixels "
        f"({1e6 * neat_px:.1f} us/pixel); NumPy: {len(subset)} genomes"
    )
    header = (
        f"{'size':>9} {'neat':>10} {'numpy':>10} {'numba-prev':>10} {'numba':>10} {'speedup':>8}"
        f" {'gpu':>12} {'numba/neat':>11}"
    )
    print(header + "\n" + "-" * len(header))
    for r in rows:
        gpu = r["gpu_images_per_s"]
        gpu_col = f"{gpu:12.1f}" if isinstance(gpu, float) else f"{'not measured':>12}"
        print(
            f"{r['size']:>4}x{r['size']:<4} {r['neat_images_per_s']:10.3f} "
            f"{r['numpy_images_per_s']:10.1f} {r['previous_numba_images_per_s']:10.1f} "
            f"{r['numba_images_per_s']:10.1f} {r['numba_speedup']:7.2f}x {gpu_col} "
            f"{r['numba_vs_neat']:10.0f}x"
        )
    print("(images/s; numba-prev: the kernel before the vectorised one, see _previous_kernel)")
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
                    "numba_threads": numba.get_num_threads(),
                    "machine": cpu_model(),
                    "rows": rows,
                },
                indent=1,
            )
        )
    write_results(args, rows, len(pop), hidden, conns, neat_px, len(subset), load_before)


def size_label(size: int) -> str:
    """A row's size as the tables show it: ``28x28``."""
    return f"{size}x{size}"


def write_results(
    args: argparse.Namespace,
    rows: list[dict[str, Any]],
    population: int,
    hidden: float,
    connections: float,
    neat_px: float,
    numpy_genomes: int,
    load_before: float | None,
) -> None:
    """The CPU table (and the GPU table where CUDA ran) as result files."""
    population_note = (
        f"{population} grayscale genomes, {hidden:.1f} hidden nodes and {connections:.1f} "
        f"connections on average; {numba.get_num_threads()} Numba threads. neat-python: "
        f"extrapolated from 3 genomes at 28x28 ({1e6 * neat_px:.1f} us a pixel); NumPy: "
        f"{numpy_genomes} genomes. Previous: the Numba kernel before the vectorised one "
        "(kept in the script), run alternately with the new one."
    )
    cpu = {
        "columns": [
            "size", "neat-python", "NumPy", "Numba, previous", "Numba, new",
            "new / previous (goal >= 4x)", "new / neat-python",
        ],
        "rows": [
            [
                size_label(r["size"]), round(r["neat_images_per_s"], 3),
                round(r["numpy_images_per_s"], 1), round(r["previous_numba_images_per_s"], 1),
                round(r["numba_images_per_s"]), f"{r['numba_speedup']:.2f}x",
                f"{r['numba_vs_neat']:,.0f}x",
            ]
            for r in rows
        ],
        "formats": [None, None, ",.1f", ",.1f", None, None, None],
    }  # fmt: skip
    title = f"CPPN rendering, images/s ({population} genomes of {hidden:.0f} hidden nodes)"
    common = {
        "command": command_line(),
        "conditions": load_conditions(load_before),
        "label": args.label,
        "results_dir": args.results_dir,
    }
    path = write_result(args.name, cpu, title=title, notes=population_note, **common)
    print(f"wrote {path}")
    if not all(isinstance(r["gpu_images_per_s"], float) for r in rows):
        return
    gpu = {
        "columns": [
            "size", f"GPU kernel, {population} genomes, one launch (images/s)",
            f"{os.cpu_count()} CPUs, new CPU kernel (images/s)",
        ],
        "rows": [
            [size_label(r["size"]), round(r["gpu_images_per_s"]), round(r["numba_images_per_s"])]
            for r in rows
        ],
    }  # fmt: skip
    path = write_result(
        args.gpu_name,
        gpu,
        title="CPPN rendering on the GPU machine",
        notes=population_note + " Programs uploaded each call.",
        **common,
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
