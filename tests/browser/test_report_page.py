"""The study report page and the round galleries it links, in a real headless Chromium."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from browser import opened, pixel_spread

from fooling.cli import main

ALL_IMAGES_DECODED = """() => [...document.images].every((i) => i.complete && i.naturalWidth > 0)"""


@pytest.fixture(scope="module")
def report_page(tiny_study, tmp_path_factory):
    """``fooling report --html`` of a copy of the session's tiny retraining study."""
    study = Path(shutil.copytree(tiny_study, tmp_path_factory.mktemp("report") / "study"))
    main(["report", str(study), "--html"])
    return study


def test_report_page_shows_every_image_offline_and_links_round_galleries(browser, report_page):
    with opened(browser, report_page / "report" / "index.html", height=1200) as page:
        assert page.locator("table").first.locator("tbody tr").count() == 3  # DNN_1..3
        for image in page.locator("img").all():
            image.scroll_into_view_if_needed()
        page.wait_for_function(ALL_IMAGES_DECODED, timeout=10_000)
        assert page.locator(".tile").count() >= 4 and page.locator(".tile img").count() >= 4
        assert pixel_spread(page.screenshot(full_page=True)) > 20
        assert page.log.errors == [] and page.log.failed == []
        own = report_page.resolve().as_uri() + "/"
        assert [url for url in page.log.requests if not url.startswith(own)] == []
        page.click("text=round 1: run 1 against DNN_1")
        page.wait_for_load_state("load")
        assert page.url.endswith("/round_01/gallery/index.html")
        assert page.locator(".card").count() == 10
        assert page.log.errors == []
