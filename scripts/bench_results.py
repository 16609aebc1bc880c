"""Benchmark results as data: one JSON file per measured result, with the machine it ran on.

A figure without its machine, date and commit cannot be compared with anything, so every result
the documentation shows lives in ``docs/benchmarks/results/NAME.json`` and the tables on the
site are rendered from those files at build time (``scripts/docs_hooks.py``). A benchmark script
records its figures with::

    from bench_results import write_result   # scripts/ is on sys.path when a script runs

    write_result("bench_mnist_b200", {"columns": ["batch", "evals/s"], "rows": [[200, 10067]]},
                 title="Core engine", command="python scripts/bench_mnist.py")

The schema (version 1) is documented on the Development page (docs/development.md) and checked
by :func:`check_result`, which the documentation build and the tests both call.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from numbers import Real
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "docs" / "benchmarks" / "results"
SCHEMA = 1
#: File names double as the names the pages' ``<!-- results: NAME -->`` markers use.
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
#: A date (transcribed results) or a UTC timestamp (what write_result records).
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?Z)?$")
COMMIT = re.compile(r"^[0-9a-f]{7,40}$")
MACHINE_FIELDS = ("cpu", "cores", "gpu", "torch")
REQUIRED = ("schema", "name", "date", "commit", "machine", "figures")


def _cpu_model() -> str | None:
    """The CPU model as /proc/cpuinfo names it (Linux), else what the platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or None


def _memory_gb() -> float | None:
    """Total memory in GB (Linux), rounded to 0.1: a result's context, not a figure."""
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def machine_info() -> dict[str, Any]:
    """Where a result is measured: CPU model, cores, memory, GPU, torch build, Python.

    torch is imported only here and only if installed: the GPU's name and the torch build
    (``2.13.0+cpu``, ``2.11.0+cu130``) are what make float32 timings and scores comparable.
    """
    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "gpu": None,
        "torch": None,
        "python": platform.python_version(),
    }
    try:
        import torch
    except ImportError:
        return info
    info["torch"] = torch.__version__
    info["torch_threads"] = torch.get_num_threads()
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda
    return info


def git_commit(root: Path = ROOT) -> tuple[str | None, bool | None]:
    """(``git rev-parse HEAD``, whether the work tree has uncommitted changes); None outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None, None
    return head, bool(status.strip())


def write_result(
    name: str,
    figures: dict[str, Any],
    *,
    title: str | None = None,
    label: str | None = None,
    command: str | None = None,
    conditions: str | None = None,
    notes: str | None = None,
    results_dir: Path | None = None,
) -> Path:
    """Write ``results_dir/NAME.json``: ``figures`` with this machine, the UTC time and commit.

    ``figures`` is a table (``{"columns": [...], "rows": [[...], ...]}``, optionally
    ``"formats"``: a format spec per column, e.g. ``",.0f"``) or a flat mapping of figure name to
    value. ``label`` names the result in a table that merges several (else its date does).
    ``conditions`` says what else ran (load average, other jobs): a timing measured on a
    loaded machine is not comparable with one measured idle. The file is checked before it is
    written, so a malformed result fails in the benchmark that made it, not in the docs build.
    ``results_dir`` None: ``docs/benchmarks/results``.
    """
    commit, dirty = git_commit()
    result = {
        "schema": SCHEMA,
        "name": name,
        "title": title,
        "command": command,
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": commit,
        "dirty": dirty,
        "machine": machine_info(),
        "conditions": conditions,
        "figures": figures,
        "notes": notes,
    }
    if label is not None:
        result["label"] = label
    check_result(result, name)
    results_dir = RESULTS_DIR if results_dir is None else results_dir
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{name}.json"
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", "utf-8")
    temporary.replace(path)  # a killed benchmark leaves the previous result, never half of one
    return path


def add_result_options(parser: argparse.ArgumentParser, name: str | None) -> None:
    """The options every benchmark script takes for its results: ``--name`` (the result's name,
    which is its file's and the pages' ``<!-- results: NAME -->``; default ``name``),
    ``--label`` (how a table that merges several results names this one's rows; default its
    date) and ``--results-dir`` (default ``docs/benchmarks/results``)."""
    parser.add_argument("--name", default=name, help=f"result name (default: {name})")
    parser.add_argument("--label", help="its rows' name where a table merges results")
    parser.add_argument(
        "--results-dir", type=Path, help="where NAME.json goes (default: docs/benchmarks/results)"
    )


def load_average() -> float | None:
    """The 1-minute load average (None where the platform has none)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def load_conditions(before: float | None) -> str | None:
    """A result's ``conditions`` from the load average ``before`` the measurement and now: on a
    shared machine the figures fall with the load."""
    after = load_average()
    if before is None or after is None:
        return None
    return f"1-minute load average {before:.1f} before, {after:.1f} after"


#: Options that say where output goes, not what is measured: left out of a result's command.
OUTPUT_OPTIONS = ("--results-dir", "--json", "--out")


def command_line(argv: list[str] | None = None) -> str:
    """The command that ran this script, as ``python scripts/NAME.py ARGS`` (shell-quoted),
    without the options that only say where output goes (:data:`OUTPUT_OPTIONS`)."""
    args = list(sys.argv if argv is None else argv)
    kept, skip = [], False
    for arg in args[1:]:
        if skip:
            skip = False
        elif arg in OUTPUT_OPTIONS:
            skip = True
        elif not arg.startswith(tuple(f"{option}=" for option in OUTPUT_OPTIONS)):
            kept.append(arg)
    return shlex.join(["python", f"scripts/{Path(args[0]).name}", *kept])


class ResultError(ValueError):
    """A result file that does not follow the schema; the message names the file and field."""


def _is_cell(value: Any) -> bool:
    return value is None or isinstance(value, str | bool | Real)


def _check_figures(figures: Any, where: str) -> None:
    if not isinstance(figures, dict) or not figures:
        raise ResultError(f"{where}: 'figures' must be a non-empty object")
    if "columns" not in figures and "rows" not in figures:
        for key, value in figures.items():
            if not _is_cell(value):
                raise ResultError(f"{where}: figure {key!r} must be a number, string or null")
        return
    columns, rows = figures.get("columns"), figures.get("rows")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns) or not columns:
        raise ResultError(f"{where}: 'figures.columns' must be a list of strings")
    if not isinstance(rows, list) or not rows:
        raise ResultError(f"{where}: 'figures.rows' must be a non-empty list")
    for index, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(columns) or not all(map(_is_cell, row)):
            raise ResultError(
                f"{where}: row {index} must hold {len(columns)} numbers, strings or nulls"
            )
    formats = figures.get("formats")
    if formats is not None and (
        not isinstance(formats, list)
        or len(formats) != len(columns)
        or not all(f is None or isinstance(f, str) for f in formats)
    ):
        raise ResultError(f"{where}: 'figures.formats' must hold a format or null per column")
    unknown = set(figures) - {"columns", "rows", "formats"}
    if unknown:
        raise ResultError(f"{where}: unknown key(s) in a table: {', '.join(sorted(unknown))}")


def check_result(result: Any, name: str) -> dict[str, Any]:
    """``result`` if it follows schema version 1, else a ResultError naming ``name`` and the field.

    Required: schema, name (the file's stem), date (``YYYY-MM-DD`` or a UTC timestamp; null only
    for a transcribed result whose date was never recorded), commit (hex or null), machine (an
    object with cpu, cores, gpu and torch, each possibly null) and figures. Optional: title,
    label (a short name for the result in a table that merges several), command, conditions,
    notes, dirty.
    """
    where = f"result {name!r}"
    if not isinstance(result, dict):
        raise ResultError(f"{where}: must be a JSON object")
    missing = [key for key in REQUIRED if key not in result]
    if missing:
        raise ResultError(f"{where}: missing {', '.join(missing)}")
    if result["schema"] != SCHEMA:
        raise ResultError(f"{where}: schema {result['schema']!r}, expected {SCHEMA}")
    if result["name"] != name or not NAME.match(name):
        raise ResultError(f"{where}: 'name' must equal the file's stem ({result['name']!r})")
    date = result["date"]
    if date is not None and (not isinstance(date, str) or not DATE.match(date)):
        raise ResultError(f"{where}: 'date' must be YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z")
    commit = result["commit"]
    if commit is not None and (not isinstance(commit, str) or not COMMIT.match(commit)):
        raise ResultError(f"{where}: 'commit' must be a hexadecimal commit or null")
    machine = result["machine"]
    if not isinstance(machine, dict) or any(key not in machine for key in MACHINE_FIELDS):
        raise ResultError(f"{where}: 'machine' must hold {', '.join(MACHINE_FIELDS)}")
    if machine["cores"] is not None and not isinstance(machine["cores"], int):
        raise ResultError(f"{where}: 'machine.cores' must be a whole number or null")
    for key in ("title", "label", "command", "conditions", "notes"):
        if result.get(key) is not None and not isinstance(result[key], str):
            raise ResultError(f"{where}: {key!r} must be a string or null")
    _check_figures(result["figures"], where)
    return result


def load_result(name: str, results_dir: Path = RESULTS_DIR) -> dict[str, Any]:
    """The checked result ``results_dir/NAME.json``."""
    path = results_dir / f"{name}.json"
    if not path.is_file():
        raise ResultError(f"result {name!r}: no file {path}")
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ResultError(f"result {name!r}: not JSON ({exc})") from exc
    return check_result(result, name)


def all_results(results_dir: Path = RESULTS_DIR) -> list[str]:
    """The names of every result file, sorted."""
    return sorted(path.stem for path in results_dir.glob("*.json"))
