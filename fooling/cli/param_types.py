"""Click parameter types shared by every command: floats that must be finite."""

from __future__ import annotations

import math

import click


class FiniteFloat(click.FloatRange):
    """A float option that refuses NaN and infinities (click's FloatRange lets NaN through
    every bound, since NaN compares false), optionally within a range like FloatRange."""

    name = "float"

    def convert(self, value, param, ctx):  # noqa: ANN001, ANN201 (click's signature)
        """Parse as a float, refuse NaN and +-inf, then check the range."""
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return super().convert(number, param, ctx)

    def _describe_range(self) -> str:
        """``finite`` for an unbounded one (click would print ``x<=None``), else the range."""
        if self.min is None and self.max is None:
            return "finite"
        return super()._describe_range()
