"""Click parameter types shared by every command: floats that must be finite, probabilities,
number lists and transformation SPECs."""

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


class TransformSpecParam(click.ParamType):
    """A transformation SPEC (``shift=2,rotate=10,jpeg=60:95``) or a preset name, parsed once
    here into a :class:`fitness.transforms.TransformSpec`. ``identity=False``: a SPEC that
    changes nothing (empty, ``identity``, ``shift=0``) is refused (``fooling robustness``: it
    would only score every image again as it is)."""

    name = "spec"

    def __init__(self, identity: bool = True) -> None:
        self.identity = identity

    def convert(self, value, param, ctx):  # noqa: ANN001, ANN201 (click's signature)
        """Parse the SPEC; an unknown transform or an out-of-range value fails the option."""
        from fitness.errors import TransformSpecError
        from fitness.transforms import TransformSpec

        if isinstance(value, TransformSpec):
            return value
        try:
            spec = TransformSpec.parse(str(value))
        except TransformSpecError as exc:
            self.fail(str(exc), param, ctx)
        if spec.is_identity and not self.identity:
            self.fail(f"{value!r} changes no image: name at least one transform", param, ctx)
        return spec


#: A probability or confidence.
UNIT = FiniteFloat(0.0, 1.0)


class NumberList(click.ParamType):
    """Comma-separated numbers, e.g. ``0.485,0.456,0.406`` (or, from the Python API, a list or
    tuple of numbers, checked alike)."""

    def __init__(self, kind: type = float, length: int | None = None, positive: bool = False):
        self.kind, self.length, self.positive = kind, length, positive
        self.name = f"{kind.__name__} list"

    def convert(self, value, param, ctx):  # noqa: ANN001, ANN201 (click's signature)
        """Parse the list, checking count and sign."""
        parts = value if isinstance(value, list | tuple) else str(value).split(",")
        try:
            numbers = tuple(self.kind(part) for part in parts)
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
