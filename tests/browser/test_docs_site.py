"""The documentation site, built as `mkdocs build --strict` builds it, read offline in a real
headless Chromium: from file://, with no request leaving the site's folder, no console error, and
search working."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from browser import opened, pixel_spread
from doc_blocks import ROOT

ALL_IMAGES_DECODED = """() => [...document.images].every((i) => i.complete && i.naturalWidth > 0)"""
PAGES = [
    "index.html",
    "getting-started.html",
    "tutorials/mnist.html",
    "benchmarks/cppn.html",
    "studies/robustness.html",
    "reference/cli.html",
    "reference/api.html",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built from this checkout into a temporary folder."""
    out = tmp_path_factory.mktemp("docs") / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", "mkdocs.yml", "-d", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return out


def stays_offline(page, site: Path) -> None:
    """No console error, no failed request, and nothing fetched from outside the site."""
    own = site.resolve().as_uri() + "/"
    assert page.log.errors == [] and page.log.failed == []
    assert [url for url in page.log.requests if not url.startswith(own)] == []


@pytest.mark.parametrize("name", PAGES)
def test_each_page_opens_offline(browser, site: Path, name: str) -> None:
    with opened(browser, site / name) as page:
        for image in page.locator("img").all():
            image.scroll_into_view_if_needed()
        page.wait_for_function(ALL_IMAGES_DECODED, timeout=10_000)
        assert page.locator("h1").count() >= 1
        assert pixel_spread(page.screenshot()) > 20  # not a blank page
        stays_offline(page, site)


def test_benchmark_tables_carry_their_machine(browser, site: Path) -> None:
    with opened(browser, site / "benchmarks" / "mnist.html") as page:
        assert page.locator("article table").count() >= 3
        text = page.locator("article").inner_text()
        assert "AMD EPYC, 2 cores" in text and "Measured on" in text
        page.click("text=data >> nth=0")  # each table links the result file it was built from
        page.wait_for_load_state("load")
        assert page.url.endswith(".json")
        stays_offline(page, site)


def test_search_finds_pages_offline(browser, site: Path) -> None:
    with opened(browser, site / "index.html") as page:
        page.click("label.md-search__icon, .md-search__input")
        # typed key by key: the worker builds its index first, and a query that arrives before
        # it is ready is not run again; the later keystrokes are
        page.locator("input.md-search__input").press_sequentially("retraining", delay=200)
        results = page.locator(".md-search-result__item")
        results.first.wait_for(timeout=30_000)
        assert results.count() >= 1
        results.first.locator("a").first.click()
        page.wait_for_load_state("load")
        assert page.url.startswith(site.resolve().as_uri())
        stays_offline(page, site)


def test_links_between_pages_work_from_the_file_system(browser, site: Path) -> None:
    with opened(browser, site / "index.html") as page:
        page.click("article >> text=Getting started")
        page.wait_for_load_state("load")
        assert page.url.endswith("/getting-started.html")
        page.click("article >> text=command reference")
        page.wait_for_load_state("load")
        assert page.url.endswith("/reference/cli.html")
        assert page.locator("#fooling-evolve").count() == 1
        stays_offline(page, site)
