"""The HTML gallery in a real headless Chromium, loaded from file:// as a user opens it."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

import pytest
from browser import opened, pixel_spread

from fooling.cli import main
from fooling.reports.gallery_html import write_gallery_html

# True once every card's image is decoded (images are lazy: cards must be on screen first).
ALL_IMAGES_DECODED = """() => {
  const images = [...document.querySelectorAll('.card img')];
  return images.length > 0 && images.every((i) => i.complete && i.naturalWidth > 0);
}"""
# Waits are functions, not expressions: Playwright evaluates an expression with eval, which
# the pages' Content-Security-Policy forbids once it has to poll.


def decoded(selector: str) -> str:
    """A wait condition: the image ``selector`` finds is decoded."""
    return f"() => document.querySelector({selector!r}).naturalWidth > 0"


SHOWN_INDICES = "[...document.querySelectorAll('.card:not([hidden])')].map((c) => +c.dataset.index)"


def make_gallery_page(run_dir: Path, *options: str) -> tuple[Path, dict]:
    """``fooling gallery RUN_DIR --html OPTIONS``: the page and gallery.json's data."""
    main(["gallery", str(run_dir), "--html", "-q", *options])
    gallery_dir = run_dir / "gallery"
    return gallery_dir / "index.html", json.loads((gallery_dir / "gallery.json").read_text())


@pytest.fixture(scope="module")
def mnist_gallery(finished_run, tmp_path_factory):
    """The small finished LeNet run's gallery page (direct encoding, 10 digits)."""
    run = Path(shutil.copytree(finished_run, tmp_path_factory.mktemp("mnist") / "run"))
    return make_gallery_page(run)


@pytest.fixture(scope="module")
def cppn_gallery(tmp_path_factory, lenet_target):
    """A short CPPN run's gallery page, with 64x64 renders and the networks."""
    run = tmp_path_factory.mktemp("cppn") / "run"
    main(["evolve", "--encoding", "cppn", "--max-generations", "3", "--batch", "20"]
         + ["--out", str(run), "-q"])  # fmt: skip
    return make_gallery_page(run, "--size", "64", "--no-grid")


@pytest.fixture(scope="module")
def thousand_gallery(tmp_path_factory):
    """A real run of a 1000-class classifier (ImageNet's class names, 8x8 images), its gallery."""
    folder = tmp_path_factory.mktemp("thousand")
    names = folder / "classes.txt"
    names.write_text(resources.files("fitness").joinpath("imagenet_classes.txt").read_text())
    run = folder / "run"
    main(["evolve", "--target", "model_factories:thousand_classes", "--random-weights",
          "--input-shape", "1,8,8", "--class-names", str(names), "--max-generations", "1",
          "--batch", "20", "--initial-population", "20", "--out", str(run), "-q"])  # fmt: skip
    return make_gallery_page(run, "--no-grid")


def assert_offline_and_clean(page, folder: Path) -> None:
    """No console error or exception, and no request but files of ``folder``."""
    assert page.log.errors == []
    assert page.log.failed == []
    own = folder.resolve().as_uri() + "/"
    assert [url for url in page.log.requests if not url.startswith(own)] == []


def test_gallery_opens_offline_with_every_image_decoded(browser, mnist_gallery):
    index, gallery = mnist_gallery
    with opened(browser, index) as page:
        cards = page.locator(".card")
        assert cards.count() == len(gallery["cells"]) == 10
        for i in range(cards.count()):
            cards.nth(i).scroll_into_view_if_needed()
        page.wait_for_function(ALL_IMAGES_DECODED, timeout=10_000)
        first, cell = cards.first.inner_text(), gallery["cells"][0]
        assert cell["class"] in first and "8-bit PNG" in first
        assert f"gen {cell['generation']}" in first and f"eval {cell['evaluation']:,}" in first
        assert_offline_and_clean(page, index.parent)


def reached_text(reached: dict | None) -> str:
    """What a card says of its class's first evaluation at the run's threshold."""
    if reached is None:
        return "not at threshold"
    if reached["evaluation"] is None:
        return (f"fooled by generation {reached['generation']:,} "
                f"(≤ {reached['evaluations_by']:,} evaluations)")  # fmt: skip
    plural = "" if reached["evaluation"] == 1 else "s"
    return (f"fooled after {reached['evaluation']:,} evaluation{plural} "
            f"(generation {reached['generation']:,})")  # fmt: skip


def test_cards_say_after_how_many_evaluations_each_class_was_fooled(
    browser, mnist_gallery, tmp_path
):
    index, gallery = mnist_gallery
    with opened(browser, index) as page:  # the run's own records, as gallery.json has them
        texts = page.locator(".card").all_inner_texts()
        for text, cell in zip(texts, gallery["cells"], strict=True):
            assert reached_text(cell["reached"]) in text
    # Every kind of record: exact (1 and 1,234), a bound after a new threshold, and none.
    folder = Path(shutil.copytree(index.parent, tmp_path / "gallery"))
    cells = [dict(cell) for cell in gallery["cells"]]
    cells[0]["reached"] = {"evaluation": 1234, "generation": 6}
    cells[1]["reached"] = {"evaluation": 1, "generation": 0}
    cells[2]["reached"] = {"evaluation": None, "generation": 3, "evaluations_by": 80}
    cells[3]["reached"] = None
    del cells[4]["reached"]  # a gallery made before the record existed: no line at all
    write_gallery_html(folder, {**gallery, "cells": cells})
    with opened(browser, folder / "index.html") as page:
        texts = page.locator(".card").all_inner_texts()
        assert "fooled after 1,234 evaluations (generation 6)" in texts[0]
        assert "fooled after 1 evaluation (generation 0)" in texts[1]
        assert "fooled by generation 3 (≤ 80 evaluations)" in texts[2]
        assert "not at threshold" in texts[3]
        assert "evaluations" not in texts[4] and "threshold" not in texts[4]
        page.locator(".card").first.click()
        facts = page.inner_text("#detail-facts")
        assert f"at {gallery['threshold']}" in facts and "fooled after 1,234 evaluations" in facts
        assert_offline_and_clean(page, folder)


def test_search_sort_and_threshold(browser, mnist_gallery):
    index, gallery = mnist_gallery
    cells = gallery["cells"]
    with opened(browser, index) as page:
        page.fill("#search", "3")
        assert [cells[i]["class"] for i in page.evaluate(SHOWN_INDICES)] == ["3"]
        page.fill("#search", "")
        assert len(page.evaluate(SHOWN_INDICES)) == 10
        for key in ("confidence_png", "confidence"):
            page.select_option("#sort", key)
            shown = [cells[i][key] for i in page.evaluate(SHOWN_INDICES)]
            assert shown == sorted((c[key] for c in cells), reverse=True)
        page.check("#reverse")
        assert [cells[i]["confidence"] for i in page.evaluate(SHOWN_INDICES)] == sorted(
            c["confidence"] for c in cells
        )
        page.uncheck("#reverse")
        page.select_option("#sort", "generation")
        generations = [cells[i]["generation"] for i in page.evaluate(SHOWN_INDICES)]
        assert generations == sorted(generations)
        threshold = sorted(c["confidence_png"] for c in cells)[4]
        page.fill("#threshold", repr(threshold))
        marked = page.evaluate(
            "[...document.querySelectorAll('.card.fooled')].map((c) => +c.dataset.index)"
        )
        expected = [i for i, c in enumerate(cells) if c["confidence_png"] >= threshold]
        assert sorted(marked) == expected and 0 < len(expected) < len(cells)
        assert_offline_and_clean(page, index.parent)
    with opened(browser, index) as page:  # a shared link keeps its search
        page.goto(index.resolve().as_uri() + "#q=7")
        assert [cells[i]["class"] for i in page.evaluate(SHOWN_INDICES)] == ["7"]


def test_detail_view_shows_the_top5(browser, mnist_gallery):
    index, gallery = mnist_gallery
    cell = gallery["cells"][7]
    with opened(browser, index) as page:
        page.locator(".card").nth(7).click()
        assert page.locator("#detail").get_attribute("open") is not None
        assert page.inner_text("#detail-title") == cell["class"]
        rows = page.locator("#top5 tr").all_inner_texts()[1:]
        assert [row.split("\t")[0] for row in rows] == [t["class"] for t in cell["top5"]]
        assert len(rows) == 5
        page.wait_for_function(decoded("#detail-image"))
        assert page.locator("#network").is_hidden()  # a direct genome has no network
        page.keyboard.press("Escape")
        assert page.locator("#detail").get_attribute("open") is None
        assert_offline_and_clean(page, index.parent)


def test_cppn_detail_shows_the_network_picture_and_genome(browser, cppn_gallery):
    index, gallery = cppn_gallery
    cell = gallery["cells"][0]
    with opened(browser, index) as page:
        page.locator(".card").first.focus()
        page.keyboard.press("Enter")  # cards open from the keyboard too
        assert page.locator("#network").is_visible()
        assert page.get_attribute("#detail-image", "src") == cell["png_large"]
        page.wait_for_function(decoded("#network-image"))
        genome = page.frame_locator("#network-json").locator("body").inner_text()
        assert json.loads(genome)["nodes"]
        assert_offline_and_clean(page, index.parent)


def test_screenshot_is_not_blank(browser, mnist_gallery):
    index, _ = mnist_gallery
    with opened(browser, index) as page:
        page.wait_for_function(ALL_IMAGES_DECODED, timeout=10_000)
        assert pixel_spread(page.screenshot()) > 20
        page.set_content("<html><body></body></html>")  # the measure tells a blank page
        assert pixel_spread(page.screenshot()) < 1


def test_a_thousand_classes_stay_fast_to_search(browser, thousand_gallery):
    index, gallery = thousand_gallery
    assert len(gallery["cells"]) == 1000
    with opened(browser, index) as page:
        assert page.locator(".card").count() == 1000
        pictures = [url for url in page.log.requests if url.endswith(".png")]
        assert len(pictures) < 300  # lazy: only the cards near the screen are read
        filtering_ms = page.evaluate(
            """() => {
              const search = document.querySelector('#search');
              const started = performance.now();
              search.value = 'king penguin';
              search.dispatchEvent(new Event('input'));
              return performance.now() - started;
            }"""
        )
        assert filtering_ms < 500
        shown = page.evaluate(SHOWN_INDICES)
        assert [gallery["cells"][i]["class"] for i in shown] == ["king penguin"]
        page.wait_for_function(decoded(".card:not([hidden]) img"), timeout=5_000)
        assert_offline_and_clean(page, index.parent)
