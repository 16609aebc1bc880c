"""Throughput of the built-in ImageNet targets and of the MAP-Elites loop around them.

For each target and batch size, in one process:

- forward: the model alone on ready-made input (normalised, model-sized, on the device), images/s;
- scoring: ``Target.probabilities`` on images already on the device (resize/crop, normalise,
  forward, float64 softmax, copy to the host), images/s;
- loop: MAP-Elites generations (vary -> express -> score -> insert) with colour genomes, direct
  (8-bit HLS genes, on the GPU with the target when it runs there) and CPPN (HLS outputs),
  over all 1000 cells, evaluations/s after one warm-up
  generation. The CPPN population starts without hidden nodes, so its render cost is a lower
  bound for a long run. Loop efficiency = loop evaluations/s / forward images/s, same batch.

It also measures how far reduced precision moves the confidences: probabilities of the same
images (CPPN colour images and two photographs from scikit-image) in bf16 and fp16
against fp32. Runs on CUDA when available (``--device``), else on the CPU. ``--precision``
takes several precisions: each is measured on the same loaded target, a row each.

Records the table (a row per target, precision and batch) as
``docs/benchmarks/results/NAME.json`` (``--name``, default ``imagenet_cpu_forward`` on the CPU,
``imagenet_gpu_forward`` on a GPU; with the machine, date and commit, :mod:`bench_results`),
with the reduced-precision differences in its notes; docs/benchmarks/imagenet-cpu.md and
docs/benchmarks/gpu.md show them.

    python scripts/bench_imagenet.py [--targets lite0 lite1 lite2] [--batches 16 64]
        [--generations 3] [--genome-size 256 --crops ten] [--precision fp32 bf16]
        [--channels-last] [--json PATH] [--name NAME] [--results-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from bench_results import add_result_options, command_line, write_result

from archives import EliteArchive
from evolve.emitters import build_scheduler
from evolve.encodings.cppn import CppnEncoding
from evolve.encodings.direct import DirectEncoding
from evolve.evaluator import LocalEvaluator
from evolve.map_elites import RunState, initialise, step
from fitness.devices import genome_device
from fitness.imagenet import photographs
from fitness.loading import TargetOptions, load_target, resolve_device
from fitness.target import PRECISIONS, Target


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so that a timer measures it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def best_time(fn: Callable[[], Any], repeats: int, device: torch.device) -> float:
    """Fastest of ``repeats`` runs, in seconds (after one untimed warm-up run)."""
    fn()
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return min(times)


def forward_images_per_s(target: Target, images: torch.Tensor, repeats: int) -> float:
    """The model alone, on input already resized, normalised and laid out for it."""
    with torch.inference_mode():
        x = target.spec.prepare(target.model_views(images))
        if target.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
    dtype = PRECISIONS[target.precision]

    def forward() -> None:
        with (
            torch.inference_mode(),
            torch.autocast(target.device.type, dtype=dtype, enabled=dtype != torch.float32),
        ):
            target.model(x)

    return len(images) / best_time(forward, repeats, target.device)


def loop_evaluations_per_s(
    target: Target, encoding: Any, batch: int, generations: int, seed: int = 0
) -> float:
    """MAP-Elites over every class: evaluations/s of ``generations`` timed generations."""
    archive = EliteArchive(
        range(target.num_classes), target.class_names, encoding.empty(target.num_classes)
    )
    state = RunState(rng=np.random.default_rng(seed))
    evaluator = LocalEvaluator(encoding, target)
    scheduler = build_scheduler(None, encoding)  # the paper's operators
    initialise(state, encoding, evaluator, archive, batch)
    step(state, scheduler, evaluator, archive, batch)  # warm-up: JIT compilation, allocator
    synchronize(target.device)
    start = time.perf_counter()
    for _ in range(generations):
        step(state, scheduler, evaluator, archive, batch)
    synchronize(target.device)
    return generations * batch / (time.perf_counter() - start)


def photographs_or_none(target: Target) -> np.ndarray | None:
    """The two sanity-check photographs at the target's image size (None without scikit-image)."""
    try:
        return photographs(*target.image_size)
    except ImportError:
        return None


def precision_difference(target: Target, images: Any, precision: str) -> dict[str, float]:
    """How ``precision`` moves the probabilities of ``images`` against fp32."""
    saved = target.precision
    try:
        target.precision = "fp32"
        reference = target.probabilities(images)
        target.precision = precision
        reduced = target.probabilities(images)
    finally:
        target.precision = saved
    top = reference.argmax(axis=1)
    rows = np.arange(len(top))
    return {
        "images": len(top),
        "max_abs_probability_difference": float(np.abs(reduced - reference).max()),
        "max_abs_top1_confidence_difference": float(
            np.abs(reduced[rows, top] - reference[rows, top]).max()
        ),
        "mean_abs_top1_confidence_difference": float(
            np.abs(reduced[rows, top] - reference[rows, top]).mean()
        ),
        "top1_agreement": float((reduced.argmax(axis=1) == top).mean()),
    }


def bench_target(name: str, args: argparse.Namespace, device: str) -> dict[str, Any]:
    """Every measurement for one target."""
    target = load_target(
        TargetOptions(
            target=name,
            device=device,
            max_batch=args.max_batch,
            image_size=args.genome_size,
            crops=args.crops,
            precision=args.precision[0],
            channels_last=args.channels_last,
        ),
        progress=False,
    )
    channels, height, width = target.image_shape
    direct = DirectEncoding(
        channels, height, width, color="hls", crossover_rate=0.5, device=genome_device(device)
    )
    cppn = CppnEncoding(channels, height, width, color="hls", renderer="auto")
    rng = np.random.default_rng(0)
    rows = []
    for precision in args.precision:
        target.precision = precision
        for batch in args.batches:
            images = torch.rand(
                (batch, *target.image_shape), generator=torch.Generator().manual_seed(0)
            )
            images = images.to(target.device)
            row: dict[str, Any] = {"target": name, "precision": precision, "batch": batch}
            row["forward_images_per_s"] = forward_images_per_s(target, images, args.repeats)
            row["scoring_images_per_s"] = batch / best_time(
                lambda x=images: target.probabilities(x), args.repeats, target.device
            )
            for label, encoding in (("direct", direct), ("cppn", cppn)):
                rate = loop_evaluations_per_s(target, encoding, batch, args.generations)
                row[f"{label}_loop_evaluations_per_s"] = rate
                row[f"{label}_loop_efficiency"] = rate / row["forward_images_per_s"]
            rows.append(row)
    target.precision = args.precision[0]

    samples = cppn.express(cppn.random(max(args.batches), rng))
    photos = photographs_or_none(target)
    precisions = ["bf16", "fp16"]
    differences = {}
    for precision in precisions:
        differences[precision] = {"cppn_images": precision_difference(target, samples, precision)}
        if photos is not None:
            differences[precision]["photographs"] = precision_difference(target, photos, precision)
            differences[precision]["photograph_top1"] = [
                target.class_names[i] for i in target.probabilities(photos).argmax(axis=1)
            ]
    return {
        "target": name,
        "image_shape": list(target.image_shape),
        "model_input": list(target.spec.shape),
        "rows": rows,
        "precision_vs_fp32": differences,
    }


def print_tables(results: list[dict[str, Any]]) -> None:
    """Throughput and loop-efficiency table, then the precision differences."""
    header = (
        f"{'target':<28} {'prec':>4} {'batch':>5} {'forward':>9} {'scoring':>9} "
        f"{'direct':>9} {'eff':>5} {'cppn':>9} {'eff':>5}"
    )
    print(header + "\n" + "-" * len(header))
    for result in results:
        for r in result["rows"]:
            print(
                f"{r['target']:<28} {r['precision']:>4} {r['batch']:>5} "
                f"{r['forward_images_per_s']:9.1f} "
                f"{r['scoring_images_per_s']:9.1f} {r['direct_loop_evaluations_per_s']:9.1f} "
                f"{r['direct_loop_efficiency']:5.2f} {r['cppn_loop_evaluations_per_s']:9.1f} "
                f"{r['cppn_loop_efficiency']:5.2f}"
            )
    print("(images/s; direct and cppn: colour MAP-Elites loop evaluations/s; eff = loop/forward)")
    print("\nreduced precision vs fp32 (max |difference| of any probability / of the top-1 one)")
    for result in results:
        for precision, by_set in result["precision_vs_fp32"].items():
            for label, d in by_set.items():
                if label == "photograph_top1":
                    continue
                print(
                    f"{result['target']:<28} {precision:>5} {label:<12} n={d['images']:<4} "
                    f"max {d['max_abs_probability_difference']:.5f} top-1 max "
                    f"{d['max_abs_top1_confidence_difference']:.5f} mean "
                    f"{d['mean_abs_top1_confidence_difference']:.5f} "
                    f"agreement {d['top1_agreement']:.2f}"
                )


def main() -> None:
    """Run the benchmark, print tables, optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write results here")
    parser.add_argument(
        "--targets",
        nargs="+",
        default=["lite0", "lite1", "lite2"],
        choices=["lite0", "lite1", "lite2"],
    )
    parser.add_argument("--batches", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--generations", type=int, default=3, help="timed loop generations")
    parser.add_argument("--repeats", type=int, default=3, help="timed forward/scoring repeats")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    parser.add_argument("--max-batch", type=int, default=1024)
    parser.add_argument("--genome-size", type=int, nargs=2, metavar=("H", "W"))
    parser.add_argument("--crops", default="resize", choices=["resize", "center", "ten"])
    parser.add_argument(
        "--precision", nargs="+", default=["fp32"], choices=list(PRECISIONS), help="one or more"
    )
    parser.add_argument("--channels-last", action="store_true")
    add_result_options(parser, None)
    args = parser.parse_args()
    device = resolve_device(args.device)
    args.name = args.name or f"imagenet_{'cpu' if device == 'cpu' else 'gpu'}_forward"

    started, load_before = time.perf_counter(), os.getloadavg()[0]
    results = [bench_target(f"imagenet-efficientnet-{t}", args, device) for t in args.targets]
    print(
        f"device {device}"
        + (f" ({torch.cuda.get_device_name(device)})" if device.startswith("cuda") else "")
        + f"; {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}; precision "
        f"{args.precision}; channels_last {args.channels_last}; crops {args.crops}; "
        f"1-min load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after (other "
        "processes skew CPU timings)"
    )
    print_tables(results)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "device": device,
                    "gpu": torch.cuda.get_device_name(device)
                    if device.startswith("cuda")
                    else None,
                    "cpus": os.cpu_count(),
                    "torch_threads": torch.get_num_threads(),
                    "machine": platform.processor() or platform.machine(),
                    "torch": torch.__version__,
                    "settings": {
                        key: value
                        for key, value in vars(args).items()
                        if key not in ("json", "results_dir")
                    },
                    "load_average_1min": {"before": load_before, "after": os.getloadavg()[0]},
                    "seconds": time.perf_counter() - started,
                    "results": results,
                },
                indent=1,
            )
        )
    gpu = f" ({torch.cuda.get_device_name(device)})" if device.startswith("cuda") else ""
    path = write_result(
        args.name,
        figures(results, args),
        title=f"ImageNet targets on {device}{gpu}: forward pass and MAP-Elites loop",
        command=command_line(),
        conditions=f"1-minute load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} "
        "after",
        notes=precision_notes(results)
        + f" Loop: colour MAP-Elites over all 1,000 classes, {args.generations} timed "
        f"generations after one warm-up; crops {args.crops}; "
        f"{torch.get_num_threads()} torch threads.",
        label=args.label,
        results_dir=args.results_dir,
    )
    print(f"wrote {path}")


def figures(results: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    """The throughput table: a row per target, precision and batch (images/s, evaluations/s)."""
    layout = ", channels_last" if args.channels_last else ""
    return {
        "columns": [
            "target", "precision", "batch", "forward (images/s)", "scoring (images/s)",
            "direct loop (evals/s)", "direct efficiency", "CPPN loop (evals/s)", "CPPN efficiency",
        ],
        "rows": [
            [
                r["target"].removeprefix("imagenet-"), r["precision"] + layout, r["batch"],
                round(r["forward_images_per_s"], 1), round(r["scoring_images_per_s"], 1),
                round(r["direct_loop_evaluations_per_s"], 1),
                round(r["direct_loop_efficiency"], 3),
                round(r["cppn_loop_evaluations_per_s"], 1), round(r["cppn_loop_efficiency"], 3),
            ]
            for result in results
            for r in result["rows"]
        ],
        "formats": [None, None, None, ",.1f", ",.1f", ",.1f", ",.2f", ",.1f", ",.2f"],
    }  # fmt: skip


def precision_notes(results: list[dict[str, Any]]) -> str:
    """How bf16 and fp16 move the probabilities against fp32, per target, in words."""
    parts = []
    for result in results:
        target = result["target"].removeprefix("imagenet-")
        for precision, sets in result["precision_vs_fp32"].items():
            d = sets["cppn_images"]
            text = (
                f"{target} {precision} against fp32 on {d['images']} CPPN images: largest "
                f"probability change {d['max_abs_probability_difference']:.4f}, mean top-1 "
                f"change {d['mean_abs_top1_confidence_difference']:.4f}, top-1 agreement "
                f"{d['top1_agreement']:.0%}"
            )
            if "photographs" in sets:
                photos = sets["photographs"]
                text += (
                    f"; on the two photographs {photos['top1_agreement']:.0%} (largest change "
                    f"{photos['max_abs_probability_difference']:.4f})"
                )
            parts.append(text)
    return ". ".join(parts) + "."


if __name__ == "__main__":
    main()
