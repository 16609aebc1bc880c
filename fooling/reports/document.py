"""One report mechanism for every study: a study builds a :class:`Report` (sections of tables,
figures, image tiles, links and text), and :func:`write_report` renders it as one offline page.

A study kind only says *what* to show (``fooling.reports.study_report`` maps each kind to its
builder); how it looks, escaping, and the files beside the page are this module's job, so a new
study (transfer, robustness, ...) gets the same page by writing one builder function.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from archives.export import write_png
from fooling.reports.html import escape, page, template, write_page

INDEX_FILE = "index.html"
IMAGES_DIR = "images"


@dataclass
class Paragraph:
    """A paragraph of plain text."""

    text: str


@dataclass
class Table:
    """A table of text cells (already formatted); ``caption`` says what a row is."""

    columns: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Figure:
    """An image file (a plot), ``src`` relative to the page."""

    src: str
    caption: str


@dataclass
class Tile:
    """A small image with a few lines under it; ``marked`` tiles are outlined (e.g. detected)."""

    src: str
    lines: list[str]
    marked: bool = False


@dataclass
class Tiles:
    """A wrapping row of :class:`Tile`; ``legend`` explains the lines and the outline."""

    tiles: list[Tile]
    legend: str = ""


@dataclass
class Links:
    """A list of (text, href) links, e.g. to each round's gallery."""

    links: list[tuple[str, str]]


Block = Paragraph | Table | Figure | Tiles | Links


@dataclass
class Section:
    """A titled part of a report."""

    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Report:
    """A whole report: a title, an introduction and sections."""

    title: str
    intro: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)


class ImageFiles:
    """A report's own images (e.g. sampled fooling images) for ``out_dir/images``, and any other
    file its page needs written, kept until :meth:`write`: a page is built whole (every input
    read) before the first file changes."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        self._images: dict[str, np.ndarray] = {}
        self._writes: list[Callable[[], Any]] = []

    def add(self, name: str, image: np.ndarray) -> str:
        """Keep uint8 ``[C, H, W]`` ``image`` as ``images/NAME.png``; return its page-relative
        path."""
        self._images[name] = np.ascontiguousarray(image.transpose(1, 2, 0))
        return f"{IMAGES_DIR}/{name}.png"

    def later(self, write: Callable[[], Any]) -> None:
        """Run ``write`` (another file the page links to) with :meth:`write`."""
        self._writes.append(write)

    def write(self) -> None:
        """Write the images (replacing an earlier report's) and the other files."""
        folder = self.out_dir / IMAGES_DIR
        shutil.rmtree(folder, ignore_errors=True)  # images of rounds that may have changed
        if self._images:
            folder.mkdir(parents=True, exist_ok=True)
        for name, image in self._images.items():
            write_png(folder / f"{name}.png", image)
        for write in self._writes:
            write()


def _paragraph(block: Paragraph) -> str:
    return f"<p>{escape(block.text)}</p>"


def _table(block: Table) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in block.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in block.rows
    )
    caption = f"<caption>{escape(block.caption)}</caption>" if block.caption else ""
    return (
        f'<table class="num">{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


def _figure(block: Figure) -> str:
    text = escape(block.caption)
    return (
        f'<figure><img src="{escape(block.src)}" alt="{text}" loading="lazy">'
        f"<figcaption>{text}</figcaption></figure>"
    )


def _tile(tile: Tile) -> str:
    alt = escape(tile.lines[0] if tile.lines else "")
    lines = "<br>".join(escape(line) for line in tile.lines)
    return (
        f'<figure class="tile{" marked" if tile.marked else ""}">'
        f'<img class="pixelated" src="{escape(tile.src)}" alt="{alt}" loading="lazy">'
        f"<figcaption>{lines}</figcaption></figure>"
    )


def _tiles(block: Tiles) -> str:
    legend = f'<p class="muted">{escape(block.legend)}</p>' if block.legend else ""
    return f'{legend}<div class="tiles">{"".join(map(_tile, block.tiles))}</div>'


def _links(block: Links) -> str:
    items = "".join(f'<li><a href="{escape(h)}">{escape(t)}</a></li>' for t, h in block.links)
    return f"<ul>{items}</ul>"


#: How each kind of block is written (a new kind of block adds a line here).
RENDERERS: dict[type, Callable[[Any], str]] = {
    Paragraph: _paragraph,
    Table: _table,
    Figure: _figure,
    Tiles: _tiles,
    Links: _links,
}


def render_block(block: Block) -> str:
    """One block as HTML."""
    try:
        return RENDERERS[type(block)](block)
    except KeyError:
        raise TypeError(f"not a report block: {block!r}") from None


def render(report: Report) -> str:
    """The report as a self-contained page (styles inlined; images are files beside it)."""
    parts = [f"<h1>{escape(report.title)}</h1>"]
    parts += [f"<p>{escape(text)}</p>" for text in report.intro]
    if len(report.sections) > 1:
        parts.append(
            '<nav><ul class="toc">'
            + "".join(
                f'<li><a href="#s{i}">{escape(s.title)}</a></li>'
                for i, s in enumerate(report.sections)
            )
            + "</ul></nav>"
        )
    for index, section in enumerate(report.sections):
        parts.append(f'<section id="s{index}"><h2>{escape(section.title)}</h2>')
        parts += [render_block(block) for block in section.blocks]
        parts.append("</section>")
    return page(report.title, "\n".join(parts), css=template("base.css") + template("report.css"))


def write_report(report: Report, out_dir: Path) -> Path:
    """Write ``out_dir/index.html`` for ``report``."""
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return write_page(Path(out_dir) / INDEX_FILE, render(report))
