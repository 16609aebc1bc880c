"""The error every part of target loading and scoring raises for bad input (exit status 2), and
the project's one warning class."""


class FoolingWarning(UserWarning):
    """Something the user may want to fix that does not stop the work (an untrained factory
    model, an unreadable cache file). Raised through :mod:`warnings`, so a program can filter or
    turn it into an error; the ``fooling`` command prints each as one ``warning:`` line."""


class TargetError(ValueError):
    """A target cannot be loaded or misbehaves (bad file, wrong shape, NaN outputs...)."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class TransformSpecError(TargetError):
    """A transformation SPEC (``--robust``, ``--transforms``) names an unknown transform or an
    out-of-range value, or asks for what the target cannot take (a colour shift of gray images)."""
