"""A real headless Chromium for the page tests, driven by Playwright's Python API.

The browser is the system's Chromium (Debian's ``chromium`` package, or ``FOOLING_CHROMIUM``);
Playwright never downloads one here (``playwright install`` is not used). Where Playwright or a
Chromium is missing, :func:`chromium_or_skip_reason` says why, and the tests skip with it.

Run as a script, it screenshots a page for the documentation::

    python tests/support/browser.py runs/mnist/gallery/index.html docs/mnist_gallery_html.png
"""

from __future__ import annotations

import io
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The Chromium to drive: ``$FOOLING_CHROMIUM``, else the first on PATH."""
    explicit = os.environ.get("FOOLING_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    return next((path for path in map(shutil.which, CANDIDATES) if path), None)


def chromium_or_skip_reason() -> tuple[str | None, str]:
    """(path to Chromium, "") where the browser tests can run, else (None, why not)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return None, "Playwright is not installed (pip install -e '.[test]')"
    path = find_chromium()
    if path is None:
        return None, "no Chromium found (apt-get install chromium, or set FOOLING_CHROMIUM)"
    return path, ""


@contextmanager
def launched(executable: str) -> Iterator[Any]:
    """A headless Chromium browser (Playwright ``Browser``), closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageLog:
    """What a page did: console errors, uncaught exceptions, every request and failed one."""

    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


@contextmanager
def opened(browser: Any, page_file: Path, width: int = 1280, height: int = 900) -> Iterator[Any]:
    """``page_file`` loaded from ``file://`` in a fresh page, with ``page.log`` (a PageLog)."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    log = PageLog()
    page.on("console", lambda m: log.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: log.errors.append(str(exc)))
    page.on("request", lambda request: log.requests.append(request.url))
    page.on("requestfailed", lambda request: log.failed.append(request.url))
    page.log = log
    try:
        page.goto(Path(page_file).resolve().as_uri(), wait_until="load")
        yield page
    finally:
        context.close()


def pixel_spread(png: bytes) -> float:
    """Standard deviation of a screenshot's pixel values: about 0 for a blank page."""
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return float(np.asarray(image.convert("RGB"), dtype=np.float64).std())


def screenshot(page_file: Path, out_png: Path, width: int = 1000, height: int = 830) -> None:
    """A screenshot of ``page_file`` (its first screen) to ``out_png``."""
    executable, reason = chromium_or_skip_reason()
    if executable is None:
        raise SystemExit(reason)
    with launched(executable) as browser, opened(browser, page_file, width, height) as page:
        # a function, not an expression: the page's CSP forbids the eval an expression needs
        page.wait_for_function("() => [...document.images].every((i) => i.complete)")
        Path(out_png).write_bytes(page.screenshot())


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python tests/support/browser.py PAGE.html OUT.png")
    screenshot(Path(sys.argv[1]), Path(sys.argv[2]))
