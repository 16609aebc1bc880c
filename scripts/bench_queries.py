"""Evaluations (model queries) per fooled class, by emitter: issue 22's benchmark.

Suites (each run in memory through the Python API, so every figure is a run's own summary):

- ``mnist``: ``mnist-lenet`` (or ``--weights`` for another LeNet, e.g. a PGD-trained one), both
  encodings, each emitter and seed until every digit is >= ``--threshold``: the evaluations to
  fool all ten (the exact evaluation of the last class to get there), median over seeds.
- ``imagenet``: ``imagenet-efficientnet-lite0``, ten classes drawn from the 1,000 by a fixed
  seed (``--class-seed``; never hand-picked), a budget of ``--budget`` evaluations: the median
  and lowest best confidence per emitter.

An emitter is given as ``ENCODING/SPEC[/SETTING...]``, e.g. ``direct/cma``, ``cppn/paper``,
``cppn/cma:1,paper:1``, ``direct/cma/cma.sigma=1``; a SETTING without a dot in its name is the
encoding's option of that name (``direct/paper/crossover_rate=0.5``: the original code's SBX
crossover), as ``fooling evolve --crossover-rate 0.5``. Batch and initial population per emitter
are ``--batch`` and ``--initial-population`` (the paper's operators use their batch for both).
Records the table as ``docs/benchmarks/results/NAME.json`` (``--name``; with the machine, date and
commit, :mod:`bench_results`), and every run's figures in ``--out`` if given.

    python scripts/bench_queries.py mnist --seeds 0 1 2 3 4
    python scripts/bench_queries.py imagenet --seeds 0 --budget 20000
"""

from __future__ import annotations

import argparse
import ast
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
from bench_results import command_line, git_commit, machine_info, write_result

import fooling

#: Per emitter: batch and initial population (the paper's: the batch for both, as its code).
SIZES = {"paper": (200, 200), "cma": (100, 10), "grad": (10, 10)}
DEFAULT_EMITTERS = {
    "mnist": ["direct/paper", "direct/cma", "cppn/paper", "cppn/cma:1,paper:1"],
    "imagenet": ["cppn/paper", "direct/cma"],
}


def drawn_classes(seed: int, num_classes: int = 1000, count: int = 10) -> list[int]:
    """``count`` class indices drawn by ``seed``, sorted: benchmark classes no one chose."""
    return sorted(int(c) for c in np.random.default_rng(seed).choice(num_classes, count, False))


def sizes(spec: str, args: argparse.Namespace) -> tuple[int, int]:
    """Batch and initial population for an emitter spec (the first emitter named decides)."""
    batch, initial = SIZES.get(spec.split(",")[0].split(":")[0], SIZES["paper"])
    return args.batch or batch, args.initial_population or initial


def split_settings(settings: list[str]) -> tuple[list[str], dict[str, Any]]:
    """An entry's settings: the emitters' (``NAME.KEY=VALUE``, passed on as written) and the
    encoding's options (``KEY=VALUE``, the value read as a Python literal where it is one)."""
    emitter_settings, encoding_options = [], {}
    for setting in settings:
        key, _, value = setting.partition("=")
        if "." in key:
            emitter_settings.append(setting)
            continue
        try:
            encoding_options[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            encoding_options[key] = value
    return emitter_settings, encoding_options


def one_run(target: Any, entry: str, seed: int, args: argparse.Namespace, **stop: Any) -> dict:
    """One run of ``entry`` (``ENCODING/SPEC[/SETTING...]``): its summary's figures."""
    encoding, spec, *settings = entry.split("/")
    emitter_settings, encoding_options = split_settings(settings)
    batch, initial = sizes(spec, args)
    started = time.perf_counter()
    run = fooling.evolve(
        target,
        encoding=encoding,
        emitter=spec,
        emitter_setting=emitter_settings,
        **encoding_options,
        batch=batch,
        initial_population=initial,
        seed=seed,
        threshold=args.threshold,
        only_classes=args.only_classes,
        **stop,
    )
    summary = run.summary
    reached = summary.get("reached") or {}
    confidences = list(summary["best_confidence"].values())
    all_at = summary["all_at_threshold"]
    return {
        "emitter": entry,
        "encoding_options": encoding_options,
        "seed": seed,
        "batch": batch,
        "initial_population": initial,
        "evaluations": summary["evaluations"],
        # The exact evaluation (the image) at which the last class got there.
        "fooled_all_at": all_at.get("evaluation", all_at["evaluations"]) if all_at else None,
        "classes_at_threshold": summary["classes_at_threshold"],
        "median_confidence": statistics.median(confidences),
        "min_confidence": min(confidences),
        "best_confidence": summary["best_confidence"],
        "reached": reached,
        "emitter_queries": summary.get("emitter_queries", {}),
        # Evaluations plus the emitters' own forward and backward passes (--gradients).
        "passes": summary["evaluations"] + sum(summary.get("emitter_queries", {}).values()),
        "wall_s": round(time.perf_counter() - started, 1),
    }


def summarise(runs: list[dict], key: str) -> dict[str, dict]:
    """Per emitter: the median over seeds of ``key``, and each seed's value (None where a seed
    never got there). A seed that never got there counts as more than any that did, so the
    median is known while fewer than half of the seeds fell short; otherwise it is None."""
    table: dict[str, dict] = {}
    for entry in dict.fromkeys(r["emitter"] for r in runs):
        values = [r[key] for r in runs if r["emitter"] == entry]
        table[entry] = {"median": censored_median(values), "values": values}
    return table


def censored_median(values: list) -> float | None:
    """The median of ``values`` where None means "above every number here" (a run that ran out
    of budget): None when the median itself falls among the Nones."""
    ranked = sorted(values, key=lambda v: (v is None, v if v is not None else 0))
    middle = ranked[(len(ranked) - 1) // 2 : len(ranked) // 2 + 1]
    return None if None in middle else statistics.median(middle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", choices=["mnist", "imagenet"])
    parser.add_argument("--emitters", nargs="+", help="ENCODING/SPEC[/SETTING...] entries")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--weights", help="mnist: another LeNet's weights (e.g. PGD-trained)")
    parser.add_argument("--threshold", type=float, default=0.9999)
    parser.add_argument("--budget", type=int, default=20000, help="evaluations per run")
    parser.add_argument("--class-seed", type=int, default=2026, help="imagenet: class draw")
    parser.add_argument("--batch", type=int, help="override every emitter's batch")
    parser.add_argument("--initial-population", type=int, help="override generation 0's size")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--name", help="result name (default: queries_SUITE)")
    parser.add_argument("--label", help="what the result is of, e.g. the model's name")
    parser.add_argument("--out", help="also write every run's figures to this JSON file")
    parser.add_argument("--results-dir", type=Path, help="default: docs/benchmarks/results")
    parser.add_argument(
        "--from-raw",
        nargs="+",
        type=Path,
        help="build the table from earlier runs' --out files (e.g. one process per emitter) "
        "instead of running; their suite, budget and classes must agree",
    )
    args = parser.parse_args()
    if args.from_raw:
        runs, args = runs_from_raw(args)
        write_table(runs, args)
        return
    emitters = args.emitters or DEFAULT_EMITTERS[args.suite]
    if args.suite == "mnist":
        target = fooling.load_target("mnist-lenet", weights=args.weights, device=args.device)
        args.only_classes = None
        stop = {"until": args.threshold, "max_evaluations": args.budget}
    else:
        target = fooling.load_target("imagenet-efficientnet-lite0", device=args.device)
        classes = drawn_classes(args.class_seed, target.num_classes)
        args.only_classes = ",".join(str(c) for c in classes)
        stop = {"max_evaluations": args.budget, "until": args.threshold}
    runs = []
    for entry in emitters:
        for seed in args.seeds:
            runs.append(one_run(target, entry, seed, args, **stop))
            print(json.dumps({k: runs[-1][k] for k in list(runs[-1])[:10]}), flush=True)
    write_table(runs, args)


def fail(message: str) -> NoReturn:
    """One line on stderr and exit status 2, as the tool's own commands fail."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def commit_text() -> str:
    """This checkout's commit, marked where the work tree had uncommitted changes."""
    commit, dirty = git_commit()
    return f"{commit}{' (with uncommitted changes)' if dirty else ''}"


#: Settings that make runs comparable: raw files built into one table must agree on them.
COMPARABLE = ("suite", "threshold", "budget", "class_seed", "weights", "only_classes")


def runs_from_raw(args: argparse.Namespace) -> tuple[list[dict], argparse.Namespace]:
    """The runs of earlier ``--out`` files, and the settings they were made with (this call's
    ``--name``, ``--label`` and ``--results-dir`` kept); files that do not agree on
    :data:`COMPARABLE` settings exit with one line."""
    runs: list[dict] = []
    machines: list[dict] = []
    commits: list[str] = []
    first: dict[str, Any] | None = None
    for path in args.from_raw:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            settings, part, machine = raw["settings"], raw["runs"], raw["machine"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            fail(f"{path} is not a bench_queries --out file ({exc})")
        if first is None:
            first = settings
        differs = [k for k in COMPARABLE if settings.get(k) != first.get(k)]
        if differs:
            fail(f"{path} differs from {args.from_raw[0]} in {', '.join(differs)}")
        runs.extend(part)
        machines.append(machine)
        commits.append(str(raw.get("commit", "unknown")))
    assert first is not None
    merged = argparse.Namespace(**{**first, "from_raw": None})
    for key in ("name", "label", "results_dir", "out"):
        setattr(merged, key, getattr(args, key))
    merged.seeds = sorted({r["seed"] for r in runs})
    here = machine_info()
    for path, machine in zip(args.from_raw, machines, strict=True):
        if any(machine.get(k) != here.get(k) for k in ("cpu", "cores", "gpu", "torch")):
            fail(f"{path} was measured on another machine ({machine.get('cpu')})")
    merged.made = sorted(set(commits))
    return runs, merged


def write_table(runs: list[dict], args: argparse.Namespace) -> None:
    """The result file of ``runs`` (and every run's figures in ``--out``, if given)."""
    medians = summarise(runs, "fooled_all_at")
    confidence = summarise(runs, "median_confidence")
    lowest = summarise(runs, "min_confidence")
    rows = []
    for entry in medians:
        own = [r for r in runs if r["emitter"] == entry]
        rows.append(
            [
                entry,
                own[0]["batch"],
                own[0]["initial_population"],
                len(own),
                sum(r["fooled_all_at"] is not None for r in own),
                medians[entry]["median"],
                " ".join("-" if v is None else str(v) for v in medians[entry]["values"]),
                statistics.median(confidence[entry]["values"]),
                min(lowest[entry]["values"]),
                statistics.median(r["passes"] for r in own),
            ]
        )
    figures = {
        "columns": [
            "emitter", "batch", "generation 0", "seeds", "seeds fooling all",
            "evaluations to fool all (median)", "per seed", "median confidence",
            "lowest confidence", "passes (median)",
        ],
        "rows": rows,
        "formats": [None, None, None, None, None, ",.0f", None, ".4f", ".4f", ",.0f"],
    }  # fmt: skip
    stop = f"until every class >= {args.threshold} or {args.budget:,} evaluations"
    name = args.name or f"queries_{args.suite}"
    path = write_result(
        name,
        figures,
        title=f"Evaluations per fooled class, {args.suite}"
        + (f" ({args.label})" if args.label else ""),
        command=command_line(),
        notes=f"{stop}; classes {args.only_classes or 'all'}; seeds {args.seeds}"
        + (
            f"; built from runs made at {', '.join(args.made)}"
            if getattr(args, "made", None)
            else ""
        ),
        **({"results_dir": args.results_dir} if args.results_dir else {}),
    )
    print(f"wrote {path}")
    if args.out:
        raw = {
            "machine": machine_info(),
            "commit": commit_text(),
            "settings": vars(args),
            "runs": runs,
        }
        Path(args.out).write_text(json.dumps(raw, indent=1, default=str) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
