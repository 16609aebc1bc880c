"""Parsing helpers for command-line values (shapes, number lists, class selections)."""

from __future__ import annotations

from collections.abc import Sequence

import click


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
