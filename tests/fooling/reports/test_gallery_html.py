"""The gallery's data for its page (top-5 of the 8-bit PNG, threshold) and the page's HTML,
without a browser (tests/browser opens it in Chromium)."""

from __future__ import annotations

import json
import re

import numpy as np
from cli_helpers import assert_one_line_error, run_cli

from fooling.reports.gallery import top_classes
from fooling.reports.gallery_html import gallery_page


def data_element(page: str) -> str:
    """The text of a page's data element."""
    match = re.search(r'<script id="page-data" type="application/json">(.*?)</script>', page, re.S)
    assert match, "the page has no data element"
    return match.group(1)


def embedded_data(page: str) -> dict:
    """The JSON a page carries in its data element."""
    return json.loads(data_element(page))


def test_gallery_html_embeds_the_gallery_with_top5_of_the_png(run_copy, capsys):
    code, out, err = run_cli(capsys, "gallery", run_copy, "--html", "--no-grid", "-q")
    assert code == 0, err
    assert "index.html" in out
    gallery_dir = run_copy / "gallery"
    assert not (gallery_dir / "grid.png").exists()
    gallery = json.loads((gallery_dir / "gallery.json").read_text())
    assert gallery["threshold"] == 0.9999 and gallery["encoding"] == "direct"
    for cell in gallery["cells"]:
        top = cell["top5"]
        probabilities = [t["probability"] for t in top]
        assert len(top) == 5 and probabilities == sorted(probabilities, reverse=True)
        assert top[0]["class"] == cell["png_argmax"]
        own = [t["probability"] for t in top if t["class"] == cell["class"]]
        assert own in ([], [cell["confidence_png"]])
    # Queries to success: each card's class, when it first met the run's threshold.
    summary = json.loads((run_copy / "summary.json").read_text())
    assert {c["class"]: c["reached"] for c in gallery["cells"]} == summary["reached"]
    page = (gallery_dir / "index.html").read_text()
    assert embedded_data(page) == {"threshold": 0.9999, "cells": gallery["cells"]}
    # offline by construction: nothing in the page names another host
    assert not re.search(r"(https?:)?//[a-z]", page.replace("file:", ""), re.I)


def test_top_classes_are_the_most_probable_in_order():
    probabilities = np.array([[0.1, 0.6, 0.05, 0.25], [0.7, 0.1, 0.1, 0.1]])
    top = top_classes(probabilities, ["a", "b", "c", "d"], k=2)
    assert top == [
        [{"class": "b", "probability": 0.6}, {"class": "d", "probability": 0.25}],
        [{"class": "a", "probability": 0.7}, {"class": "b", "probability": 0.1}],
    ]
    assert len(top_classes(probabilities, list("abcd"))[0]) == 4  # fewer classes than 5


def test_a_class_name_cannot_break_out_of_the_page_data():
    name = "</script><script>alert(1)</script><!--"
    cell = {"class": name, "confidence": 0.5, "confidence_png": 0.5, "png": "elites/x.png"}
    page = gallery_page({"title": "<b>t</b>", "threshold": 0.9, "cells": [cell]})
    assert "<" not in data_element(page) and page.count("<script") == 2  # data, gallery.js
    assert "<b>t</b>" not in page and "&lt;b&gt;t&lt;/b&gt;" in page
    assert embedded_data(page)["cells"][0]["class"] == name


def test_gallery_and_report_help_and_one_line_errors(tmp_path, capsys):
    for command in (["gallery"], ["report"]):
        code, out, _ = run_cli(capsys, *command, "--help")
        assert code == 0 and "--html" in out
    code, _, err = run_cli(capsys, "gallery", tmp_path, "--html")
    assert_one_line_error(code, err, "no config.json")
    code, _, err = run_cli(capsys, "report", tmp_path / "missing", "--html")
    assert_one_line_error(code, err, "no such study directory")
    code, _, err = run_cli(capsys, "report", tmp_path, "--html")
    assert_one_line_error(code, err, "no study.json")
    (tmp_path / "study.json").write_text('{"format": "someone-elses-study"}')
    code, _, err = run_cli(capsys, "report", tmp_path, "--html")
    assert_one_line_error(code, err, "not a study this tool can report on")
    (tmp_path / "study.json").write_text("{ torn")
    code, _, err = run_cli(capsys, "report", tmp_path)
    assert_one_line_error(code, err, "study.json", "corrupt")
    assert not (tmp_path / "report").exists()
