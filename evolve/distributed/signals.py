"""SIGTERM and SIGHUP while a Ray cluster starts, scores or stops: they end the Ray block, which
shuts the cluster down, and the command with :class:`~evolve.errors.Interrupted` (one line, exit
status 128 + signal), whatever Ray is doing when they come.

Three things in Ray stand in the way (Ray 2.x, read in its source):

- ``ray.init`` and the local node it starts install SIGTERM handlers of their own, through
  ``ray._private.utils.set_sigterm_handler``: ``sys.exit(15)``, or ``sys.exit(1)`` after
  killing the node's processes. A SIGTERM while the cluster started ended the command with
  status 15 and no word (:func:`sigterm_left_alone`).
- The C++ core of the driver installs its own SIGTERM handler as ``ray.init`` connects; it
  prints a stack trace before calling the previous one (:meth:`SignalStop.install` again after
  ``ray.init`` puts this module's handler back in front).
- Ray's blocking calls (``ray.get``, ``ray.wait``) pass on only KeyboardInterrupt from a signal
  handler; any other exception comes out as a SystemError once the call has waited its time,
  and SystemExit as SystemExit(1) (:class:`SignalStop`).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from evolve.errors import Interrupted

#: The signals that end a Ray block (SIGINT stays Ctrl-C: KeyboardInterrupt, the CLI's "aborted").
SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class SignalStop:
    """The SIGTERM and SIGHUP handler of a Ray block: it notes the signal and raises
    KeyboardInterrupt, the first time only (later signals are only noted, so that the shutdown
    that follows is not cut short). Ray's blocking calls raise a KeyboardInterrupt of their own
    for it, so the signal is read from ``received``, not from the exception."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.previous: dict[int, Any] = {}

    def __call__(self, signum: int, _frame: Any) -> None:
        self.received.append(signum)
        if len(self.received) == 1:
            raise KeyboardInterrupt

    def install(self) -> None:
        """Handle SIGTERM and SIGHUP, first or again (after ``ray.init``). A signal ignored on
        purpose (nohup's SIGHUP) stays ignored. Only the main thread can install handlers;
        elsewhere this installs none."""
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in SIGNALS:
            if sig in self.previous:
                signal.signal(sig, self)
            elif signal.getsignal(sig) != signal.SIG_IGN:
                self.previous[sig] = signal.signal(sig, self)

    def restore(self) -> None:
        """Put back the handlers the first :meth:`install` found."""
        for sig, old in self.previous.items():
            signal.signal(sig, old)
        self.previous = {}

    def interrupted(self) -> Interrupted:
        """The error that ends the command after the first signal noted."""
        name = signal.Signals(self.received[0]).name
        return Interrupted(self.received[0], f"stopped by {name}; Ray workers shut down")


@contextmanager
def signals_end_the_block() -> Iterator[SignalStop]:
    """SIGTERM and SIGHUP end the ``with`` block (as KeyboardInterrupt, :class:`SignalStop`)
    instead of the process at once, so that what the block leaves in ``finally`` runs: killed
    outright while workers started, a driver left over a hundred idle Ray workers behind. (The
    run loop catches these signals itself to checkpoint first, and gives them back after.)"""
    stop = SignalStop()
    stop.install()
    try:
        yield stop
    finally:
        stop.restore()


@contextmanager
def sigterm_left_alone(ray: ModuleType) -> Iterator[None]:
    """Keep ``ray.init`` from replacing the SIGTERM handler during the ``with`` block: its calls
    to ``ray._private.utils.set_sigterm_handler`` do nothing. Where Ray has no such function
    (another version), nothing is changed."""
    utils = getattr(getattr(ray, "_private", None), "utils", None)
    original = getattr(utils, "set_sigterm_handler", None)
    if original is None:
        yield
        return
    utils.set_sigterm_handler = lambda _handler: None
    try:
        yield
    finally:
        utils.set_sigterm_handler = original
