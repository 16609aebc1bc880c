"""``fooling gallery --html``: ``gallery/index.html``, a page to browse and share a gallery.

The page is built from ``gallery.json`` alone (the confidences re-scored from the 8-bit PNGs,
the top-5 classes, the CPPN networks' files), so it shows what :func:`make_gallery` computed and
computes nothing itself. It opens from the file system and asks nothing of the network; its
search, sort, threshold and detail view are a few lines of JavaScript over the embedded data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evolve.errors import RunError
from fooling.reports.html import escape, fill, page, template, write_page

GALLERY_JSON = "gallery.json"
INDEX_FILE = "index.html"


def read_gallery(gallery_dir: Path) -> dict[str, Any]:
    """A gallery folder's gallery.json; a :class:`RunError` naming the problem."""
    path = Path(gallery_dir) / GALLERY_JSON
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{gallery_dir} has no {GALLERY_JSON}: run fooling gallery first") from None
    except (OSError, ValueError) as exc:
        raise RunError(f"{path} is unreadable or corrupt ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise RunError(f"{path} is not a gallery")
    return data


def gallery_page(data: dict[str, Any]) -> str:
    """The page's HTML for a gallery's data (as written to gallery.json)."""
    title = data.get("title") or "fooling gallery"
    # Galleries written before the threshold was recorded: the tool's default.
    data = {**data, "threshold": data.get("threshold", 0.9999)}
    return page(
        f"{title} · {len(data['cells'])} elites",
        fill(template("gallery.html"), TITLE=escape(title)),
        css=template("base.css") + template("gallery.css"),
        script=template("gallery.js"),
        data={key: data[key] for key in ("threshold", "cells")},
    )


def write_gallery_html(gallery_dir: Path, data: dict[str, Any] | None = None) -> Path:
    """Write ``gallery_dir/index.html`` from ``data`` (default: its gallery.json)."""
    gallery_dir = Path(gallery_dir)
    data = data if data is not None else read_gallery(gallery_dir)
    return write_page(gallery_dir / INDEX_FILE, gallery_page(data))
