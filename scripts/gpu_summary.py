"""What scripts/gpu_checks.sh found, in the log and as a result file.

Reads ``OUT/runs/*/summary.json`` (the demo runs, standard and ``--robust``, and the paper's
long run), ``OUT/runs/scores_*/robustness.md`` and the GPU tests' JUnit report
(``OUT/gpu_tests.xml``), prints them (run directories can be too large to copy back from a lent
machine, the log is not), and records the session's figures as ``NAME.json`` (``--name``; with
the machine, date and commit, :mod:`bench_results`); gpu_checks.sh writes it to OUT/results, to
be copied into docs/benchmarks/results, where docs/benchmarks/gpu.md shows it. A step that did
not run leaves its figures out.

    python scripts/gpu_summary.py OUT --name gpu_checks_h200 --session-seconds 540 \
        --results-dir OUT/results
"""

from __future__ import annotations

import argparse
import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

from bench_results import add_result_options, write_result

SUMMARY_KEYS = (
    "stop_reason", "generations", "evaluations", "target_queries", "elapsed_s",
    "evaluations_per_s", "classes_at_threshold", "median_confidence", "min_confidence",
)  # fmt: skip
#: Run directory (under OUT/runs) -> how the figures name it.
RUNS = {
    "inet_cppn": "CPU demo on the GPU",
    "inet_cppn_robust_rescore": "the same with --robust SPEC --robust-samples 8, elites rescored",
    "inet_cppn_robust_paired": "the same with --robust, elites paired (the default)",
}
LONG_RUN = "inet_long"


def print_runs(runs: Path) -> None:
    """Each run's summary and best confidences, each robustness table (the old log section)."""
    for summary in sorted(runs.glob("*/summary.json")):
        data = json.loads(summary.read_text())
        print(summary.parent.name, {k: data[k] for k in SUMMARY_KEYS if k in data})
        best = sorted(data.get("best_confidence", {}).items(), key=lambda kv: -kv[1])
        print("  best:", ", ".join(f"{k} {v:.4f}" for k, v in best[:10]), "..." * (len(best) > 10))
    for table in sorted(runs.glob("scores_*/robustness.md")):
        print(f"--- {table}\n{table.read_text()}")


def junit_counts(junit: Path) -> dict[str, int]:
    """Passed, failed and skipped tests of a pytest JUnit XML report."""
    root = ElementTree.parse(junit).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = {key: sum(int(s.get(key, 0)) for s in suites) for key in ("tests", "failures",
             "errors", "skipped")}  # fmt: skip
    failed = total["failures"] + total["errors"]
    return {
        "tests/gpu passed": total["tests"] - failed - total["skipped"],
        "tests/gpu failed": failed,
        "tests/gpu skipped": total["skipped"],
    }


def figures(out: Path, session_seconds: int | None) -> dict[str, Any]:
    """The session's figures, flat: tests, demo runs, the paper's run, the session's time."""
    found: dict[str, Any] = {}
    if (out / "gpu_tests.xml").is_file():
        found.update(junit_counts(out / "gpu_tests.xml"))
    summaries = {
        path.parent.name: json.loads(path.read_text())
        for path in (out / "runs").glob("*/summary.json")
    }
    long = summaries.get(LONG_RUN)
    if long:
        found["paper's ImageNet run: generations reached in the time left"] = long["generations"]
        found["paper's ImageNet run: seconds"] = round(long["elapsed_s"], 1)
        found["paper's ImageNet run: evaluations/s (start-up included)"] = round(
            long["evaluations"] / long["elapsed_s"]
        )
    for run, label in RUNS.items():
        if run in summaries:
            found[f"{label}, seconds"] = round(summaries[run]["elapsed_s"], 1)
            found[f"{label}, median best confidence"] = round(
                summaries[run]["median_confidence"], 4
            )
    if session_seconds is not None:
        found["the whole session, seconds"] = session_seconds
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="gpu_checks.sh's OUT_DIR")
    parser.add_argument("--session-seconds", type=int, help="how long the whole session took")
    parser.add_argument("--command", default="bash scripts/gpu_checks.sh OUT", help="as recorded")
    add_result_options(parser, "gpu_checks")
    args = parser.parse_args()
    print_runs(args.out / "runs")
    found = figures(args.out, args.session_seconds)
    if not found:
        print("no figures: no step of the session left any")
        return
    path = write_result(
        args.name,
        found,
        title="GPU checks",
        command=args.command,
        notes="Run directories in OUT/runs; the demo runs are the CPU demo's command on the GPU "
        "(docs/benchmarks/imagenet-cpu.md#cpu-demo).",
        label=args.label,
        results_dir=args.results_dir,
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
