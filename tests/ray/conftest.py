"""One Ray session for the whole test session (2 CPUs, as the CI machine has), shut down at
the end so no Ray process outlives the tests. Every Ray test is skipped, with the reason, where
Ray is not installed (``pip install 'fooling[ray]'``; the ``test`` extra installs it)."""

from __future__ import annotations

import logging

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'fooling[ray]'")


@pytest.fixture(scope="session")
def ray_session():
    """``ray.init(num_cpus=2)`` once; ``ray.shutdown()`` after the last test."""
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        logging_level=logging.WARNING,
        log_to_driver=False,
    )
    yield ray
    ray.shutdown()
