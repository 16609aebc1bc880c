"""Parsing helpers for command-line values (shapes, number lists, class selections)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click

from evolve.param_types import FiniteFloat


class NumberList(click.ParamType):
    """Comma-separated numbers, e.g. ``0.485,0.456,0.406``."""

    def __init__(self, kind: type = float, length: int | None = None, positive: bool = False):
        self.kind, self.length, self.positive = kind, length, positive
        self.name = f"{kind.__name__} list"

    def convert(self, value, param, ctx):  # noqa: ANN001, ANN201 (click's signature)
        """Parse the list, checking count and sign."""
        if isinstance(value, tuple):
            return value
        try:
            numbers = tuple(self.kind(part) for part in str(value).split(","))
        except ValueError:
            self.fail(
                f"{value!r} is not a comma-separated list of {self.kind.__name__}s", param, ctx
            )
        if self.length is not None and len(numbers) != self.length:
            self.fail(f"{value!r} needs exactly {self.length} values", param, ctx)
        if self.positive and any(n <= 0 for n in numbers):
            self.fail(f"{value!r} must hold positive values", param, ctx)
        if any(n != n or n in (float("inf"), float("-inf")) for n in numbers):
            self.fail(f"{value!r} must hold finite values", param, ctx)
        return numbers


def select_cells(class_names: Sequence[str], only: str | None) -> list[int]:
    """Class indices named by ``only`` (comma-separated names or indices); all when ``None``."""
    if only is None:
        return list(range(len(class_names)))
    index_of = {name: i for i, name in enumerate(class_names)}
    cells: list[int] = []
    for part in (p.strip() for p in only.split(",")):
        if part in index_of:
            cell = index_of[part]
        elif part.isdigit() and int(part) < len(class_names):
            cell = int(part)
        else:
            raise click.BadParameter(
                f"{part!r} is neither a class name nor a class index", param_hint="'--only-classes'"
            )
        if cell in cells:
            raise click.BadParameter(
                f"class {part!r} is named twice", param_hint="'--only-classes'"
            )
        cells.append(cell)
    return cells


#: Options describing a user's model, shared by ``evolve`` and ``retrain``.
MODEL_OPTIONS: list[Callable[[Any], Any]] = [
    click.option(
        "--input-shape",
        type=NumberList(int, 3, positive=True),
        help="C,H,W of your model's input.",
    ),
    click.option(
        "--class-names",
        "class_names_file",
        type=click.Path(dir_okay=False),
        help="File with one class name per line (default: 0..K-1; retrain: the --train-dir "
        "sub-folders, sorted).",
    ),
    click.option(
        "--input-scale",
        type=FiniteFloat(),
        default=1.0,
        show_default=True,
        help="Model input = (image * scale - mean) / std, image in [0, 1].",
    ),
    click.option("--mean", type=NumberList(float), help="Per-channel mean (comma list)."),
    click.option(
        "--std", type=NumberList(float, positive=True), help="Per-channel std (comma list)."
    ),
    click.option(
        "--device",
        default="auto",
        show_default=True,
        help="auto (CUDA if available), cpu, cuda, cuda:N. On a GPU the population stays on it "
        "(direct genes and CPPN renders).",
    ),
    click.option(
        "--max-batch",
        type=click.IntRange(min=1),
        default=1024,
        show_default=True,
        help="Largest number of model inputs (images x crops) in one forward pass.",
    ),
]


#: ``--random-weights``: a factory model used untrained on purpose (stored in config.json).
RANDOM_WEIGHTS_OPTION = click.option(
    "--random-weights",
    is_flag=True,
    help="Use a package.module:factory model untrained, on purpose (without it, a factory "
    "without --weights is used with a warning). Its initialisation is seeded.",
)


def apply_options(func: Any, options: Sequence[Callable[[Any], Any]]) -> Any:
    """Decorate ``func`` with click options, listed in the order --help shows them."""
    for option in reversed(options):
        func = option(func)
    return func
