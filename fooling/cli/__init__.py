"""The ``fooling`` command line: one click group, one module per command.

Every command has ``--help``. Errors that are the user's to fix
(:data:`fooling.cli.errors.USER_ERRORS`) print one line and exit with status 2, here in
:func:`main` and nowhere else; the library's warnings (:class:`fitness.errors.FoolingWarning`)
print one ``warning:`` line each.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

import click

from evolve.errors import Interrupted
from fitness.errors import FoolingWarning
from fooling.cli.errors import USER_ERRORS


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="fooling")
def cli() -> None:
    """Evolve fooling images: images a classifier labels with near certainty as some class
    although no person would see that class in them (Nguyen, Yosinski & Clune, CVPR 2015)."""


def _register() -> None:
    """Add every command module's command to the group (imported here, after ``cli`` exists)."""
    from fooling.cli.ascent import ascent
    from fooling.cli.detect import detect
    from fooling.cli.evolve import evolve
    from fooling.cli.gallery import gallery
    from fooling.cli.plot import plot
    from fooling.cli.repetition import repetition
    from fooling.cli.report import report
    from fooling.cli.retrain import retrain
    from fooling.cli.robustness import robustness
    from fooling.cli.train_target import train_target
    from fooling.cli.transfer import transfer

    for command in (
        evolve,
        gallery,
        plot,
        report,
        train_target,
        retrain,
        transfer,
        ascent,
        repetition,
        robustness,
        detect,
    ):
        cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors print one line and exit with status 2, the library's
    warnings one line each."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", FoolingWarning)
        others = warnings.showwarning

        def show(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
            if issubclass(category, FoolingWarning):
                click.echo(f"warning: {message}", err=True)
            else:
                others(message, category, *args, **kwargs)

        warnings.showwarning = show
        _run(argv)


def _run(argv: list[str] | None) -> None:
    try:
        cli.main(args=argv, prog_name="fooling", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        sys.exit(130)
    except Interrupted as exc:
        click.echo(str(exc), err=True)
        exit_now_if_ray(128 + exc.signum)
        sys.exit(128 + exc.signum)
    except USER_ERRORS as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:  # unwritable run directory, disk full...: name the path, no traceback
        click.echo(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), err=True)
        sys.exit(2)


def exit_now_if_ray(status: int) -> None:
    """Exit with ``status`` at once, skipping the interpreter's teardown, where Ray was loaded.

    After a signal stopped a run, its checkpoint is written and the cluster shut down; what is
    left is the interpreter's teardown, in which Ray's C++ core has been seen to abort (status
    -6 instead of 128 + signal, on a loaded 2-core machine, after the one line was printed).
    """
    if "ray" not in sys.modules:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
