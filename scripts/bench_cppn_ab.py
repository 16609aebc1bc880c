"""The CPPN host path of this checkout against another commit's, alternated in one process.

Two runs of a benchmark on a shared machine differ by more than a few percent of code does
(another job's load rises between them), so this loads the ``cppn`` package of ``--base`` (read
from git, imported as ``cppn_base``) beside this checkout's and times both on the same parents,
one generation each in turn, the order flipped every round: breed (:meth:`ArrayBreeder.vary`)
and compile + pack (:func:`compile_arrays`), medians and fastest of ``--rounds`` generations, for
each ``--hidden`` count of hidden nodes. Every round checks that both versions bred the same
children and packed the same programs, so the two do the same work. Records the table as
``docs/benchmarks/results/NAME.json`` (``--name``, default ``cppn_host_ab``), shown by
docs/benchmarks/cppn.md.

    python scripts/bench_cppn_ab.py --base REV [--hidden 30 100 300] [--population 400]
        [--channels 3] [--rounds 100] [--threads 1] [--name NAME] [--results-dir DIR]
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numba
import numpy as np
from bench_cppn_host import grow
from bench_results import (
    ROOT,
    add_result_options,
    command_line,
    load_average,
    load_conditions,
    write_result,
)

import cppn.breeder
import cppn.population
import cppn.profile
import cppn.program_arrays
from cppn.population import CppnPopulation

BASE_PACKAGE = "cppn_base"


def import_base(rev: str, into: Path) -> dict[str, ModuleType]:
    """Import the ``cppn`` package of commit ``rev`` as ``cppn_base`` (its files extracted into
    ``into``, its imports of ``cppn`` renamed), and return its breeder, profile, population and
    program_arrays modules."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev, "cppn"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    package = into / BASE_PACKAGE
    (into / "cppn").rename(package)
    for source in package.glob("*.py"):
        text = source.read_text()
        source.write_text(re.sub(r"\b(from|import) cppn\b", rf"\1 {BASE_PACKAGE}", text))
    sys.path.insert(0, str(into))
    names = ("breeder", "profile", "population", "program_arrays")
    return {name: importlib.import_module(f"{BASE_PACKAGE}.{name}") for name in names}


def as_version(population: CppnPopulation, population_class: type) -> Any:
    """The same columns as a population of the other version's class."""
    return population_class(**{name: getattr(population, name) for name in ("key", *_COLUMNS)})


_COLUMNS = (
    "node_start", "link_start", "node_key", "node_activation", "node_bias", "node_response",
    "link_in", "link_out", "link_weight", "link_innovation", "link_enabled",
)  # fmt: skip


class Version:
    """One version's breeder and compiler, timed one generation at a time."""

    def __init__(self, modules: dict[str, Any], parents: CppnPopulation, state: dict, args: Any):
        self.modules = modules
        profile = modules["profile"].load_profile(num_outputs=args.channels)
        self.breeder = modules["breeder"].ArrayBreeder(profile)
        self.parents = as_version(parents, modules["population"].CppnPopulation)
        self.state, self.channels = state, args.channels
        self.breed_s: list[float] = []
        self.compile_s: list[float] = []

    def generation(self, seed: int) -> tuple[Any, Any]:
        """Breed and compile one generation from the parents (rng seeded ``seed``), timed."""
        self.breeder.load_state_dict(self.state)
        rng = np.random.default_rng(seed)
        start = time.perf_counter()
        children = self.breeder.vary(self.parents, rng)
        middle = time.perf_counter()
        packed = self.modules["program_arrays"].compile_arrays(children, self.channels)
        end = time.perf_counter()
        self.breed_s.append(middle - start)
        self.compile_s.append(end - middle)
        return children, packed


def same_work(a: tuple[Any, Any], b: tuple[Any, Any]) -> bool:
    """Whether two versions' (children, packed programs) hold the same arrays."""
    children_equal = all(np.array_equal(getattr(a[0], n), getattr(b[0], n)) for n in _COLUMNS)
    packed_a, packed_b = vars(a[1]), vars(b[1])
    return children_equal and all(np.array_equal(packed_a[k], packed_b[k]) for k in packed_a)


def measure(hidden: int, base: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """One row: both versions' breed and compile times at about ``hidden`` hidden nodes."""
    parents, state = grow(args.population, hidden, args.channels)
    here_modules = {
        "breeder": cppn.breeder, "profile": cppn.profile,
        "population": cppn.population, "program_arrays": cppn.program_arrays,
    }  # fmt: skip
    here, there = Version(here_modules, parents, state, args), Version(base, parents, state, args)
    for version in (here, there):
        version.generation(0)  # compiles (or loads) the version's kernels: not timed
        version.breed_s.clear()
        version.compile_s.clear()
    for round_ in range(args.rounds):
        order = (here, there) if round_ % 2 == 0 else (there, here)
        results = {id(version): version.generation(round_) for version in order}
        if not same_work(results[id(here)], results[id(there)]):
            raise SystemExit(f"the two versions bred or compiled differently in round {round_}")

    row: dict[str, Any] = {"hidden": float((parents.num_nodes - args.channels).mean())}
    for part in ("breed", "compile"):
        for how, label in ((min, "fastest"), (statistics.median, "median")):
            base_ms = 1e3 * how(getattr(there, f"{part}_s"))
            here_ms = 1e3 * how(getattr(here, f"{part}_s"))
            row[f"{part}_{label}"] = (base_ms, here_ms)
    return row


def figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The table: for breed and for compile + pack, this / base of the fastest and the median
    generation, and the fastest in ms."""
    columns = ["hidden nodes"]
    for part in ("breed", "compile + pack"):
        columns += [f"{part}, fastest", f"{part}, fastest (base -> this, ms)", f"{part}, median"]
    table = []
    for r in rows:
        cells: list[Any] = [round(r["hidden"])]
        for part in ("breed", "compile"):
            (bf, hf), (bm, hm) = r[f"{part}_fastest"], r[f"{part}_median"]
            cells += [round(hf / bf, 3), f"{bf:.3f} -> {hf:.3f}", round(hm / bm, 3)]
        table.append(cells)
    formats = [None, ".2f", None, ".2f", ".2f", None, ".2f"]
    return {"columns": columns, "rows": table, "formats": formats}


def main() -> None:
    """Run the comparison, print the table and write the result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the commit to compare with (git rev)")
    parser.add_argument("--hidden", type=int, nargs="+", default=[30, 100, 300])
    parser.add_argument("--population", type=int, default=400)
    parser.add_argument("--channels", type=int, choices=(1, 3), default=3)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1, help="Numba threads (default: 1)")
    add_result_options(parser, "cppn_host_ab")
    args = parser.parse_args()
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    load_before = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        base = import_base(args.base, Path(tmp))
        rows = [measure(hidden, base, args) for hidden in args.hidden]
    table = figures(rows)
    print(f"this checkout / {args.base}, {args.population} genomes, {numba.get_num_threads()} "
          f"Numba thread(s), {os.cpu_count()} CPUs")  # fmt: skip
    print(" | ".join(table["columns"]))
    for cells in table["rows"]:
        print(" | ".join(str(c) for c in cells))
    base_commit = subprocess.run(
        ["git", "rev-parse", "--short", args.base], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    path = write_result(
        args.name,
        table,
        title=f"CPPN host path against {base_commit}, alternated in one process (this / base)",
        command=command_line(),
        conditions=load_conditions(load_before),
        notes=f"base {base_commit}; {args.population} genomes, {args.channels} outputs, "
        f"{args.rounds} generations of each version from the same parents, alternated; "
        f"{numba.get_num_threads()} Numba thread(s). Both bred the same children and packed "
        "the same programs in every round.",
        label=args.label,
        results_dir=args.results_dir,
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
