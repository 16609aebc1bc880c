"""A real headless Chromium for the page tests; they skip, saying why, where none can be had."""

from __future__ import annotations

import pytest
from browser import chromium_or_skip_reason, launched


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium (the system's, through Playwright) for the session."""
    executable, reason = chromium_or_skip_reason()
    if executable is None:
        pytest.skip(reason)
    with launched(executable) as running:
        yield running
