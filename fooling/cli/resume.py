"""What ``--resume`` means for every command that writes a run directory (evolve, ascent): only
the stop conditions may change, and a run is continued by the command that wrote it."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import click

from evolve.config import RunConfig
from evolve.encodings import build_encoding
from evolve.encodings.base import Encoding
from evolve.errors import RunError
from evolve.run_dir import ASCENT_FILE, CONFIG_FILE
from fitness.loading import TargetOptions, load_target
from fitness.target import Target
from fooling.cli.errors import USER_ERRORS


def given_on_command_line(ctx: click.Context, names: Iterable[str]) -> list[str]:
    """Those of ``names`` the user typed (not defaults, not environment variables)."""
    return [
        name
        for name in names
        if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE
    ]


def refuse_other_options(ctx: click.Context, allowed: Iterable[str]) -> None:
    """A usage error if the command line gives an option outside ``allowed`` with --resume
    (a continued run keeps its own settings; only when it stops may change)."""
    allowed = set(allowed)
    for name in given_on_command_line(ctx, ctx.params):
        if name not in allowed:
            raise click.UsageError(
                f"--{name.replace('_', '-')} cannot change on --resume "
                f"(only {', '.join('--' + a.replace('_', '-') for a in sorted(allowed))} can)"
            )


def run_method(run_dir: Path, config: RunConfig) -> str:
    """The command that wrote ``run_dir``: config.json's ``method``; a directory with
    ascent.json is an ascent's also when its config.json predates that field."""
    return "ascent" if (run_dir / ASCENT_FILE).exists() else config.method


def load_for_resume(
    run_dir: Path, method: str, progress: bool
) -> tuple[RunConfig, Target, Encoding]:
    """The run's configuration, its target and its encoding, after checking that ``method``
    (the command asked to resume) is the one that wrote the run."""
    config = RunConfig.load(run_dir / CONFIG_FILE)
    written_by = run_method(run_dir, config)
    if written_by != method:
        raise RunError(
            f"{run_dir} holds a run of fooling {written_by}, which fooling {method} cannot "
            f"continue; use: fooling {written_by} --resume --out {run_dir}"
        )
    target = load_target(TargetOptions.from_dict(config.target), progress=progress)
    try:
        encoding = build_encoding(config.encoding)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, USER_ERRORS):
            raise
        raise RunError(f"{run_dir / CONFIG_FILE} has a bad encoding: {exc}") from None
    return config, target, encoding
