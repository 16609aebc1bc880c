"""``fooling report STUDY_DIR``: the study's files again from its state, and its page (the
report mechanism every study shares), on a tiny real retraining study."""

from __future__ import annotations

import re
import shutil
import typing
from pathlib import Path

import pytest
from cli_helpers import run_cli

from fooling.reports.document import (
    RENDERERS,
    Block,
    Figure,
    Links,
    Paragraph,
    Report,
    Section,
    Table,
    Tile,
    Tiles,
    render,
)
from fooling.reports.retrain_page import SAMPLE


@pytest.fixture()
def study_copy(tiny_study, tmp_path):
    """A copy of the session's tiny study, for a test that writes into it."""
    return Path(shutil.copytree(tiny_study, tmp_path / "study"))


def local_references(page: str) -> list[str]:
    """Every src and href of a page."""
    return re.findall(r'(?:src|href)="([^"#]+)', page)


def untimed_files(study_dir: Path) -> dict[str, list[str]]:
    """report.md and rounds.csv without the wall-time line (the state's times grow after the
    study writes its report: the report's own time is added)."""
    return {
        name: [
            line
            for line in (study_dir / name).read_text().splitlines()
            if not line.startswith("Wall time per phase")
        ]
        for name in ("report.md", "rounds.csv")
    }


def test_report_rewrites_the_study_files_as_the_study_wrote_them(study_copy, capsys):
    before = untimed_files(study_copy)
    code, out, err = run_cli(capsys, "report", study_copy)
    assert code == 0, err
    assert "report.md" in out and not (study_copy / "report").exists()
    assert untimed_files(study_copy) == before


def test_report_html_shows_rounds_plots_galleries_and_labelled_fooling_images(study_copy, capsys):
    code, out, err = run_cli(capsys, "report", study_copy, "--html")
    assert code == 0, err
    page = (study_copy / "report" / "index.html").read_text()
    for network in (1, 2, 3):  # one table row per network
        assert re.search(rf"<tr><td>{network}</td><td>0\.\d{{4}}</td>", page)
    references = local_references(page)
    assert "../rounds.png" in references
    galleries = [r for r in references if r.endswith("gallery/index.html")]
    assert galleries == [f"../round_0{k}/gallery/index.html" for k in (1, 2, 3)]
    for reference in references:  # every link and image is a file of the study
        assert (study_copy / "report" / reference).resolve().is_file(), reference
    # round 1's fooling images (30 for training, 4 held out), labelled by DNN_2
    tiles = re.findall(r'<figure class="tile[^"]*"><img class="pixelated" src="([^"]+)"', page)
    round_1 = [t for t in tiles if "round_01_" in t]
    assert len(round_1) == 4 + SAMPLE
    assert page.count("held out; evolved as") >= 4 and "DNN_2: " in page


def test_every_block_kind_renders_and_text_is_escaped():
    assert set(RENDERERS) == set(typing.get_args(Block))
    report = Report(
        "a <title>",
        ["intro & more"],
        [
            Section(
                "one",
                [
                    Paragraph("<b>bold?</b>"),
                    Table(["a", "b"], [["1", "<2>"]], caption="c"),
                    Figure("plot.png", 'a "plot"'),
                    Tiles([Tile("t.png", ["x <y>"], marked=True)], legend="L"),
                    Links([("gallery", "g/index.html")]),
                ],
            ),
            Section("two"),
        ],
    )
    page = render(report)
    assert "<b>bold?</b>" not in page and "&lt;b&gt;bold?&lt;/b&gt;" in page
    assert "<td>&lt;2&gt;</td>" in page and 'alt="a &quot;plot&quot;"' in page
    assert 'class="tile marked"' in page and 'href="g/index.html"' in page
    assert page.count("<section") == 2 and 'href="#s1"' in page
    with pytest.raises(TypeError):
        render(Report("x", [], [Section("s", ["not a block"])]))  # type: ignore[list-item]
