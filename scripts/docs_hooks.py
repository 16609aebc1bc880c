"""MkDocs hooks (mkdocs.yml ``hooks:``): benchmark tables rendered from their result files.

A page writes ``<!-- results: NAME [NAME ...] -->`` on a line of its own where a table goes; the
build replaces it with the table of ``docs/benchmarks/results/NAME.json`` (several names: their
rows together, a column saying which result each row is from, or, for results that are flat
figures, a column per result), followed by the machine, date and commit of each. A figure is
written once, in its result file, and a page cannot show it without its machine. A name with no
file, or a file that breaks the schema, fails the build (``mkdocs build --strict`` in
scripts/test.sh), so a page cannot point at a result that is gone.

Kept free of MkDocs imports beyond the hook signature so that the tests call the renderer
directly.
"""

from __future__ import annotations

import posixpath
import re
from numbers import Real
from typing import Any

from bench_results import RESULTS_DIR, ResultError, load_result

MARKER = re.compile(r"^<!-- results: ([A-Za-z0-9_. -]+?) -->[ \t]*$", re.M)
#: Where result files sit relative to docs/, for the links from each table to its data.
RESULTS_URI = "benchmarks/results"


def format_cell(value: Any, spec: str | None = None) -> str:
    """One table cell: numbers with thousands separators, floats by the column's ``spec`` if
    it has one (whole numbers never take it), ``–`` for null."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and spec:  # a column's spec keeps its decimals: 0.9670, 1.000000
        return format(value, spec)
    if isinstance(value, Real):
        return f"{value:,}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _label(result: dict[str, Any]) -> str:
    """How a merged table names a result: its label, else its date, else its name."""
    return result.get("label") or (result["date"] or result["name"])[:10]


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _is_table(figures: dict[str, Any]) -> bool:
    return "columns" in figures


def table_markdown(results: list[dict[str, Any]]) -> list[str]:
    """The Markdown table of one or more results (all tables with the same columns, or all
    flat figures)."""
    kinds = {_is_table(result["figures"]) for result in results}
    if len(kinds) != 1:
        raise ResultError("results in one table must all be tables or all be flat figures")
    merged = len(results) > 1
    if kinds == {True}:
        columns = results[0]["figures"]["columns"]
        for result in results[1:]:
            if result["figures"]["columns"] != columns:
                raise ResultError(
                    f"result {result['name']!r} has other columns than {results[0]['name']!r}"
                )
        lines = [_row(([""] if merged else []) + columns)]
        lines.append(_row(["---"] * (len(columns) + merged)))
        for result in results:
            formats = result["figures"].get("formats") or [None] * len(columns)
            for row in result["figures"]["rows"]:
                cells = [format_cell(value, spec) for value, spec in zip(row, formats, strict=True)]
                lines.append(_row(([_label(result)] if merged else []) + cells))
        return lines
    names = list(dict.fromkeys(key for result in results for key in result["figures"]))
    lines = [_row(["figure"] + ([_label(r) for r in results] if merged else ["value"]))]
    lines.append(_row(["---"] * (1 + len(results))))
    for key in names:
        lines.append(_row([key] + [format_cell(r["figures"].get(key)) for r in results]))
    return lines


def provenance(result: dict[str, Any], data_link: str | None) -> str:
    """One line naming where and when a result was measured, and from which commit."""
    machine = result["machine"]
    parts = [machine["cpu"] or "CPU not recorded"]
    if machine["cores"]:
        parts.append(f"{machine['cores']} cores")
    if machine.get("memory_gb"):
        parts.append(f"{machine['memory_gb']:g} GB")
    parts.append(f"GPU {machine['gpu']}" if machine["gpu"] else "no GPU")
    parts.append(f"torch {machine['torch']}" if machine["torch"] else "torch build not recorded")
    where = ", ".join(parts)
    date = result["date"] or "date not recorded"
    commit = f"commit `{result['commit']}`" if result["commit"] else "commit not recorded"
    line = f"{where}; {date}; {commit}"
    if result.get("conditions"):
        line += f"; {result['conditions']}"
    if result.get("command"):
        line += f"; `{result['command']}`"
    if data_link:
        line += f" ([data]({data_link}))"
    name = f"*{_label(result)}*: " if result.get("label") else ""
    return f"{name}{line}."


def render(names: list[str], page_uri: str | None = None) -> str:
    """The Markdown for a ``<!-- results: ... -->`` marker on the page at ``page_uri``."""
    results = [load_result(name, RESULTS_DIR) for name in names]

    def line(result: dict[str, Any]) -> str:
        link = None
        if page_uri is not None:  # links are relative to the page's source, as MkDocs expects
            target = f"{RESULTS_URI}/{result['name']}.json"
            link = posixpath.relpath(target, posixpath.dirname(page_uri) or ".")
        notes = f" {result['notes']}" if result.get("notes") else ""
        return provenance(result, link) + notes

    lines = [*table_markdown(results), ""]
    if len(results) == 1:
        lines.append(f"Measured on: {line(results[0])}")
    else:
        lines += ["Measured on:", ""] + [f"- {line(result)}" for result in results]
    return "\n".join(lines) + "\n"


def expand(markdown: str, page_uri: str | None = None) -> str:
    """``markdown`` with every results marker replaced by its table."""
    return MARKER.sub(lambda match: render(match.group(1).split(), page_uri), markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """MkDocs hook: render the page's results markers (a missing result fails the build)."""
    from mkdocs.exceptions import PluginError

    try:
        return expand(markdown, page.file.src_uri)
    except ResultError as exc:
        raise PluginError(f"{page.file.src_uri}: {exc}") from exc


#: Sphinx cross-reference roles in docstrings (``:class:`Target```), which mkdocstrings leaves as
#: text before the code span; the site shows the name alone.
SPHINX_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):(?=<code>)")


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    """MkDocs hook: drop the Sphinx roles the API reference's docstrings use."""
    return SPHINX_ROLE.sub("", html)
