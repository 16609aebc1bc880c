"""Parsing shared by the commands: run folders and repeated values given once, thread counts,
and a target's weights given either way (``--target NAME=WEIGHTS`` or ``--weights``). The
options themselves are declared once, in :mod:`fooling.cli.declared`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from evolve.resources import check_cpus
from fooling.run_spec import split_target


def distinct_run_dirs(paths: Sequence[str]) -> list[Path]:
    """RUN_DIR arguments as paths, each run once: ``base base`` or ``base ./base/`` (one folder
    under two spellings) would count its elites twice; a usage error names the repeat."""
    seen: dict[Path, str] = {}
    for path in paths:
        key = Path(path).resolve()
        if key in seen:
            raise click.UsageError(f"RUN_DIR {path} is given twice (also as {seen[key]})")
        seen[key] = path
    return [Path(p) for p in paths]


def distinct_values(values: Sequence[str], option: str) -> list[str]:
    """A repeatable option's values, each once (a model file named two ways counts once too):
    a usage error names the repeat."""
    seen: dict[str, str] = {}
    for value in values:
        key = str(Path(value).resolve()) if Path(value).is_file() else value.strip()
        if key in seen:
            raise click.UsageError(f"{option} {value} is given twice (also as {seen[key]})")
        seen[key] = value
    return list(values)


def check_threads(threads: int | None, oversubscribe: bool) -> None:
    """Refuse ``--threads`` beyond this machine's CPUs unless ``--oversubscribe``."""
    if threads is not None:
        check_cpus(threads, f"--threads {threads}", oversubscribe)


def with_weights(spec: str, weights: str | None, option: str) -> str:
    """A target named by ``option`` as one string, NAME=WEIGHTS where weights are given (the
    form the studies read): ``--target NAME --weights W`` and ``--target NAME=W`` name the
    same network (:func:`fooling.run_spec.split_target`)."""
    name, weights = split_target(spec, weights, option)
    return spec if weights is None else f"{name}={weights}"
