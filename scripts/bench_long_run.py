"""A long run, measured (docs/benchmarks/mnist.md#long-runs): memory, disk and the plot of a
``fooling evolve`` run of ``--max-generations`` generations with default settings.

Runs ``python -m fooling evolve --max-generations N --out OUT -q`` (mnist-lenet, direct
encoding, batch 200, seed 0; with ``--resume``, continues OUT instead) as a child process,
samples its resident size every ``--sample-every`` seconds (``/proc/PID/status``, Linux) and
takes its peak from the kernel when it exits (``os.wait4``); then reads what the run left
(``summary.json``, ``metrics.jsonl``, the directory's size), runs ``fooling plot OUT`` the same
way, and records the figures as ``docs/benchmarks/results/NAME.json`` (``--name``, default
``long_run_300k``; with the machine, date, commit and load, :mod:`bench_results`).

    python scripts/bench_long_run.py [--max-generations 300000] [--out soak] [--resume]
        [--sample-every 60] [--json PATH] [--name NAME] [--label LABEL] [--results-dir DIR]

The default is about three hours on two cores; a run stopped with Ctrl-C checkpoints, and
``--resume`` measures its continuation (the figures then describe that part).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench_results import (
    add_result_options,
    command_line,
    load_average,
    load_conditions,
    write_result,
)

from evolve.encodings import build_encoding
from evolve.run_dir import read_metrics


def resident_mb(pid: int) -> float | None:
    """The resident size of process ``pid`` in MB (``VmRSS``), None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def run_measured(command: list[str], sample_every: float) -> dict[str, Any]:
    """Run ``command``, sampling its resident size; its exit status, wall seconds, samples (MB)
    and peak resident size (MiB, from the kernel's accounting of that one child)."""
    started = time.perf_counter()
    child = subprocess.Popen(command)
    samples: list[float] = []
    while True:
        time.sleep(sample_every)  # the first sample after one interval, past the start-up
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        size = resident_mb(child.pid)
        if size is not None:
            samples.append(size)
    child.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait for it again
    return {
        "exit_status": child.returncode,
        "seconds": time.perf_counter() - started,
        "resident_mb": samples,
        "peak_mib": usage.ru_maxrss / 1024,  # KiB on Linux
    }


def directory_mb(path: Path) -> float:
    """The size of the files under ``path`` in MB."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def floor_generation(out: Path) -> int | None:
    """The first generation at which the run's mutation rate is at its floor (None: a rate
    that never halves, or other encodings)."""
    encoding = build_encoding(json.loads((out / "config.json").read_text())["encoding"])
    rate_at = getattr(encoding, "mutation_rate_at", None)
    every = getattr(encoding, "halve_every", 0)
    if rate_at is None or every <= 0:
        return None
    halvings = 0
    while rate_at((halvings + 1) * every) < rate_at(halvings * every):
        halvings += 1
    return halvings * every


def figures(out: Path, evolve: dict[str, Any], plot: dict[str, Any], every: float) -> dict:
    """The long run's figures, named as mnist.md's table names them."""
    summary = json.loads((out / "summary.json").read_text())
    metrics = out / "metrics.jsonl"
    reached = summary.get("all_at_threshold")
    confidences = list(summary["best_confidence"].values())
    sampled = "every minute" if every == 60 else f"every {every:g} s"
    sizes = evolve["resident_mb"]
    return {
        "generations": summary["generations"],
        "evaluations": summary["evaluations"],
        "evolution, seconds (summary.json)": round(summary["elapsed_s"]),
        "wall time, seconds": round(evolve["seconds"]),
        "exit status": evolve["exit_status"],
        f"resident size, MB (sampled {sampled})": (
            f"{min(sizes):.0f}-{max(sizes):.0f}" if sizes else None
        ),
        "peak resident size, MiB": round(evolve["peak_mib"]),
        "metrics.jsonl, lines": len(read_metrics(out)),
        "metrics.jsonl, MB": round(metrics.stat().st_size / 1e6, 2),
        "run directory, MB": round(directory_mb(out), 2),
        "fooling plot: peak, MiB": round(plot["peak_mib"]),
        "fooling plot: seconds": round(plot["seconds"], 1),
        "mutation rate at its floor from generation": floor_generation(out),
        f"all {len(confidences)} classes >= {summary['threshold']} from generation": (
            reached["generation"] if reached else None
        ),
        "final elites' confidence": f"{min(confidences)!r}-{max(confidences)!r}",
    }


def main() -> None:
    """Run, measure, print and record."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-generations", type=int, default=300_000)
    parser.add_argument("--out", type=Path, default=Path("soak"), help="the run directory")
    parser.add_argument("--resume", action="store_true", help="continue OUT")
    parser.add_argument("--sample-every", type=float, default=60.0, help="seconds")
    parser.add_argument("--json", type=Path, help="also write the raw measurements here")
    add_result_options(parser, "long_run_300k")
    args = parser.parse_args()
    if args.max_generations < 1 or args.sample_every <= 0:
        parser.error("--max-generations must be at least 1 and --sample-every above 0")
    if not Path("/proc/self/status").is_file():
        parser.error("resident sizes are read from /proc: Linux only")
    before = load_average()
    fooling = [sys.executable, "-m", "fooling"]
    evolve_command = [*fooling, "evolve", "--max-generations", str(args.max_generations)]
    evolve_command += ["--resume"] if args.resume else []
    evolve = run_measured([*evolve_command, "--out", str(args.out), "-q"], args.sample_every)
    if evolve["exit_status"] != 0:
        sys.exit(f"error: the run exited with status {evolve['exit_status']}")
    plot = run_measured([*fooling, "plot", str(args.out)], min(args.sample_every, 1.0))
    if plot["exit_status"] != 0:
        sys.exit(f"error: fooling plot exited with status {plot['exit_status']}")
    measured = figures(args.out, evolve, plot, args.sample_every)
    for key, value in measured.items():
        print(f"{key}: {value}")
    if args.json:
        raw = {"evolve": evolve, "plot": plot, "figures": measured}
        args.json.write_text(json.dumps(raw, indent=1) + "\n", encoding="utf-8")
    path = write_result(
        args.name,
        measured,
        title=f"A {args.max_generations:,}-generation run",
        label=args.label,
        command=command_line(),
        conditions=load_conditions(before),
        notes="`fooling evolve` with default settings (mnist-lenet, direct encoding, batch 200, "
        "seed 0) in a child process; resident size sampled from /proc, peaks from the kernel "
        "(wait4).",
        results_dir=args.results_dir,
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
