"""``fooling train-target``: train a built-in target, cache it and report its accuracy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from archives.atomic import atomic_write_json
from fooling.cli import declared
from fooling.cli.param_types import FiniteFloat

PGD_OPTIONS = ("epsilon", "pgd_steps", "pgd_step_size", "pgd_warmup_epochs")
#: PGD adversarial training's defaults (docs/queries.md: what they give, and in how long); the
#: step size defaults to 2.5 epsilon / steps (Madry et al.), so a path can cross the ball.
PGD_DEFAULTS = {"epsilon": 0.3, "pgd_steps": 10, "pgd_warmup_epochs": 3}


@click.command("train-target")
@click.argument("name", type=click.Choice(["mnist-lenet"]))
@declared.apply(declared.DATA_DIR, declared.TRAINING, declared.SEED)
@click.option(
    "--distill-temperature",
    type=FiniteFloat(min=0, min_open=True),
    default=None,
    help="Defensive distillation (Papernot et al. 2016): train a teacher at temperature T, "
    "then a student on the teacher's soft labels at T; the student is deployed at T = 1.",
)
@click.option(
    "--adversarial",
    type=click.Choice(["pgd"]),
    default=None,
    help="Adversarial training (Madry et al. 2018): train on L-inf PGD examples with a random "
    "start; the record adds the test accuracy under that attack and under a stronger one.",
)
@click.option(
    "--epsilon",
    type=FiniteFloat(min=0, min_open=True, max=1),
    default=None,
    help=f"PGD radius in [0, 1] pixels (default {PGD_DEFAULTS['epsilon']}).",
)
@click.option(
    "--pgd-steps",
    type=click.IntRange(min=1),
    default=None,
    help=f"PGD steps per training batch (default {PGD_DEFAULTS['pgd_steps']}).",
)
@click.option(
    "--pgd-step-size",
    type=FiniteFloat(min=0, min_open=True, max=1),
    default=None,
    help="PGD step in [0, 1] pixels (default 2.5 * epsilon / steps, as Madry et al.).",
)
@click.option(
    "--pgd-warmup-epochs",
    type=click.IntRange(min=0),
    default=None,
    help="Epochs over which epsilon grows linearly from 0 to --epsilon "
    f"(default {PGD_DEFAULTS['pgd_warmup_epochs']}).",
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False),
    help="Also copy the weights here (use with evolve --weights).",
)
@declared.apply(declared.QUIET)
def train_target(
    name: str,
    data_dir: str | None,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    distill_temperature: float | None,
    adversarial: str | None,
    out_file: str | None,
    quiet: bool,
    **attack: Any,
) -> None:
    """Train a built-in target (cached in $FOOLING_HOME) and report its test accuracy.

    With --out FILE the weights are copied to FILE and the training record to FILE.json.
    """
    from fitness.builtin import LenetSettings, save_state_dict, trained_lenet

    settings = LenetSettings(
        **pgd_settings(adversarial, distill_temperature, attack),
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        data_dir=None if data_dir is None else str(Path(data_dir)),
        distill_temperature=distill_temperature,
    )
    model, info = trained_lenet(settings, progress=not quiet)
    if out_file:
        out = Path(out_file)
        save_state_dict(model, out)
        info = {**info, "copied_to": str(out.resolve())}
        # The metadata travels with the copy: which network it is and how well it does.
        atomic_write_json(out.with_name(out.name + ".json"), info)
    what = "" if distill_temperature is None else f" (distilled at T={distill_temperature:g})"
    if adversarial is not None:
        what = f" (PGD-trained at epsilon {settings.epsilon:g})"
    click.echo(
        f"{name}{what}: test accuracy {info['test_accuracy']:.4f} on {info['test_size']} "
        f"held-out digits ({info['data']}); weights {info['weights']}"
    )
    if adversarial is not None:
        click.echo(
            f"  PGD test accuracy {info['pgd_test_accuracy']:.4f} "
            f"({attack_text(info['pgd_attack'])}), "
            f"{info['strong_pgd_test_accuracy']:.4f} ({attack_text(info['strong_pgd_attack'])})"
        )
    if distill_temperature is not None:
        click.echo(
            f"  teacher test accuracy {info['teacher_test_accuracy']:.4f}; mean top-1 "
            f"probability on the test digits at T=1: student "
            f"{info['student_sharpness']['mean_top1_probability']:.6f}, teacher's soft labels "
            f"{info['teacher_sharpness_at_T']['mean_top1_probability']:.6f}"
        )
    if not quiet:
        click.echo(json.dumps(info, indent=2))


def pgd_settings(
    adversarial: str | None, distill_temperature: float | None, attack: dict[str, Any]
) -> dict[str, Any]:
    """The LeNet settings of --adversarial and its attack options, defaults filled in; a
    :class:`click.UsageError` for options that do not go together."""
    given = [name for name in PGD_OPTIONS if attack[name] is not None]
    if adversarial is None:
        if given:
            raise click.UsageError(f"--{given[0].replace('_', '-')} needs --adversarial pgd")
        return {}
    if distill_temperature is not None:
        raise click.UsageError("--adversarial and --distill-temperature exclude each other")
    settings = {name: attack[name] for name in PGD_OPTIONS}
    for name, value in PGD_DEFAULTS.items():
        if settings[name] is None:
            settings[name] = value
    if settings["pgd_step_size"] is None:
        settings["pgd_step_size"] = 2.5 * settings["epsilon"] / settings["pgd_steps"]
    return {"adversarial": adversarial, **settings}


def attack_text(attack: dict[str, Any]) -> str:
    """``10 steps of 0.075 at epsilon 0.3`` for an attack's record."""
    return f"{attack['steps']} steps of {attack['step_size']:g} at epsilon {attack['epsilon']:g}"
