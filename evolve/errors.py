"""Errors about a run (its directory, configuration or checkpoint), reported as bad input."""


class RunError(ValueError):
    """A run directory, configuration or checkpoint problem the user can fix."""


class Interrupted(Exception):
    """The run stopped on SIGINT/SIGTERM after saving a checkpoint."""

    def __init__(self, signum: int, message: str) -> None:
        super().__init__(message)
        self.signum = signum
