"""What every HTML page of the tool shares: templates shipped with the package, data embedded in
the page, and one atomic write.

Pages open from the file system (``file://``) with no server, and browsers refuse ``fetch`` of
``file://`` URLs, so a page's data travels inside it as a JSON ``<script>`` element, and its CSS
and JavaScript are inlined: the page plus the image files beside it is the whole thing.
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

from archives.atomic import atomic_write_bytes


def template(name: str) -> str:
    """The text of ``fooling/reports/templates/NAME``."""
    return resources.files("fooling.reports").joinpath("templates", name).read_text("utf-8")


def script_json(data: Any) -> str:
    """``data`` as JSON that is safe inside a ``<script>`` element: ``<`` is escaped, so no
    class name or path can close the element (``</script>``) or open a comment."""
    return json.dumps(data, ensure_ascii=False, allow_nan=False).replace("<", "\\u003c")


def fill(text: str, **parts: str) -> str:
    """``text`` with each ``{{NAME}}`` slot replaced by ``parts[NAME]``, in one pass, so a
    slot's name inside inserted text (a class name, say) stays as it is. No template engine:
    the pages have four slots, and their logic lives in the browser's JavaScript."""
    return re.sub(r"\{\{([A-Z]+)\}\}", lambda match: parts[match.group(1)], text)


def page(title: str, body: str, *, css: str, script: str = "", data: Any = None) -> str:
    """A whole self-contained page around ``body`` (HTML, already escaped)."""
    data_element = (
        f'<script id="page-data" type="application/json">{script_json(data)}</script>\n'
        if data is not None
        else ""
    )
    return fill(
        template("page.html"),
        TITLE=escape(title),
        CSS=css,
        BODY=body,
        SCRIPT=data_element + (f"<script>\n{script}</script>\n" if script else ""),
    )


def escape(text: Any) -> str:
    """``text`` as HTML text or attribute value."""
    return html.escape(str(text), quote=True)


def write_page(path: Path, text: str) -> Path:
    """Write a page atomically (a reader never sees half a page)."""
    atomic_write_bytes(path, text.encode("utf-8"))
    return path
