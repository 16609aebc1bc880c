"""MkDocs hooks (mkdocs.yml ``hooks:``): benchmark tables and figures rendered from result files.

A page writes ``<!-- results: NAME [NAME ...] -->`` on a line of its own where a table goes; the
build replaces it with the table of ``docs/benchmarks/results/NAME.json`` (several names: their
rows together, a column saying which result each row is from, or, for results that are flat
figures, a column per result), followed by the machine, date and commit of each. A figure is
written once, in its result file, and a page cannot show it without its machine. A name with no
file, or a file that breaks the schema, fails the build (``mkdocs build --strict`` in
scripts/test.sh), so a page cannot point at a result that is gone.

A sentence that quotes one figure writes it as ``<!-- value: NAME | KEY -->`` (flat figures) or
``<!-- value: NAME | ROW | COLUMN -->`` (a table), optionally ``| FORMAT`` last (a Python format
spec, e.g. ``.1f`` or ``.0%``); the build replaces the marker with the value, formatted as its
table cell is unless a FORMAT is given. ROW is the row's first cell, or its first cell followed by
later cells of it, in order, joined by ``, `` (``fp32, 400``; a row whose first cells are blank
continues the row above, whose cells it takes there), and must name exactly one row. A missing
file, key, row or column fails the build. Markers inside code (backticks, fenced blocks) are left
as written, so a page can show the syntax.

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


#: A fenced code block, an inline code span, or a value marker (only the last is replaced).
VALUE = re.compile(
    r"(?P<fence>^[ \t]*(?P<fen>`{3,}|~{3,})[^\n]*\n.*?^[ \t]*(?P=fen)[ \t]*$)"
    r"|(?P<tick>`+)(?:(?!\n[ \t]*\n).)+?(?P=tick)"  # a code span ends within its paragraph
    r"|<!--[ \t]*value:(?P<body>.*?)-->",
    re.M | re.S,
)


def _continued(rows: list[list[Any]]) -> list[list[Any]]:
    """The rows with the blank leading cells of a row that continues the one above (a second
    line of the same run: ``["", "", "print-photo", ...]``) read as that row's."""
    filled: list[list[Any]] = []
    for row in rows:
        if filled and row and row[0] == "":
            above = filled[-1]
            blank = next((k for k, cell in enumerate(row) if cell != ""), len(row))
            row = above[:blank] + row[blank:]
        filled.append(row)
    return filled


def _answers_to(row: list[Any], key: str) -> bool:
    """Whether a row answers to ``key``: its first cell, or its first cell followed by any of
    the cells after it (but the last), in order, joined by ``, `` (``fp32, 400``;
    ``run, print-photo``)."""
    plain = [cell if isinstance(cell, str) else str(cell) for cell in row[:-1]]

    def rest_matches(rest: str, cells: list[str]) -> bool:
        return any(
            rest == cell
            or (
                rest.startswith(cell + ", ") and rest_matches(rest[len(cell) + 2 :], cells[k + 1 :])
            )
            for k, cell in enumerate(cells)
        )

    if not plain:
        return False
    first = plain[0]
    return key == first or (
        key.startswith(first + ", ") and rest_matches(key[len(first) + 2 :], plain[1:])
    )


def value(name: str, selectors: list[str]) -> str:
    """One figure of the result ``name``, as a ``<!-- value: ... -->`` marker shows it:
    ``selectors`` is ``[KEY]`` (flat figures) or ``[ROW, COLUMN]`` (a table), with an optional
    format spec last."""
    result = load_result(name, RESULTS_DIR)
    figures = result["figures"]
    where = f"value of result {name!r}"
    wanted = 2 if _is_table(figures) else 1
    if len(selectors) not in (wanted, wanted + 1) or not all(selectors):
        shape = "ROW | COLUMN" if wanted == 2 else "KEY"
        raise ResultError(f"{where}: write <!-- value: {name} | {shape} [| FORMAT] -->")
    spec = selectors[wanted] if len(selectors) > wanted else None
    if wanted == 1:
        key = selectors[0]
        if key not in figures:
            raise ResultError(f"{where}: no figure {key!r}")
        cell, column_spec = figures[key], None
    else:
        row_key, column = selectors[:2]
        columns = figures["columns"]
        if column not in columns:
            raise ResultError(f"{where}: no column {column!r}")
        rows = [row for row in _continued(figures["rows"]) if _answers_to(row, row_key)]
        if len(rows) != 1:
            found = "no row" if not rows else f"{len(rows)} rows"
            raise ResultError(f"{where}: {found} named {row_key!r}")
        index = columns.index(column)
        cell = rows[0][index]
        column_spec = (figures.get("formats") or [None] * len(columns))[index]
    if spec is None:
        return format_cell(cell, column_spec)
    if cell is None or isinstance(cell, str | bool):
        raise ResultError(f"{where}: {cell!r} is not a number, so it takes no format {spec!r}")
    try:
        return format(cell, spec)
    except ValueError as exc:
        raise ResultError(f"{where}: format {spec!r}: {exc}") from exc


def _value_marker(match: re.Match[str]) -> str:
    if match.group("body") is None:  # code: left as written
        return match.group(0)
    name, *selectors = (part.strip() for part in match.group("body").split("|"))
    if not name:
        raise ResultError(f"a value marker without a result name: {match.group(0)!r}")
    return value(name, selectors)


def expand(markdown: str, page_uri: str | None = None, values: bool = True) -> str:
    """``markdown`` with every results marker replaced by its table and, unless ``values`` is
    false, every value marker by its figure."""
    markdown = MARKER.sub(lambda match: render(match.group(1).split(), page_uri), markdown)
    return VALUE.sub(_value_marker, markdown) if values else markdown


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """MkDocs hook: render the page's results and value markers (a missing result, key, row or
    column fails the build)."""
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
