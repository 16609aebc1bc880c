"""Which errors are the user's to fix: the CLI prints them as one line and exits with status 2."""

from __future__ import annotations

from archives import ArchiveError
from cppn.profile import CppnConfigError
from evolve.emitters import EmitterError
from evolve.errors import RunError
from fitness.target import TargetError

#: Errors that are the user's to fix: one line, exit status 2.
USER_ERRORS: tuple[type[BaseException], ...] = (
    TargetError,
    ArchiveError,
    RunError,
    CppnConfigError,
    EmitterError,
)
