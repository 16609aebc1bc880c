"""SIGTERM and SIGHUP in a Ray block: noted and raised as KeyboardInterrupt once (what Ray's
blocking calls pass on), the handlers found put back after, and ``ray.init`` kept from
installing its own (docs/reliability.md, section 3)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from evolve.distributed.signals import SignalStop, signals_end_the_block, sigterm_left_alone
from evolve.errors import Interrupted


def send(signum: int) -> None:
    """Send ``signum`` to this process and give its handler the time to run."""
    os.kill(os.getpid(), signum)
    time.sleep(0.5)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_raises_keyboard_interrupt_once_and_is_noted(signum) -> None:
    # Default disposition first: under nohup SIGHUP arrives ignored, and an ignored signal
    # stays ignored (the next test).
    found = signal.signal(signum, signal.SIG_DFL)
    try:
        raised_once(signum)
    finally:
        signal.signal(signum, found)


def raised_once(signum: int) -> None:
    """The body of the test above, with ``signum`` at its default disposition."""
    with signals_end_the_block() as stop:
        with pytest.raises(KeyboardInterrupt):
            send(signum)
        send(signum)  # the second is only noted: the shutdown that follows is not cut short
    assert stop.received == [signum, signum]
    error = stop.interrupted()
    assert isinstance(error, Interrupted) and error.signum == signum
    assert str(error) == f"stopped by {signal.Signals(signum).name}; Ray workers shut down"


def test_the_handlers_found_are_put_back_and_an_ignored_signal_stays_ignored() -> None:
    def found(_signum, _frame) -> None:
        pass

    old_term = signal.signal(signal.SIGTERM, found)
    old_hup = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with signals_end_the_block() as stop:
            assert isinstance(signal.getsignal(signal.SIGTERM), SignalStop)
            assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # as ray.init does
            stop.install()
            assert signal.getsignal(signal.SIGTERM) is stop
            assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is found
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, old_term)
        signal.signal(signal.SIGHUP, old_hup)


def test_ray_init_is_kept_from_replacing_the_sigterm_handler() -> None:
    calls = []
    fake = SimpleNamespace(
        _private=SimpleNamespace(utils=SimpleNamespace(set_sigterm_handler=calls.append))
    )
    with sigterm_left_alone(fake):
        fake._private.utils.set_sigterm_handler(sys.exit)
    assert calls == []
    fake._private.utils.set_sigterm_handler(sys.exit)
    assert calls == [sys.exit]
    with sigterm_left_alone(SimpleNamespace()):  # a Ray without the function: nothing to do
        pass


def test_the_installed_ray_sets_its_sigterm_handler_where_it_is_kept_from_it() -> None:
    """If Ray renames the function, the handling above does nothing: this says so."""
    ray = pytest.importorskip("ray")
    assert callable(ray._private.utils.set_sigterm_handler)


def test_ray_stops_at_sigterm_in_a_blocking_call_with_keyboard_interrupt(tmp_path) -> None:
    """What :class:`SignalStop` relies on: Ray's ``ray.get`` passes on a KeyboardInterrupt from
    a signal handler at once; another exception only after the call (as a SystemError)."""
    code = """
import logging, os, signal, sys, threading, time
import ray
ray.init(
    address="local",
    num_cpus=1,
    include_dashboard=False,
    logging_level=logging.ERROR,
    log_to_driver=False,
)

@ray.remote
def slow():
    time.sleep(60)

def stop(_signum, _frame):
    raise KeyboardInterrupt

signal.signal(signal.SIGTERM, stop)
threading.Timer(2, os.kill, (os.getpid(), signal.SIGTERM)).start()
start = time.monotonic()
try:
    ray.get(slow.remote(), timeout=120)
except KeyboardInterrupt:
    print(f"KeyboardInterrupt after {time.monotonic() - start:.0f} s")
finally:
    ray.shutdown()
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    seconds = int(done.stdout.split()[-2])
    assert seconds < 30, done.stdout
